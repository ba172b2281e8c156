SELECT
  o.id AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(o.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(o.id AS STRING), '\\.0+$', '')
    ELSE CAST(o.id AS STRING)
  END AS `id`,
  CAST(o.name AS STRING) AS `name`,
  CAST(u.name AS STRING) AS `owner`
FROM crm.organization AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
WHERE
  NOT COALESCE(o._fivetran_deleted, FALSE)
