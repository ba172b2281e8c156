SELECT
  CAST(c.id AS BIGINT) AS "_row",
  CASE
    WHEN CAST(c.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(c.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(c.id AS TEXT)
  END AS "id",
  CAST(c.properties_name AS TEXT) AS "name",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS TEXT) AS "owner"
FROM crm.companies AS c
LEFT JOIN crm.owners AS ow
  ON ow.id = c.properties_hubspot_owner_id
WHERE
  NOT COALESCE(c.archived, FALSE)
