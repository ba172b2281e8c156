SELECT
  a.id AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(a.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(a.id AS STRING), '\\.0+$', '')
    ELSE CAST(a.id AS STRING)
  END AS `id`,
  CAST(a.subject AS STRING) AS `subject`,
  CAST(a.type AS STRING) AS `type`,
  DATE(a.due_date, 'Europe/Moscow') AS `due_date`,
  CAST(a.due_time AS STRING) AS `due_time`,
  CAST(a.done AS BOOL) AS `done`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(a.deal_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(a.deal_id AS STRING), '\\.0+$', '')
    ELSE CAST(a.deal_id AS STRING)
  END AS `deal_id`,
  CAST(u.name AS STRING) AS `owner`
FROM crm.activity AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  NOT COALESCE(a._fivetran_deleted, FALSE)
