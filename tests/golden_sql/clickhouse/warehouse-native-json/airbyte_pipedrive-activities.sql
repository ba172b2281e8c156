SELECT
  a.id AS "_row",
  CASE
    WHEN match(CAST(a.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(a.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(a.id AS Nullable(String))
  END AS "id",
  CAST(a.subject AS Nullable(String)) AS "subject",
  CAST(COALESCE(a.type_name, a.type) AS Nullable(String)) AS "type",
  CAST(CAST(nullIf(a.due_date, '') AS Nullable(DATE)) AS Nullable(DATE)) AS "due_date",
  CAST(nullIf(a.due_time, '') AS Nullable(String)) AS "due_time",
  CAST(a.done AS Nullable(Bool)) AS "done",
  CASE
    WHEN match(CAST(a.deal_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(a.deal_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(a.deal_id AS Nullable(String))
  END AS "deal_id",
  CAST(COALESCE(u.name, a.owner_name) AS Nullable(String)) AS "owner"
FROM crm.activities AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  COALESCE(a.active_flag, TRUE)
