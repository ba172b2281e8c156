SELECT
  CAST(c.id AS Nullable(Int64)) AS "_row",
  CASE
    WHEN match(CAST(c.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(c.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(c.id AS Nullable(String))
  END AS "id",
  CAST(c.properties_name AS Nullable(String)) AS "name",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS Nullable(String)) AS "owner"
FROM crm.companies AS c
LEFT JOIN crm.owners AS ow
  ON ow.id = c.properties_hubspot_owner_id
WHERE
  NOT COALESCE(c.archived, FALSE)
