SELECT
  CAST(t.id AS BIGINT) AS `_row`,
  CASE
    WHEN CAST(t.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(t.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(t.id AS STRING)
  END AS `id`,
  CAST(t.properties_hs_task_subject AS STRING) AS `subject`,
  CAST(t.properties_hs_task_type AS STRING) AS `type`,
  CAST(t.properties_hs_timestamp AS DATE) AS `due_date`,
  CAST(COALESCE(t.properties_hs_task_status = 'COMPLETED', FALSE) AS BOOLEAN) AS `done`,
  CASE
    WHEN CAST(td.deal_id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(td.deal_id AS STRING), '\\.0+\\z', '')
    ELSE CAST(td.deal_id AS STRING)
  END AS `deal_id`,
  CAST(TRIM(COALESCE(ow.`firstName`, '') || ' ' || COALESCE(ow.`lastName`, '')) AS STRING) AS `owner`
FROM crm.engagements_tasks AS t
LEFT JOIN (
  SELECT
    et.id AS task_id,
    GET_JSON_OBJECT(TO_JSON(et.deals), CONCAT('$[', CAST(g.i AS STRING), ']')) AS deal_id
  FROM crm.engagements_tasks AS et
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
    GET_JSON_OBJECT(TO_JSON(et.deals), CONCAT('$[', CAST(g.i AS STRING), ']')) IS NOT NULL
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
