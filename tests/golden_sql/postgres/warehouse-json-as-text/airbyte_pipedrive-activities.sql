SELECT
  a.id AS "_row",
  CASE
    WHEN CAST(a.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(a.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(a.id AS TEXT)
  END AS "id",
  CAST(a.subject AS TEXT) AS "subject",
  CAST(COALESCE(a.type_name, a.type) AS TEXT) AS "type",
  CAST(CAST(NULLIF(a.due_date, '') AS DATE) AS DATE) AS "due_date",
  CAST(NULLIF(a.due_time, '') AS TEXT) AS "due_time",
  CAST(a.done AS BOOLEAN) AS "done",
  CASE
    WHEN CAST(a.deal_id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(a.deal_id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(a.deal_id AS TEXT)
  END AS "deal_id",
  CAST(COALESCE(u.name, a.owner_name) AS TEXT) AS "owner"
FROM crm.activities AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  COALESCE(a.active_flag, TRUE)
