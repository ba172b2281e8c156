SELECT
  CAST(c.id AS BIGINT) AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(c.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(c.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(c.id AS VARCHAR)
  END AS "id",
  CAST(c.properties_name AS VARCHAR) AS "name",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS VARCHAR) AS "owner"
FROM crm.companies AS c
LEFT JOIN crm.owners AS ow
  ON ow.id = c.properties_hubspot_owner_id
WHERE
  NOT COALESCE(c.archived, FALSE)
