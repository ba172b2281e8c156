SELECT
  o.id AS "_row",
  CASE
    WHEN CAST(o.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(o.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(o.id AS TEXT)
  END AS "id",
  CAST(o.name AS TEXT) AS "name",
  CAST(u.name AS TEXT) AS "owner"
FROM crm.organization AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
WHERE
  NOT COALESCE(o._fivetran_deleted, FALSE)
