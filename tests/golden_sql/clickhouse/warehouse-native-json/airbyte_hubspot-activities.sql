SELECT
  CAST(t.id AS Nullable(Int64)) AS "_row",
  CASE
    WHEN match(CAST(t.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(t.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(t.id AS Nullable(String))
  END AS "id",
  CAST(t.properties_hs_task_subject AS Nullable(String)) AS "subject",
  CAST(t.properties_hs_task_type AS Nullable(String)) AS "type",
  CAST(t.properties_hs_timestamp AS Nullable(DATE)) AS "due_date",
  CAST(COALESCE(t.properties_hs_task_status = 'COMPLETED', FALSE) AS Nullable(Bool)) AS "done",
  CASE
    WHEN match(CAST(td.deal_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(td.deal_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(td.deal_id AS Nullable(String))
  END AS "deal_id",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS Nullable(String)) AS "owner"
FROM crm.engagements_tasks AS t
LEFT JOIN (
  SELECT
    et.id AS task_id,
    multiIf(
      JSONType(toJSONString(et.deals), (
        g.i + 1
      )) = 'String',
      JSONExtractString(toJSONString(et.deals), (
        g.i + 1
      )),
      JSONType(toJSONString(et.deals), (
        g.i + 1
      )) = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(et.deals), (
        g.i + 1
      ))
    ) AS deal_id
  FROM crm.engagements_tasks AS et
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
    multiIf(
      JSONType(toJSONString(et.deals), (
        g.i + 1
      )) = 'String',
      JSONExtractString(toJSONString(et.deals), (
        g.i + 1
      )),
      JSONType(toJSONString(et.deals), (
        g.i + 1
      )) = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(et.deals), (
        g.i + 1
      ))
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
