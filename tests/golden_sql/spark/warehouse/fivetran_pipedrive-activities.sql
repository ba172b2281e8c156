SELECT
  a.id AS `_row`,
  CASE
    WHEN CAST(a.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(a.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(a.id AS STRING)
  END AS `id`,
  CAST(a.subject AS STRING) AS `subject`,
  CAST(a.type AS STRING) AS `type`,
  TO_DATE(
    FROM_UTC_TIMESTAMP(TO_UTC_TIMESTAMP(a.due_date, CURRENT_TIMEZONE()), 'Europe/Moscow')
  ) AS `due_date`,
  CAST(a.due_time AS STRING) AS `due_time`,
  CAST(a.done AS BOOLEAN) AS `done`,
  CASE
    WHEN CAST(a.deal_id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(a.deal_id AS STRING), '\\.0+\\z', '')
    ELSE CAST(a.deal_id AS STRING)
  END AS `deal_id`,
  CAST(u.name AS STRING) AS `owner`
FROM crm.activity AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  NOT COALESCE(a._fivetran_deleted, FALSE)
