WITH task_agg AS (
  SELECT
    "a"."deal_id",
    COUNT(*) FILTER(WHERE
      NOT COALESCE("a"."done", FALSE)) AS "open_count",
    COUNT(*) AS "total_count"
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
    "d"."lost_reason" AS "deal__lost_reason",
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
    COALESCE("t"."open_count", 0) AS "tasks__open_count",
    COALESCE("t"."total_count", 0) AS "tasks__total_count",
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
  "tasks__total_count" AS ev0
FROM audit_deals
WHERE
  "_status" IN ('lost')
  AND (
    COALESCE(
      COALESCE(
        REPLACE(
          LOWER(
            REGEXP_REPLACE(
              "deal__lost_reason",
              '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
              '',
              'g'
            )
          ),
          'ё',
          'е'
        ),
        ''
      ) IN ('сайт в разработке', 'несезон', 'смена маркетолога', 'согласование бюджета'),
      FALSE
    )
    AND COALESCE("tasks__open_count" IN (0.0), FALSE)
  )
