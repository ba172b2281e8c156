SELECT
  CAST(d.id AS INT64) AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.id AS STRING), '\\.0+$', '')
    ELSE CAST(d.id AS STRING)
  END AS `id`,
  CAST(d.properties_dealname AS STRING) AS `title`,
  CAST(TRIM(COALESCE(ow.`firstName`, '') || ' ' || COALESCE(ow.`lastName`, '')) AS STRING) AS `owner`,
  CAST(d.properties_amount AS FLOAT64) AS `value`,
  CAST(d.properties_deal_currency_code AS STRING) AS `currency`,
  CASE
    WHEN REGEXP_CONTAINS(
      CAST(COALESCE(
        JSON_VALUE(d.companies, '$[0]'),
        NULLIF(TO_JSON_STRING(JSON_QUERY(d.companies, '$[0]')), 'null')
      ) AS STRING),
      '^(\\-?[0-9]+\\.0+)$'
    )
    THEN REGEXP_REPLACE(
      CAST(COALESCE(
        JSON_VALUE(d.companies, '$[0]'),
        NULLIF(TO_JSON_STRING(JSON_QUERY(d.companies, '$[0]')), 'null')
      ) AS STRING),
      '\\.0+$',
      ''
    )
    ELSE CAST(COALESCE(
      JSON_VALUE(d.companies, '$[0]'),
      NULLIF(TO_JSON_STRING(JSON_QUERY(d.companies, '$[0]')), 'null')
    ) AS STRING)
  END AS `org_id`,
  CAST(c.properties_name AS STRING) AS `org_name`,
  CASE
    WHEN REGEXP_CONTAINS(
      CAST(COALESCE(
        JSON_VALUE(d.contacts, '$[0]'),
        NULLIF(TO_JSON_STRING(JSON_QUERY(d.contacts, '$[0]')), 'null')
      ) AS STRING),
      '^(\\-?[0-9]+\\.0+)$'
    )
    THEN REGEXP_REPLACE(
      CAST(COALESCE(
        JSON_VALUE(d.contacts, '$[0]'),
        NULLIF(TO_JSON_STRING(JSON_QUERY(d.contacts, '$[0]')), 'null')
      ) AS STRING),
      '\\.0+$',
      ''
    )
    ELSE CAST(COALESCE(
      JSON_VALUE(d.contacts, '$[0]'),
      NULLIF(TO_JSON_STRING(JSON_QUERY(d.contacts, '$[0]')), 'null')
    ) AS STRING)
  END AS `person_id`,
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS STRING) AS `person_name`,
  CAST(p.label AS STRING) AS `pipeline`,
  CAST(s.label AS STRING) AS `stage`,
  CAST(s.position AS FLOAT64) AS `stage_order`,
  CAST(d.properties_hs_is_closed AS BOOL) AS `is_closed`,
  CAST(d.properties_hs_is_closed_won AS BOOL) AS `is_won`,
  CAST(d.properties_hs_is_closed_lost AS BOOL) AS `is_lost`,
  CASE
    WHEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS STRING) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS STRING)
    ELSE NULL
  END AS `status`,
  CAST(d.properties_closed_lost_reason AS STRING) AS `lost_reason`,
  CAST(d.properties_closed_won_reason AS STRING) AS `won_reason`,
  CAST(d.properties_createdate AS DATE) AS `created`,
  CAST(d.properties_hs_v2_date_entered_current_stage AS DATE) AS `stage_changed`,
  CAST(d.properties_closedate AS DATE) AS `close_date`,
  CAST(d.properties_hs_lastmodifieddate AS DATE) AS `modified`,
  CAST(d.properties_notes_next_activity_date AS DATE) AS `next_activity_date`
FROM crm.deals AS d
LEFT JOIN crm.owners AS ow
  ON ow.id = d.properties_hubspot_owner_id
LEFT JOIN crm.deal_pipelines AS p
  ON p.`pipelineId` = d.properties_pipeline
LEFT JOIN (
  SELECT
    dp.`pipelineId` AS pipeline_id,
    COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.stageId'),
      NULLIF(
        TO_JSON_STRING(JSON_QUERY(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.stageId')),
        'null'
      )
    ) AS stage_id,
    COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.label'),
      NULLIF(
        TO_JSON_STRING(JSON_QUERY(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.label')),
        'null'
      )
    ) AS label,
    CAST(COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.displayOrder'),
      NULLIF(
        TO_JSON_STRING(JSON_QUERY(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.displayOrder')),
        'null'
      )
    ) AS INT64) AS position,
    COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.metadata.isClosed'),
      NULLIF(
        TO_JSON_STRING(
          JSON_QUERY(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.metadata.isClosed')
        ),
        'null'
      )
    ) AS is_closed,
    COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.metadata.probability'),
      NULLIF(
        TO_JSON_STRING(
          JSON_QUERY(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.metadata.probability')
        ),
        'null'
      )
    ) AS probability
  FROM crm.deal_pipelines AS dp
  CROSS JOIN (
    SELECT
      ones.n + 10 * tens.n AS i
    FROM UNNEST([
      STRUCT(0 AS n),
      STRUCT(1 AS n),
      STRUCT(2 AS n),
      STRUCT(3 AS n),
      STRUCT(4 AS n),
      STRUCT(5 AS n),
      STRUCT(6 AS n),
      STRUCT(7 AS n),
      STRUCT(8 AS n),
      STRUCT(9 AS n)
    ]) AS ones
    CROSS JOIN UNNEST([
      STRUCT(0 AS n),
      STRUCT(1 AS n),
      STRUCT(2 AS n),
      STRUCT(3 AS n),
      STRUCT(4 AS n),
      STRUCT(5 AS n),
      STRUCT(6 AS n),
      STRUCT(7 AS n),
      STRUCT(8 AS n),
      STRUCT(9 AS n)
    ]) AS tens
  ) AS g
  WHERE
    NULLIF(
      TO_JSON_STRING(JSON_QUERY(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$')),
      'null'
    ) IS NOT NULL
) AS s
  ON s.stage_id = d.properties_dealstage AND s.pipeline_id = d.properties_pipeline
LEFT JOIN crm.companies AS c
  ON c.id = COALESCE(
    JSON_VALUE(d.companies, '$[0]'),
    NULLIF(TO_JSON_STRING(JSON_QUERY(d.companies, '$[0]')), 'null')
  )
LEFT JOIN crm.contacts AS ct
  ON ct.id = COALESCE(
    JSON_VALUE(d.contacts, '$[0]'),
    NULLIF(TO_JSON_STRING(JSON_QUERY(d.contacts, '$[0]')), 'null')
  )
LEFT JOIN crm.deals_archived AS da
  ON da.id = d.id
WHERE
  NOT COALESCE(d.archived, FALSE) AND da.id IS NULL
