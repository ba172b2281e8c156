SELECT
  CAST(ct.id AS BIGINT) AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(ct.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(ct.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(ct.id AS VARCHAR)
  END AS "id",
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS VARCHAR) AS "name",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS VARCHAR) AS "owner",
  CASE
    WHEN REGEXP_LIKE(CAST(c.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(c.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(c.id AS VARCHAR)
  END AS "org_id",
  CAST(c.properties_name AS VARCHAR) AS "org_name"
FROM crm.contacts AS ct
LEFT JOIN crm.owners AS ow
  ON ow.id = ct.properties_hubspot_owner_id
LEFT JOIN crm.companies AS c
  ON c.id = COALESCE(
    ct.properties_associatedcompanyid,
    CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(ct.companies)), 0)) AS VARCHAR)
  )
WHERE
  NOT COALESCE(ct.archived, FALSE)
