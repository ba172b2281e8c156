SELECT
  o.id AS `_row`,
  CASE
    WHEN CAST(o.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(o.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(o.id AS STRING)
  END AS `id`,
  CAST(o.name AS STRING) AS `name`,
  CAST(u.name AS STRING) AS `owner`
FROM crm.organization AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
WHERE
  NOT COALESCE(o._fivetran_deleted, FALSE)
