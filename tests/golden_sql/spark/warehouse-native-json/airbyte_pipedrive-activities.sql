SELECT
  a.id AS `_row`,
  CASE
    WHEN CAST(a.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(a.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(a.id AS STRING)
  END AS `id`,
  CAST(a.subject AS STRING) AS `subject`,
  CAST(COALESCE(a.type_name, a.type) AS STRING) AS `type`,
  CAST(CAST(NULLIF(a.due_date, '') AS DATE) AS DATE) AS `due_date`,
  CAST(NULLIF(a.due_time, '') AS STRING) AS `due_time`,
  CAST(a.done AS BOOLEAN) AS `done`,
  CASE
    WHEN CAST(a.deal_id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(a.deal_id AS STRING), '\\.0+\\z', '')
    ELSE CAST(a.deal_id AS STRING)
  END AS `deal_id`,
  CAST(COALESCE(u.name, a.owner_name) AS STRING) AS `owner`
FROM crm.activities AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  COALESCE(a.active_flag, TRUE)
