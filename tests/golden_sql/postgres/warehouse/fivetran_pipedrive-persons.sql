SELECT
  pe.id AS "_row",
  CASE
    WHEN CAST(pe.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(pe.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(pe.id AS TEXT)
  END AS "id",
  CAST(pe.name AS TEXT) AS "name",
  CAST(u.name AS TEXT) AS "owner",
  CASE
    WHEN CAST(pe.org_id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(pe.org_id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(pe.org_id AS TEXT)
  END AS "org_id",
  CAST(o.name AS TEXT) AS "org_name"
FROM crm.person AS pe
LEFT JOIN crm.users AS u
  ON u.id = pe.owner_id
LEFT JOIN crm.organization AS o
  ON o.id = pe.org_id
WHERE
  NOT COALESCE(pe._fivetran_deleted, FALSE)
