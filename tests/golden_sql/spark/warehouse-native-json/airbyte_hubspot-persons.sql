SELECT
  CAST(ct.id AS BIGINT) AS `_row`,
  CASE
    WHEN CAST(ct.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(ct.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(ct.id AS STRING)
  END AS `id`,
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS STRING) AS `name`,
  CAST(TRIM(COALESCE(ow.`firstName`, '') || ' ' || COALESCE(ow.`lastName`, '')) AS STRING) AS `owner`,
  CASE
    WHEN CAST(c.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(c.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(c.id AS STRING)
  END AS `org_id`,
  CAST(c.properties_name AS STRING) AS `org_name`
FROM crm.contacts AS ct
LEFT JOIN crm.owners AS ow
  ON ow.id = ct.properties_hubspot_owner_id
LEFT JOIN crm.companies AS c
  ON c.id = COALESCE(ct.properties_associatedcompanyid, GET_JSON_OBJECT(TO_JSON(ct.companies), '$[0]'))
WHERE
  NOT COALESCE(ct.archived, FALSE)
