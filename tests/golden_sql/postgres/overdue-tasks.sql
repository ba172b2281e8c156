WITH task_agg AS (
  SELECT
    "a"."deal_id",
    MIN("a"."due_date") FILTER(WHERE
      NOT COALESCE("a"."done", FALSE) AND "a"."due_date" < CAST('2026-11-20' AS DATE)) AS "first_overdue_due",
    (
      ARRAY_AGG("a"."subject" ORDER BY "a"."due_date", "a"."_row") FILTER(WHERE
        NOT COALESCE("a"."done", FALSE) AND "a"."due_date" < CAST('2026-11-20' AS DATE))
    )[1] AS "first_overdue_subject",
    COUNT(*) FILTER(WHERE
      NOT COALESCE("a"."done", FALSE) AND "a"."due_date" < CAST('2026-11-20' AS DATE)) AS "overdue_count"
  FROM activities AS a
  WHERE
    NOT "a"."deal_id" IS NULL
  GROUP BY
    "a"."deal_id"
), audit_deals AS (
  SELECT
    "d"."_row" AS "_row",
    COALESCE("d"."status", 'unknown') AS "_status",
    "d"."id" AS "deal__id",
    "d"."owner" AS "deal__owner",
    "d"."pipeline" AS "deal__pipeline",
    CASE
      WHEN "d"."status" = 'won'
      AND NOT (
        "d"."won_reason" IS NULL
        OR "d"."won_reason" ~ '^([ \t\n\f\r\u00A0\u2007\u202F\uFEFF]*)$'
      )
      THEN "d"."won_reason"
      WHEN NOT (
        "d"."lost_reason" IS NULL
        OR "d"."lost_reason" ~ '^([ \t\n\f\r\u00A0\u2007\u202F\uFEFF]*)$'
      )
      THEN "d"."lost_reason"
      ELSE "d"."won_reason"
    END AS "deal__reason",
    "d"."stage" AS "deal__stage",
    "d"."status" AS "deal__status",
    "d"."title" AS "deal__title",
    "t"."first_overdue_due" AS "tasks__first_overdue_due",
    "t"."first_overdue_subject" AS "tasks__first_overdue_subject",
    COALESCE("t"."overdue_count", 0) AS "tasks__overdue_count",
    "sk"."_pn" AS "_pipeline_n",
    "sp"."pos" AS "_stage_pos"
  FROM (
    SELECT DISTINCT ON ("id")
      *
    FROM deals
    WHERE
      NOT "id" IS NULL
    ORDER BY
      "id",
      "_row"
  ) AS d
  LEFT JOIN task_agg AS t
    ON "t"."deal_id" = "d"."id"
  LEFT JOIN (
    SELECT DISTINCT
      COALESCE("pipeline", '') AS kp,
      COALESCE("stage", '') AS ks,
      REPLACE(
        LOWER(
          REGEXP_REPLACE(
            COALESCE("pipeline", ''),
            '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
            '',
            'g'
          )
        ),
        'ё',
        'е'
      ) AS _pn,
      REPLACE(
        LOWER(
          REGEXP_REPLACE(
            COALESCE("stage", ''),
            '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
            '',
            'g'
          )
        ),
        'ё',
        'е'
      ) AS _sn
    FROM deals
  ) AS sk
    ON "sk"."kp" = COALESCE("d"."pipeline", '')
    AND "sk"."ks" = COALESCE("d"."stage", '')
  LEFT JOIN (
    SELECT
      *
    FROM (VALUES
      ('клиенты', 'принял в работу', 0),
      ('клиенты', 'квалификация', 1),
      ('клиенты', 'проведено демо', 2),
      ('клиенты', 'отправлено кп', 3),
      ('клиенты', 'тестовый период', 4),
      ('клиенты', 'согласование договора', 5),
      ('клиенты', 'выставлен счет', 6),
      ('партнеры', 'принял в работу', 0),
      ('партнеры', 'знакомство', 1),
      ('партнеры', 'проведено демо', 2),
      ('партнеры', 'отправлено кп', 3),
      ('партнеры', 'подписание договора', 4),
      ('повторные продажи', 'принял в работу', 0),
      ('повторные продажи', 'отправлено кп', 1),
      ('повторные продажи', 'выставлен счет', 2)) AS v(pn, sn, pos)
  ) AS sp
    ON "sp"."pn" = "sk"."_pn" AND "sp"."sn" = "sk"."_sn"
  WHERE
    COALESCE("d"."status", '') <> 'deleted'
)
SELECT
  REPLACE('https://demo.pipedrive.com/deal/{id}', '{id}', "deal__id") AS deal_url,
  "deal__id" AS deal_id,
  "deal__title" AS title,
  "deal__owner" AS owner,
  CASE "_status"
    WHEN 'open'
    THEN 'Открыта'
    WHEN 'won'
    THEN 'Выиграна'
    WHEN 'lost'
    THEN 'Проиграна'
    WHEN 'deleted'
    THEN 'Удалена'
    ELSE "_status"
  END AS state,
  "deal__reason" AS reason,
  "deal__pipeline" AS pipeline,
  "deal__stage" AS stage,
  "tasks__first_overdue_subject" AS ev0,
  "tasks__first_overdue_due" AS ev1,
  "tasks__overdue_count" AS ev2
FROM audit_deals
WHERE
  "_status" IN ('open') AND (
    COALESCE("tasks__overdue_count" > 0.0, FALSE)
  )
