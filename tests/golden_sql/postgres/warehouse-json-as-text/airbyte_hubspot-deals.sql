SELECT
  CAST(d.id AS BIGINT) AS "_row",
  CASE
    WHEN CAST(d.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(d.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(d.id AS TEXT)
  END AS "id",
  CAST(d.properties_dealname AS TEXT) AS "title",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS TEXT) AS "owner",
  CAST(d.properties_amount AS DOUBLE PRECISION) AS "value",
  CAST(d.properties_deal_currency_code AS TEXT) AS "currency",
  CASE
    WHEN CAST(CAST(d.companies AS JSON) ->> 0 AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(CAST(d.companies AS JSON) ->> 0 AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(CAST(d.companies AS JSON) ->> 0 AS TEXT)
  END AS "org_id",
  CAST(c.properties_name AS TEXT) AS "org_name",
  CASE
    WHEN CAST(CAST(d.contacts AS JSON) ->> 0 AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(CAST(d.contacts AS JSON) ->> 0 AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(CAST(d.contacts AS JSON) ->> 0 AS TEXT)
  END AS "person_id",
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS TEXT) AS "person_name",
  CAST(p.label AS TEXT) AS "pipeline",
  CAST(s.label AS TEXT) AS "stage",
  CAST(s.position AS DOUBLE PRECISION) AS "stage_order",
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
    END AS TEXT) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(CASE
      WHEN d.properties_hs_is_closed_won
      THEN 'won'
      WHEN d.properties_hs_is_closed_lost OR d.properties_hs_is_closed
      THEN 'lost'
      ELSE 'open'
    END AS TEXT)
    ELSE NULL
  END AS "status",
  CAST(d.properties_closed_lost_reason AS TEXT) AS "lost_reason",
  CAST(d.properties_closed_won_reason AS TEXT) AS "won_reason",
  CAST(d.properties_createdate AS DATE) AS "created",
  CAST(d.properties_hs_v2_date_entered_current_stage AS DATE) AS "stage_changed",
  CAST(d.properties_closedate AS DATE) AS "close_date",
  CAST(d.properties_hs_lastmodifieddate AS DATE) AS "modified",
  CAST(d.properties_notes_next_activity_date AS DATE) AS "next_activity_date"
FROM crm.deals AS d
LEFT JOIN crm.owners AS ow
  ON ow.id = d.properties_hubspot_owner_id
LEFT JOIN crm.deal_pipelines AS p
  ON p."pipelineId" = d.properties_pipeline
LEFT JOIN (
  SELECT
    dp."pipelineId" AS pipeline_id,
    CAST(dp.stages AS JSON) -> g.i ->> 'stageId' AS stage_id,
    CAST(dp.stages AS JSON) -> g.i ->> 'label' AS label,
    CAST(CAST(dp.stages AS JSON) -> g.i ->> 'displayOrder' AS INT) AS position,
    CAST(dp.stages AS JSON) -> g.i -> 'metadata' ->> 'isClosed' AS is_closed,
    CAST(dp.stages AS JSON) -> g.i -> 'metadata' ->> 'probability' AS probability
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
    CAST(dp.stages AS JSON) -> g.i IS NOT NULL
) AS s
  ON s.stage_id = d.properties_dealstage AND s.pipeline_id = d.properties_pipeline
LEFT JOIN crm.companies AS c
  ON c.id = CAST(d.companies AS JSON) ->> 0
LEFT JOIN crm.contacts AS ct
  ON ct.id = CAST(d.contacts AS JSON) ->> 0
LEFT JOIN crm.deals_archived AS da
  ON da.id = d.id
WHERE
  NOT COALESCE(d.archived, FALSE) AND da.id IS NULL
