WITH audit_deals AS (
  SELECT
    "d"."_row" AS "_row",
    COALESCE("d"."status", 'unknown') AS "_status",
    "d"."currency" AS "deal__currency",
    "d"."id" AS "deal__id",
    "d"."owner" AS "deal__owner",
    "d"."pipeline" AS "deal__pipeline",
    CASE
      WHEN "d"."status" = 'won'
      AND NOT (
        "d"."won_reason" IS NULL
        OR match("d"."won_reason", '^([ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]*)$')
      )
      THEN "d"."won_reason"
      WHEN NOT (
        "d"."lost_reason" IS NULL
        OR match("d"."lost_reason", '^([ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]*)$')
      )
      THEN "d"."lost_reason"
      ELSE "d"."won_reason"
    END AS "deal__reason",
    "d"."stage" AS "deal__stage",
    "d"."status" AS "deal__status",
    "d"."title" AS "deal__title",
    "d"."value" AS "deal__value",
    "sk"."_pn" AS "_pipeline_n",
    "sp"."pos" AS "_stage_pos"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "_row") AS _first
      FROM deals
      WHERE
        NOT (
          "id" IS NULL
        )
    ) AS _ranked
    WHERE
      _first = 1
  ) AS d
  LEFT JOIN (
    SELECT DISTINCT
      COALESCE("pipeline", '') AS kp,
      COALESCE("stage", '') AS ks,
      replaceAll(
        lowerUTF8(
          replaceAll(
            replaceAll(
              replaceRegexpAll(
                COALESCE("pipeline", ''),
                '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                ''
              ),
              'İ',
              'I'
            ),
            'Σ',
            'σ'
          )
        ),
        'ё',
        'е'
      ) AS _pn,
      replaceAll(
        lowerUTF8(
          replaceAll(
            replaceAll(
              replaceRegexpAll(
                COALESCE("stage", ''),
                '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                ''
              ),
              'İ',
              'I'
            ),
            'Σ',
            'σ'
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
      'клиенты' AS pn,
      'принял в работу' AS sn,
      0 AS pos
    UNION ALL
    SELECT
      'клиенты' AS pn,
      'квалификация' AS sn,
      1 AS pos
    UNION ALL
    SELECT
      'клиенты' AS pn,
      'проведено демо' AS sn,
      2 AS pos
    UNION ALL
    SELECT
      'клиенты' AS pn,
      'отправлено кп' AS sn,
      3 AS pos
    UNION ALL
    SELECT
      'клиенты' AS pn,
      'тестовый период' AS sn,
      4 AS pos
    UNION ALL
    SELECT
      'клиенты' AS pn,
      'согласование договора' AS sn,
      5 AS pos
    UNION ALL
    SELECT
      'клиенты' AS pn,
      'выставлен счет' AS sn,
      6 AS pos
    UNION ALL
    SELECT
      'партнеры' AS pn,
      'принял в работу' AS sn,
      0 AS pos
    UNION ALL
    SELECT
      'партнеры' AS pn,
      'знакомство' AS sn,
      1 AS pos
    UNION ALL
    SELECT
      'партнеры' AS pn,
      'проведено демо' AS sn,
      2 AS pos
    UNION ALL
    SELECT
      'партнеры' AS pn,
      'отправлено кп' AS sn,
      3 AS pos
    UNION ALL
    SELECT
      'партнеры' AS pn,
      'подписание договора' AS sn,
      4 AS pos
    UNION ALL
    SELECT
      'повторные продажи' AS pn,
      'принял в работу' AS sn,
      0 AS pos
    UNION ALL
    SELECT
      'повторные продажи' AS pn,
      'отправлено кп' AS sn,
      1 AS pos
    UNION ALL
    SELECT
      'повторные продажи' AS pn,
      'выставлен счет' AS sn,
      2 AS pos
  ) AS sp
    ON "sp"."pn" = "sk"."_pn" AND "sp"."sn" = "sk"."_sn"
  WHERE
    COALESCE("d"."status", '') <> 'deleted'
)
SELECT
  replaceAll('https://demo.pipedrive.com/deal/{id}', '{id}', "deal__id") AS deal_url,
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
  "deal__value" AS ev0,
  "deal__currency" AS ev1
FROM audit_deals
WHERE
  "_status" IN ('open', 'won')
  AND (
    COALESCE(
      "_stage_pos" >= (
        CASE "_pipeline_n"
          WHEN 'клиенты'
          THEN 3
          WHEN 'партнеры'
          THEN 3
          WHEN 'повторные продажи'
          THEN 1
          ELSE NULL
        END
      ),
      FALSE
    )
    AND COALESCE((
      "deal__value" IS NULL OR "deal__value" = 0
    ), FALSE)
  )
SETTINGS join_use_nulls = 1
