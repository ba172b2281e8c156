SELECT
  o.id AS "_row",
  CASE
    WHEN match(CAST(o.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(o.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(o.id AS Nullable(String))
  END AS "id",
  CAST(o.name AS Nullable(String)) AS "name",
  CAST(u.name AS Nullable(String)) AS "owner"
FROM crm.organization AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
WHERE
  NOT COALESCE(o._fivetran_deleted, FALSE)
