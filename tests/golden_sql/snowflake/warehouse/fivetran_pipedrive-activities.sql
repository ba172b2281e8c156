SELECT
  a.id AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(a.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(a.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(a.id AS VARCHAR)
  END AS "id",
  CAST(a.subject AS VARCHAR) AS "subject",
  CAST(a.type AS VARCHAR) AS "type",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', a.due_date) AS DATE) AS "due_date",
  CAST(a.due_time AS VARCHAR) AS "due_time",
  CAST(a.done AS BOOLEAN) AS "done",
  CASE
    WHEN REGEXP_LIKE(CAST(a.deal_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(a.deal_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(a.deal_id AS VARCHAR)
  END AS "deal_id",
  CAST(u.name AS VARCHAR) AS "owner"
FROM crm.activity AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  NOT COALESCE(a._fivetran_deleted, FALSE)
