SELECT
  CAST(d.id AS Nullable(Int64)) AS "_row",
  CASE
    WHEN match(CAST(d.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.id AS Nullable(String))
  END AS "id",
  CAST(d.properties_dealname AS Nullable(String)) AS "title",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS Nullable(String)) AS "owner",
  CAST(d.properties_amount AS Nullable(Float64)) AS "value",
  CAST(d.properties_deal_currency_code AS Nullable(String)) AS "currency",
  CASE
    WHEN match(
      CAST(multiIf(
        JSONType(toJSONString(d.companies), 1) = 'String',
        JSONExtractString(toJSONString(d.companies), 1),
        JSONType(toJSONString(d.companies), 1) = 'Null',
        NULL,
        JSONExtractRaw(toJSONString(d.companies), 1)
      ) AS Nullable(String)),
      '^(\\-?[0-9]+\\.0+)$'
    )
    THEN replaceRegexpAll(
      CAST(multiIf(
        JSONType(toJSONString(d.companies), 1) = 'String',
        JSONExtractString(toJSONString(d.companies), 1),
        JSONType(toJSONString(d.companies), 1) = 'Null',
        NULL,
        JSONExtractRaw(toJSONString(d.companies), 1)
      ) AS Nullable(String)),
      '\\.0+$',
      ''
    )
    ELSE CAST(multiIf(
      JSONType(toJSONString(d.companies), 1) = 'String',
      JSONExtractString(toJSONString(d.companies), 1),
      JSONType(toJSONString(d.companies), 1) = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(d.companies), 1)
    ) AS Nullable(String))
  END AS "org_id",
  CAST(c.properties_name AS Nullable(String)) AS "org_name",
  CASE
    WHEN match(
      CAST(multiIf(
        JSONType(toJSONString(d.contacts), 1) = 'String',
        JSONExtractString(toJSONString(d.contacts), 1),
        JSONType(toJSONString(d.contacts), 1) = 'Null',
        NULL,
        JSONExtractRaw(toJSONString(d.contacts), 1)
      ) AS Nullable(String)),
      '^(\\-?[0-9]+\\.0+)$'
    )
    THEN replaceRegexpAll(
      CAST(multiIf(
        JSONType(toJSONString(d.contacts), 1) = 'String',
        JSONExtractString(toJSONString(d.contacts), 1),
        JSONType(toJSONString(d.contacts), 1) = 'Null',
        NULL,
        JSONExtractRaw(toJSONString(d.contacts), 1)
      ) AS Nullable(String)),
      '\\.0+$',
      ''
    )
    ELSE CAST(multiIf(
      JSONType(toJSONString(d.contacts), 1) = 'String',
      JSONExtractString(toJSONString(d.contacts), 1),
      JSONType(toJSONString(d.contacts), 1) = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(d.contacts), 1)
    ) AS Nullable(String))
  END AS "person_id",
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS Nullable(String)) AS "person_name",
  CAST(p.label AS Nullable(String)) AS "pipeline",
  CAST(s.label AS Nullable(String)) AS "stage",
  CAST(s.position AS Nullable(Float64)) AS "stage_order",
  CAST(d.properties_hs_is_closed AS Nullable(Bool)) AS "is_closed",
  CAST(d.properties_hs_is_closed_won AS Nullable(Bool)) AS "is_won",
  CAST(d.properties_hs_is_closed_lost AS Nullable(Bool)) AS "is_lost",
  CASE
    WHEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS Nullable(String)) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS Nullable(String))
    ELSE NULL
  END AS "status",
  CAST(d.properties_closed_lost_reason AS Nullable(String)) AS "lost_reason",
  CAST(d.properties_closed_won_reason AS Nullable(String)) AS "won_reason",
  CAST(d.properties_createdate AS Nullable(DATE)) AS "created",
  CAST(d.properties_hs_v2_date_entered_current_stage AS Nullable(DATE)) AS "stage_changed",
  CAST(d.properties_closedate AS Nullable(DATE)) AS "close_date",
  CAST(d.properties_hs_lastmodifieddate AS Nullable(DATE)) AS "modified",
  CAST(d.properties_notes_next_activity_date AS Nullable(DATE)) AS "next_activity_date"
FROM crm.deals AS d
LEFT JOIN crm.owners AS ow
  ON ow.id = d.properties_hubspot_owner_id
LEFT JOIN crm.deal_pipelines AS p
  ON p."pipelineId" = d.properties_pipeline
LEFT JOIN (
  SELECT
    dp."pipelineId" AS pipeline_id,
    multiIf(
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'stageId') = 'String',
      JSONExtractString(toJSONString(dp.stages), (
        g.i + 1
      ), 'stageId'),
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'stageId') = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(dp.stages), (
        g.i + 1
      ), 'stageId')
    ) AS stage_id,
    multiIf(
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'label') = 'String',
      JSONExtractString(toJSONString(dp.stages), (
        g.i + 1
      ), 'label'),
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'label') = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(dp.stages), (
        g.i + 1
      ), 'label')
    ) AS label,
    CAST(multiIf(
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'displayOrder') = 'String',
      JSONExtractString(toJSONString(dp.stages), (
        g.i + 1
      ), 'displayOrder'),
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'displayOrder') = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(dp.stages), (
        g.i + 1
      ), 'displayOrder')
    ) AS Nullable(Int32)) AS position,
    multiIf(
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'isClosed') = 'String',
      JSONExtractString(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'isClosed'),
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'isClosed') = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'isClosed')
    ) AS is_closed,
    multiIf(
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'probability') = 'String',
      JSONExtractString(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'probability'),
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'probability') = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(dp.stages), (
        g.i + 1
      ), 'metadata', 'probability')
    ) AS probability
  FROM crm.deal_pipelines AS dp
  CROSS JOIN (
    SELECT
      ones.n + 10 * tens.n AS i
    FROM (
      SELECT
        0 AS n
      UNION ALL
      SELECT
        1
      UNION ALL
      SELECT
        2
      UNION ALL
      SELECT
        3
      UNION ALL
      SELECT
        4
      UNION ALL
      SELECT
        5
      UNION ALL
      SELECT
        6
      UNION ALL
      SELECT
        7
      UNION ALL
      SELECT
        8
      UNION ALL
      SELECT
        9
    ) AS ones
    CROSS JOIN (
      SELECT
        0 AS n
      UNION ALL
      SELECT
        1
      UNION ALL
      SELECT
        2
      UNION ALL
      SELECT
        3
      UNION ALL
      SELECT
        4
      UNION ALL
      SELECT
        5
      UNION ALL
      SELECT
        6
      UNION ALL
      SELECT
        7
      UNION ALL
      SELECT
        8
      UNION ALL
      SELECT
        9
    ) AS tens
  ) AS g
  WHERE
    if(
      JSONType(toJSONString(dp.stages), (
        g.i + 1
      )) = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(dp.stages), (
        g.i + 1
      ))
    ) IS NOT NULL
) AS s
  ON s.stage_id = d.properties_dealstage AND s.pipeline_id = d.properties_pipeline
LEFT JOIN crm.companies AS c
  ON c.id = multiIf(
    JSONType(toJSONString(d.companies), 1) = 'String',
    JSONExtractString(toJSONString(d.companies), 1),
    JSONType(toJSONString(d.companies), 1) = 'Null',
    NULL,
    JSONExtractRaw(toJSONString(d.companies), 1)
  )
LEFT JOIN crm.contacts AS ct
  ON ct.id = multiIf(
    JSONType(toJSONString(d.contacts), 1) = 'String',
    JSONExtractString(toJSONString(d.contacts), 1),
    JSONType(toJSONString(d.contacts), 1) = 'Null',
    NULL,
    JSONExtractRaw(toJSONString(d.contacts), 1)
  )
LEFT JOIN crm.deals_archived AS da
  ON da.id = d.id
WHERE
  NOT COALESCE(d.archived, FALSE) AND da.id IS NULL
