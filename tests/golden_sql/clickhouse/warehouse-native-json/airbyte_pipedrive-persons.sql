SELECT
  pe.id AS "_row",
  CASE
    WHEN match(CAST(pe.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(pe.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(pe.id AS Nullable(String))
  END AS "id",
  CAST(pe.name AS Nullable(String)) AS "name",
  CAST(COALESCE(u.name, pe.owner_name) AS Nullable(String)) AS "owner",
  CAST(COALESCE(o.name, pe.org_name) AS Nullable(String)) AS "org_name"
FROM crm.persons AS pe
LEFT JOIN crm.users AS u
  ON u.id = pe.owner_id
LEFT JOIN crm.organizations AS o
  ON o.id = pe.org_id
WHERE
  COALESCE(pe.active_flag, TRUE)
