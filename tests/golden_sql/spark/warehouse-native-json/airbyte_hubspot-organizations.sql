SELECT
  CAST(c.id AS BIGINT) AS `_row`,
  CASE
    WHEN CAST(c.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(c.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(c.id AS STRING)
  END AS `id`,
  CAST(c.properties_name AS STRING) AS `name`,
  CAST(TRIM(COALESCE(ow.`firstName`, '') || ' ' || COALESCE(ow.`lastName`, '')) AS STRING) AS `owner`
FROM crm.companies AS c
LEFT JOIN crm.owners AS ow
  ON ow.id = c.properties_hubspot_owner_id
WHERE
  NOT COALESCE(c.archived, FALSE)
