SELECT
  a.id AS "_row",
  CASE
    WHEN CAST(a.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(a.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(a.id AS TEXT)
  END AS "id",
  CAST(a.subject AS TEXT) AS "subject",
  CAST(a.type AS TEXT) AS "type",
  CAST((
    (
      a.due_date
    ) AT TIME ZONE 'Europe/Moscow'
  ) AS DATE) AS "due_date",
  CAST(a.due_time AS TEXT) AS "due_time",
  CAST(a.done AS BOOLEAN) AS "done",
  CASE
    WHEN CAST(a.deal_id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(a.deal_id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(a.deal_id AS TEXT)
  END AS "deal_id",
  CAST(u.name AS TEXT) AS "owner"
FROM crm.activity AS a
LEFT JOIN crm.users AS u
  ON u.id = a.user_id
WHERE
  NOT COALESCE(a._fivetran_deleted, FALSE)
