SELECT
  CAST(t.id AS BIGINT) AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(t.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(t.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(t.id AS VARCHAR)
  END AS "id",
  CAST(t.properties_hs_task_subject AS VARCHAR) AS "subject",
  CAST(t.properties_hs_task_type AS VARCHAR) AS "type",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', t.properties_hs_timestamp) AS DATE) AS "due_date",
  CAST(COALESCE(t.properties_hs_task_status = 'COMPLETED', FALSE) AS BOOLEAN) AS "done",
  CASE
    WHEN REGEXP_LIKE(CAST(td.deal_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(td.deal_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(td.deal_id AS VARCHAR)
  END AS "deal_id",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS VARCHAR) AS "owner"
FROM crm.engagements_tasks AS t
LEFT JOIN (
  SELECT
    et.id AS task_id,
    CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(et.deals)), g.i)) AS VARCHAR) AS deal_id
  FROM crm.engagements_tasks AS et
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
    CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(et.deals)), g.i)) AS VARCHAR) IS NOT NULL
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
