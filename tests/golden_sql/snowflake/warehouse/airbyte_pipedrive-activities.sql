SELECT
  a.id AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(a.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(a.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(a.id AS VARCHAR)
  END AS "id",
  CAST(a.subject AS VARCHAR) AS "subject",
  CAST(COALESCE(a.type_name, a.type) AS VARCHAR) AS "type",
  CAST(CAST(NULLIF(a.due_date, '') AS DATE) AS DATE) AS "due_date",
  CAST(NULLIF(a.due_time, '') AS VARCHAR) AS "due_time",
  CAST(a.done AS BOOLEAN) AS "done",
  CASE
    WHEN REGEXP_LIKE(CAST(a.deal_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(a.deal_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(a.deal_id AS VARCHAR)
  END AS "deal_id",
  CAST(COALESCE(u.name, a.owner_name) AS VARCHAR) AS "owner"
FROM crm.activities AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  COALESCE(a.active_flag, TRUE)
