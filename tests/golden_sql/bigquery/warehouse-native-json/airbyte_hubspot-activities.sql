SELECT
  CAST(t.id AS INT64) AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(t.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(t.id AS STRING), '\\.0+$', '')
    ELSE CAST(t.id AS STRING)
  END AS `id`,
  CAST(t.properties_hs_task_subject AS STRING) AS `subject`,
  CAST(t.properties_hs_task_type AS STRING) AS `type`,
  CAST(t.properties_hs_timestamp AS DATE) AS `due_date`,
  CAST(COALESCE(t.properties_hs_task_status = 'COMPLETED', FALSE) AS BOOL) AS `done`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(td.deal_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(td.deal_id AS STRING), '\\.0+$', '')
    ELSE CAST(td.deal_id AS STRING)
  END AS `deal_id`,
  CAST(TRIM(COALESCE(ow.`firstName`, '') || ' ' || COALESCE(ow.`lastName`, '')) AS STRING) AS `owner`
FROM crm.engagements_tasks AS t
LEFT JOIN (
  SELECT
    et.id AS task_id,
    COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(et.deals, '$')[SAFE_OFFSET(g.i)], '$'),
      NULLIF(
        TO_JSON_STRING(JSON_QUERY(JSON_QUERY_ARRAY(et.deals, '$')[SAFE_OFFSET(g.i)], '$')),
        'null'
      )
    ) AS deal_id
  FROM crm.engagements_tasks AS et
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
    COALESCE(
      JSON_VALUE(JSON_QUERY_ARRAY(et.deals, '$')[SAFE_OFFSET(g.i)], '$'),
      NULLIF(
        TO_JSON_STRING(JSON_QUERY(JSON_QUERY_ARRAY(et.deals, '$')[SAFE_OFFSET(g.i)], '$')),
        'null'
      )
    ) IS NOT NULL
) AS td
  ON td.task_id = t.id
LEFT JOIN crm.owners AS ow
  ON ow.id = t.properties_hubspot_owner_id
LEFT JOIN crm.engagements_tasks_archived AS ta
  ON ta.id = t.id
WHERE
  (
    NOT COALESCE(t.archived, FALSE) AND ta.id IS NULL
  )
  AND td.deal_id IS NOT NULL
