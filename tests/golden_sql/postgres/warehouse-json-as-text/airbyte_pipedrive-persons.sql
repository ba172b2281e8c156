SELECT
  pe.id AS "_row",
  CASE
    WHEN CAST(pe.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(pe.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(pe.id AS TEXT)
  END AS "id",
  CAST(pe.name AS TEXT) AS "name",
  CAST(COALESCE(u.name, pe.owner_name) AS TEXT) AS "owner",
  CAST(COALESCE(o.name, pe.org_name) AS TEXT) AS "org_name"
FROM crm.persons AS pe
LEFT JOIN crm.users AS u
  ON u.id = pe.owner_id
LEFT JOIN crm.organizations AS o
  ON o.id = pe.org_id
WHERE
  COALESCE(pe.active_flag, TRUE)
