SELECT
  pe.id AS "_row",
  CASE
    WHEN match(CAST(pe.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(pe.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(pe.id AS Nullable(String))
  END AS "id",
  CAST(pe.name AS Nullable(String)) AS "name",
  CAST(u.name AS Nullable(String)) AS "owner",
  CASE
    WHEN match(CAST(pe.org_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(pe.org_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(pe.org_id AS Nullable(String))
  END AS "org_id",
  CAST(o.name AS Nullable(String)) AS "org_name"
FROM crm.person AS pe
LEFT JOIN crm.users AS u
  ON u.id = pe.owner_id
LEFT JOIN crm.organization AS o
  ON o.id = pe.org_id
WHERE
  NOT COALESCE(pe._fivetran_deleted, FALSE)
