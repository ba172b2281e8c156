WITH audit_deals AS (
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
    (
      NOT (
        "d"."org_id" IS NULL OR "d"."org_id" ~ '^([ \t\n\f\r\u00A0\u2007\u202F\uFEFF]*)$'
      )
      OR NOT (
        "d"."org_name" IS NULL
        OR "d"."org_name" ~ '^([ \t\n\f\r\u00A0\u2007\u202F\uFEFF]*)$'
      )
    ) AS "_linked_org",
    CASE WHEN NOT "o"."id" IS NULL THEN "o"."name" ELSE "d"."org_name" END AS "org__name",
    (
      NOT (
        "d"."person_id" IS NULL
        OR "d"."person_id" ~ '^([ \t\n\f\r\u00A0\u2007\u202F\uFEFF]*)$'
      )
      OR NOT (
        "d"."person_name" IS NULL
        OR "d"."person_name" ~ '^([ \t\n\f\r\u00A0\u2007\u202F\uFEFF]*)$'
      )
    ) AS "_linked_person",
    CASE WHEN NOT "p"."id" IS NULL THEN "p"."name" ELSE "d"."person_name" END AS "person__name",
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
  LEFT JOIN (
    SELECT DISTINCT ON ("id")
      *
    FROM organizations
    WHERE
      NOT "id" IS NULL
    ORDER BY
      "id",
      "_row"
  ) AS o
    ON "o"."id" = "d"."org_id"
  LEFT JOIN (
    SELECT DISTINCT ON ("id")
      *
    FROM persons
    WHERE
      NOT "id" IS NULL
    ORDER BY
      "id",
      "_row"
  ) AS p
    ON "p"."id" = "d"."person_id"
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
  "person__name" AS ev0,
  "org__name" AS ev1
FROM audit_deals
WHERE
  "_status" IN ('open')
  AND (
    (
      (
        COALESCE(
          COALESCE("deal__title", '') ~ '^[ \t\n\f\r\u00A0]|[ \t\n\f\r\u00A0]$|[ \t\n\f\r\u00A0]{2}',
          FALSE
        )
        OR COALESCE(
          LENGTH(
            COALESCE(
              REGEXP_REPLACE(
                "deal__title",
                '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                '',
                'g'
              ),
              ''
            )
          ) < 3,
          FALSE
        )
        OR (
          NOT COALESCE(COALESCE(COALESCE("deal__title", '') ~ '[[:alpha:]]', FALSE), FALSE)
        )
        OR COALESCE(
          COALESCE(
            REPLACE(
              LOWER(
                REGEXP_REPLACE(
                  "deal__title",
                  '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                  '',
                  'g'
                )
              ),
              'ё',
              'е'
            ),
            ''
          ) ~ '^((тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия|сделка #|lead #|new lead|lead|client|customer|contact|untitled|no name|teste|novo negócio|negócio|novo lead|cliente|contato|sem nome|sem título|prueba|nuevo negocio|nuevo trato|negocio|trato|nuevo lead|contacto|sin nombre|sin título|neuer deal|neues geschäft|geschäft|neuer lead|kunde|kontakt|ohne titel|ohne namen|nouvelle affaire|affaire|nouveau lead|essai|sans titre|sans nom|nuova trattativa|trattativa|nuova offerta|offerta|nuovo affare|affare|prova|contatto|senza titolo|senza nome|nowy deal|nowa transakcja|transakcja|nowy lead|klient|bez nazwy|bez tytułu)([ \t\n\f\r]?[0-9]+)?)$',
          FALSE
        )
        OR COALESCE(
          COALESCE(
            REGEXP_REPLACE(
              "deal__title",
              '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
              '',
              'g'
            ),
            ''
          ) ~ '^[\?\-–—]+$',
          FALSE
        )
      )
      OR (
        "_linked_person"
        AND (
          (
            COALESCE(
              COALESCE("person__name", '') ~ '^[ \t\n\f\r\u00A0]|[ \t\n\f\r\u00A0]$|[ \t\n\f\r\u00A0]{2}',
              FALSE
            )
            OR COALESCE(
              LENGTH(
                COALESCE(
                  REGEXP_REPLACE(
                    "person__name",
                    '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                    '',
                    'g'
                  ),
                  ''
                )
              ) < 3,
              FALSE
            )
            OR (
              NOT COALESCE(COALESCE(COALESCE("person__name", '') ~ '[[:alpha:]]', FALSE), FALSE)
            )
            OR COALESCE(
              COALESCE(
                REPLACE(
                  LOWER(
                    REGEXP_REPLACE(
                      "person__name",
                      '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                      '',
                      'g'
                    )
                  ),
                  'ё',
                  'е'
                ),
                ''
              ) ~ '^((тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия|сделка #|lead #|new lead|lead|client|customer|contact|untitled|no name|teste|novo negócio|negócio|novo lead|cliente|contato|sem nome|sem título|prueba|nuevo negocio|nuevo trato|negocio|trato|nuevo lead|contacto|sin nombre|sin título|neuer deal|neues geschäft|geschäft|neuer lead|kunde|kontakt|ohne titel|ohne namen|nouvelle affaire|affaire|nouveau lead|essai|sans titre|sans nom|nuova trattativa|trattativa|nuova offerta|offerta|nuovo affare|affare|prova|contatto|senza titolo|senza nome|nowy deal|nowa transakcja|transakcja|nowy lead|klient|bez nazwy|bez tytułu)([ \t\n\f\r]?[0-9]+)?)$',
              FALSE
            )
            OR COALESCE(
              COALESCE(
                REGEXP_REPLACE(
                  "person__name",
                  '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                  '',
                  'g'
                ),
                ''
              ) ~ '^[\?\-–—]+$',
              FALSE
            )
          )
          OR COALESCE(COALESCE("person__name", '') ~ '[0-9@]', FALSE)
        )
      )
      OR (
        "_linked_org"
        AND (
          COALESCE(
            COALESCE("org__name", '') ~ '^[ \t\n\f\r\u00A0]|[ \t\n\f\r\u00A0]$|[ \t\n\f\r\u00A0]{2}',
            FALSE
          )
          OR COALESCE(
            LENGTH(
              COALESCE(
                REGEXP_REPLACE(
                  "org__name",
                  '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                  '',
                  'g'
                ),
                ''
              )
            ) < 3,
            FALSE
          )
          OR (
            NOT COALESCE(COALESCE(COALESCE("org__name", '') ~ '[[:alpha:]]', FALSE), FALSE)
          )
          OR COALESCE(
            COALESCE(
              REPLACE(
                LOWER(
                  REGEXP_REPLACE(
                    "org__name",
                    '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                    '',
                    'g'
                  )
                ),
                'ё',
                'е'
              ),
              ''
            ) ~ '^((тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия|сделка #|lead #|new lead|lead|client|customer|contact|untitled|no name|teste|novo negócio|negócio|novo lead|cliente|contato|sem nome|sem título|prueba|nuevo negocio|nuevo trato|negocio|trato|nuevo lead|contacto|sin nombre|sin título|neuer deal|neues geschäft|geschäft|neuer lead|kunde|kontakt|ohne titel|ohne namen|nouvelle affaire|affaire|nouveau lead|essai|sans titre|sans nom|nuova trattativa|trattativa|nuova offerta|offerta|nuovo affare|affare|prova|contatto|senza titolo|senza nome|nowy deal|nowa transakcja|transakcja|nowy lead|klient|bez nazwy|bez tytułu)([ \t\n\f\r]?[0-9]+)?)$',
            FALSE
          )
          OR COALESCE(
            COALESCE(
              REGEXP_REPLACE(
                "org__name",
                '^[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+|[ \t\n\f\r\u00A0\u2007\u202F\uFEFF]+$',
                '',
                'g'
              ),
              ''
            ) ~ '^[\?\-–—]+$',
            FALSE
          )
        )
      )
    )
  )
