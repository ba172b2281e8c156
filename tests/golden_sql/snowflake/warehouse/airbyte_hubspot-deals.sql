SELECT
  CAST(d.id AS BIGINT) AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(d.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.id AS VARCHAR)
  END AS "id",
  CAST(d.properties_dealname AS VARCHAR) AS "title",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS VARCHAR) AS "owner",
  CAST(d.properties_amount AS DOUBLE) AS "value",
  CAST(d.properties_deal_currency_code AS VARCHAR) AS "currency",
  CASE
    WHEN REGEXP_LIKE(
      CAST(CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.companies)), 0)) AS VARCHAR) AS VARCHAR),
      '\\-?[0-9]+\\.0+'
    )
    THEN REGEXP_REPLACE(
      CAST(CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.companies)), 0)) AS VARCHAR) AS VARCHAR),
      '\\.0+$',
      ''
    )
    ELSE CAST(CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.companies)), 0)) AS VARCHAR) AS VARCHAR)
  END AS "org_id",
  CAST(c.properties_name AS VARCHAR) AS "org_name",
  CASE
    WHEN REGEXP_LIKE(
      CAST(CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.contacts)), 0)) AS VARCHAR) AS VARCHAR),
      '\\-?[0-9]+\\.0+'
    )
    THEN REGEXP_REPLACE(
      CAST(CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.contacts)), 0)) AS VARCHAR) AS VARCHAR),
      '\\.0+$',
      ''
    )
    ELSE CAST(CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.contacts)), 0)) AS VARCHAR) AS VARCHAR)
  END AS "person_id",
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS VARCHAR) AS "person_name",
  CAST(p.label AS VARCHAR) AS "pipeline",
  CAST(s.label AS VARCHAR) AS "stage",
  CAST(s.position AS DOUBLE) AS "stage_order",
  CAST(d.properties_hs_is_closed AS BOOLEAN) AS "is_closed",
  CAST(d.properties_hs_is_closed_won AS BOOLEAN) AS "is_won",
  CAST(d.properties_hs_is_closed_lost AS BOOLEAN) AS "is_lost",
  CASE
    WHEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS VARCHAR) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS VARCHAR)
    ELSE NULL
  END AS "status",
  CAST(d.properties_closed_lost_reason AS VARCHAR) AS "lost_reason",
  CAST(d.properties_closed_won_reason AS VARCHAR) AS "won_reason",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.properties_createdate) AS DATE) AS "created",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.properties_hs_v2_date_entered_current_stage) AS DATE) AS "stage_changed",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.properties_closedate) AS DATE) AS "close_date",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.properties_hs_lastmodifieddate) AS DATE) AS "modified",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.properties_notes_next_activity_date) AS DATE) AS "next_activity_date"
FROM crm.deals AS d
LEFT JOIN crm.owners AS ow
  ON ow.id = d.properties_hubspot_owner_id
LEFT JOIN crm.deal_pipelines AS p
  ON p."pipelineId" = d.properties_pipeline
LEFT JOIN (
  SELECT
    dp."pipelineId" AS pipeline_id,
    CAST(STRIP_NULL_VALUE(GET(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i), 'stageId')) AS VARCHAR) AS stage_id,
    CAST(STRIP_NULL_VALUE(GET(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i), 'label')) AS VARCHAR) AS label,
    CAST(CAST(STRIP_NULL_VALUE(GET(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i), 'displayOrder')) AS VARCHAR) AS INT) AS position,
    CAST(STRIP_NULL_VALUE(
      GET(GET(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i), 'metadata'), 'isClosed')
    ) AS VARCHAR) AS is_closed,
    CAST(STRIP_NULL_VALUE(
      GET(GET(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i), 'metadata'), 'probability')
    ) AS VARCHAR) AS probability
  FROM crm.deal_pipelines AS dp
  CROSS JOIN (
    SELECT
      ones.n + 10 * tens.n AS i
    FROM (VALUES
      (0),
      (1),
      (2),
      (3),
      (4),
      (5),
      (6),
      (7),
      (8),
      (9)) AS ones(n)
    CROSS JOIN (VALUES
      (0),
      (1),
      (2),
      (3),
      (4),
      (5),
      (6),
      (7),
      (8),
      (9)) AS tens(n)
  ) AS g
  WHERE
    STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i)) IS NOT NULL
) AS s
  ON s.stage_id = d.properties_dealstage AND s.pipeline_id = d.properties_pipeline
LEFT JOIN crm.companies AS c
  ON c.id = CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.companies)), 0)) AS VARCHAR)
LEFT JOIN crm.contacts AS ct
  ON ct.id = CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.contacts)), 0)) AS VARCHAR)
LEFT JOIN crm.deals_archived AS da
  ON da.id = d.id
WHERE
  NOT COALESCE(d.archived, FALSE) AND da.id IS NULL
