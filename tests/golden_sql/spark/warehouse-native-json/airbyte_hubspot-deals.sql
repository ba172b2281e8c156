SELECT
  CAST(d.id AS BIGINT) AS `_row`,
  CASE
    WHEN CAST(d.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(d.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(d.id AS STRING)
  END AS `id`,
  CAST(d.properties_dealname AS STRING) AS `title`,
  CAST(TRIM(COALESCE(ow.`firstName`, '') || ' ' || COALESCE(ow.`lastName`, '')) AS STRING) AS `owner`,
  CAST(d.properties_amount AS DOUBLE) AS `value`,
  CAST(d.properties_deal_currency_code AS STRING) AS `currency`,
  CASE
    WHEN CAST(GET_JSON_OBJECT(TO_JSON(d.companies), '$[0]') AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(GET_JSON_OBJECT(TO_JSON(d.companies), '$[0]') AS STRING), '\\.0+\\z', '')
    ELSE CAST(GET_JSON_OBJECT(TO_JSON(d.companies), '$[0]') AS STRING)
  END AS `org_id`,
  CAST(c.properties_name AS STRING) AS `org_name`,
  CASE
    WHEN CAST(GET_JSON_OBJECT(TO_JSON(d.contacts), '$[0]') AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(GET_JSON_OBJECT(TO_JSON(d.contacts), '$[0]') AS STRING), '\\.0+\\z', '')
    ELSE CAST(GET_JSON_OBJECT(TO_JSON(d.contacts), '$[0]') AS STRING)
  END AS `person_id`,
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS STRING) AS `person_name`,
  CAST(p.label AS STRING) AS `pipeline`,
  CAST(s.label AS STRING) AS `stage`,
  CAST(s.position AS DOUBLE) AS `stage_order`,
  CAST(d.properties_hs_is_closed AS BOOLEAN) AS `is_closed`,
  CAST(d.properties_hs_is_closed_won AS BOOLEAN) AS `is_won`,
  CAST(d.properties_hs_is_closed_lost AS BOOLEAN) AS `is_lost`,
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
    GET_JSON_OBJECT(TO_JSON(dp.stages), CONCAT('$[', CAST(g.i AS STRING), '].stageId')) AS stage_id,
    GET_JSON_OBJECT(TO_JSON(dp.stages), CONCAT('$[', CAST(g.i AS STRING), '].label')) AS label,
    CAST(GET_JSON_OBJECT(TO_JSON(dp.stages), CONCAT('$[', CAST(g.i AS STRING), '].displayOrder')) AS INT) AS position,
    GET_JSON_OBJECT(TO_JSON(dp.stages), CONCAT('$[', CAST(g.i AS STRING), '].metadata.isClosed')) AS is_closed,
    GET_JSON_OBJECT(TO_JSON(dp.stages), CONCAT('$[', CAST(g.i AS STRING), '].metadata.probability')) AS probability
  FROM crm.deal_pipelines AS dp
  CROSS JOIN (
    SELECT
      ones.n + 10 * tens.n AS i
    FROM VALUES
      (0),
      (1),
      (2),
      (3),
      (4),
      (5),
      (6),
      (7),
      (8),
      (9) AS ones(n)
    CROSS JOIN VALUES
      (0),
      (1),
      (2),
      (3),
      (4),
      (5),
      (6),
      (7),
      (8),
      (9) AS tens(n)
  ) AS g
  WHERE
    GET_JSON_OBJECT(TO_JSON(dp.stages), CONCAT('$[', CAST(g.i AS STRING), ']')) IS NOT NULL
) AS s
  ON s.stage_id = d.properties_dealstage AND s.pipeline_id = d.properties_pipeline
LEFT JOIN crm.companies AS c
  ON c.id = GET_JSON_OBJECT(TO_JSON(d.companies), '$[0]')
LEFT JOIN crm.contacts AS ct
  ON ct.id = GET_JSON_OBJECT(TO_JSON(d.contacts), '$[0]')
LEFT JOIN crm.deals_archived AS da
  ON da.id = d.id
WHERE
  NOT COALESCE(d.archived, FALSE) AND da.id IS NULL
