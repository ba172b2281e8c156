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
    (
      NOT (
        "d"."org_id" IS NULL
        OR match("d"."org_id", '^([ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]*)$')
      )
      OR NOT (
        "d"."org_name" IS NULL
        OR match("d"."org_name", '^([ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]*)$')
      )
    ) AS "_linked_org",
    CASE WHEN NOT (
      "o"."id" IS NULL
    ) THEN "o"."name" ELSE "d"."org_name" END AS "org__name",
    (
      NOT (
        "d"."person_id" IS NULL
        OR match("d"."person_id", '^([ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]*)$')
      )
      OR NOT (
        "d"."person_name" IS NULL
        OR match("d"."person_name", '^([ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]*)$')
      )
    ) AS "_linked_person",
    CASE WHEN NOT (
      "p"."id" IS NULL
    ) THEN "p"."name" ELSE "d"."person_name" END AS "person__name",
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
    SELECT
      *
    FROM (
      SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "_row") AS _first
      FROM organizations
      WHERE
        NOT (
          "id" IS NULL
        )
    ) AS _ranked
    WHERE
      _first = 1
  ) AS o
    ON "o"."id" = "d"."org_id"
  LEFT JOIN (
    SELECT
      *
    FROM (
      SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "_row") AS _first
      FROM persons
      WHERE
        NOT (
          "id" IS NULL
        )
    ) AS _ranked
    WHERE
      _first = 1
  ) AS p
    ON "p"."id" = "d"."person_id"
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
  "person__name" AS ev0,
  "org__name" AS ev1
FROM audit_deals
WHERE
  "_status" IN ('open')
  AND (
    (
      (
        COALESCE(
          match(
            COALESCE("deal__title", ''),
            '^[ \\t\\n\\f\\r\\x{00A0}]|[ \\t\\n\\f\\r\\x{00A0}]$|[ \\t\\n\\f\\r\\x{00A0}]{2}'
          ),
          FALSE
        )
        OR COALESCE(
          lengthUTF8(
            COALESCE(
              replaceRegexpAll(
                "deal__title",
                '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                ''
              ),
              ''
            )
          ) < 3,
          FALSE
        )
        OR (
          NOT COALESCE(COALESCE(match(COALESCE("deal__title", ''), '\\pL'), FALSE), FALSE)
        )
        OR COALESCE(
          match(
            COALESCE(
              replaceAll(
                lowerUTF8(
                  replaceAll(
                    replaceAll(
                      replaceRegexpAll(
                        "deal__title",
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
              ),
              ''
            ),
            '^((тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия|сделка #|lead #|new lead|lead|client|customer|contact|untitled|no name|teste|novo negócio|negócio|novo lead|cliente|contato|sem nome|sem título|prueba|nuevo negocio|nuevo trato|negocio|trato|nuevo lead|contacto|sin nombre|sin título|neuer deal|neues geschäft|geschäft|neuer lead|kunde|kontakt|ohne titel|ohne namen|nouvelle affaire|affaire|nouveau lead|essai|sans titre|sans nom|nuova trattativa|trattativa|nuova offerta|offerta|nuovo affare|affare|prova|contatto|senza titolo|senza nome|nowy deal|nowa transakcja|transakcja|nowy lead|klient|bez nazwy|bez tytułu)([ \\t\\n\\f\\r]?[0-9]+)?)$'
          ),
          FALSE
        )
        OR COALESCE(
          match(
            COALESCE(
              replaceRegexpAll(
                "deal__title",
                '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                ''
              ),
              ''
            ),
            '^[\\?\\-–—]+$'
          ),
          FALSE
        )
      )
      OR (
        "_linked_person"
        AND (
          (
            COALESCE(
              match(
                COALESCE("person__name", ''),
                '^[ \\t\\n\\f\\r\\x{00A0}]|[ \\t\\n\\f\\r\\x{00A0}]$|[ \\t\\n\\f\\r\\x{00A0}]{2}'
              ),
              FALSE
            )
            OR COALESCE(
              lengthUTF8(
                COALESCE(
                  replaceRegexpAll(
                    "person__name",
                    '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                    ''
                  ),
                  ''
                )
              ) < 3,
              FALSE
            )
            OR (
              NOT COALESCE(COALESCE(match(COALESCE("person__name", ''), '\\pL'), FALSE), FALSE)
            )
            OR COALESCE(
              match(
                COALESCE(
                  replaceAll(
                    lowerUTF8(
                      replaceAll(
                        replaceAll(
                          replaceRegexpAll(
                            "person__name",
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
                  ),
                  ''
                ),
                '^((тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия|сделка #|lead #|new lead|lead|client|customer|contact|untitled|no name|teste|novo negócio|negócio|novo lead|cliente|contato|sem nome|sem título|prueba|nuevo negocio|nuevo trato|negocio|trato|nuevo lead|contacto|sin nombre|sin título|neuer deal|neues geschäft|geschäft|neuer lead|kunde|kontakt|ohne titel|ohne namen|nouvelle affaire|affaire|nouveau lead|essai|sans titre|sans nom|nuova trattativa|trattativa|nuova offerta|offerta|nuovo affare|affare|prova|contatto|senza titolo|senza nome|nowy deal|nowa transakcja|transakcja|nowy lead|klient|bez nazwy|bez tytułu)([ \\t\\n\\f\\r]?[0-9]+)?)$'
              ),
              FALSE
            )
            OR COALESCE(
              match(
                COALESCE(
                  replaceRegexpAll(
                    "person__name",
                    '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                    ''
                  ),
                  ''
                ),
                '^[\\?\\-–—]+$'
              ),
              FALSE
            )
          )
          OR COALESCE(match(COALESCE("person__name", ''), '[0-9@]'), FALSE)
        )
      )
      OR (
        "_linked_org"
        AND (
          COALESCE(
            match(
              COALESCE("org__name", ''),
              '^[ \\t\\n\\f\\r\\x{00A0}]|[ \\t\\n\\f\\r\\x{00A0}]$|[ \\t\\n\\f\\r\\x{00A0}]{2}'
            ),
            FALSE
          )
          OR COALESCE(
            lengthUTF8(
              COALESCE(
                replaceRegexpAll(
                  "org__name",
                  '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                  ''
                ),
                ''
              )
            ) < 3,
            FALSE
          )
          OR (
            NOT COALESCE(COALESCE(match(COALESCE("org__name", ''), '\\pL'), FALSE), FALSE)
          )
          OR COALESCE(
            match(
              COALESCE(
                replaceAll(
                  lowerUTF8(
                    replaceAll(
                      replaceAll(
                        replaceRegexpAll(
                          "org__name",
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
                ),
                ''
              ),
              '^((тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия|сделка #|lead #|new lead|lead|client|customer|contact|untitled|no name|teste|novo negócio|negócio|novo lead|cliente|contato|sem nome|sem título|prueba|nuevo negocio|nuevo trato|negocio|trato|nuevo lead|contacto|sin nombre|sin título|neuer deal|neues geschäft|geschäft|neuer lead|kunde|kontakt|ohne titel|ohne namen|nouvelle affaire|affaire|nouveau lead|essai|sans titre|sans nom|nuova trattativa|trattativa|nuova offerta|offerta|nuovo affare|affare|prova|contatto|senza titolo|senza nome|nowy deal|nowa transakcja|transakcja|nowy lead|klient|bez nazwy|bez tytułu)([ \\t\\n\\f\\r]?[0-9]+)?)$'
            ),
            FALSE
          )
          OR COALESCE(
            match(
              COALESCE(
                replaceRegexpAll(
                  "org__name",
                  '^[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+|[ \\t\\n\\f\\r\\x{00A0}\\x{2007}\\x{202F}\\x{FEFF}]+$',
                  ''
                ),
                ''
              ),
              '^[\\?\\-–—]+$'
            ),
            FALSE
          )
        )
      )
    )
  )
SETTINGS join_use_nulls = 1
