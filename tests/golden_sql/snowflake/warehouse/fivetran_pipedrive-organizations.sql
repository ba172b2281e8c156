SELECT
  o.id AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(o.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(o.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(o.id AS VARCHAR)
  END AS "id",
  CAST(o.name AS VARCHAR) AS "name",
  CAST(u.name AS VARCHAR) AS "owner"
FROM crm.organization AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
WHERE
  NOT COALESCE(o._fivetran_deleted, FALSE)
