SELECT
  d.id AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.id AS STRING), '\\.0+$', '')
    ELSE CAST(d.id AS STRING)
  END AS `id`,
  CAST(d.title AS STRING) AS `title`,
  CAST(u.name AS STRING) AS `owner`,
  CAST(d.value AS FLOAT64) AS `value`,
  CAST(d.currency AS STRING) AS `currency`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.org_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.org_id AS STRING), '\\.0+$', '')
    ELSE CAST(d.org_id AS STRING)
  END AS `org_id`,
  CAST(o.name AS STRING) AS `org_name`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.person_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.person_id AS STRING), '\\.0+$', '')
    ELSE CAST(d.person_id AS STRING)
  END AS `person_id`,
  CAST(pe.name AS STRING) AS `person_name`,
  CAST(p.name AS STRING) AS `pipeline`,
  CAST(s.name AS STRING) AS `stage`,
  CASE
    WHEN CAST(d.status AS STRING) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS STRING)
    ELSE NULL
  END AS `status`,
  CAST(d.lost_reason AS STRING) AS `lost_reason`,
  DATE(d.add_time, 'Europe/Moscow') AS `created`,
  DATE(d.stage_change_time, 'Europe/Moscow') AS `stage_changed`,
  DATE(d.next_activity_date, 'Europe/Moscow') AS `next_activity_date`
FROM crm.deal AS d
LEFT JOIN crm.users AS u
  ON u.id = d.user_id
LEFT JOIN crm.stage AS s
  ON s.id = d.stage_id
LEFT JOIN crm.pipeline AS p
  ON p.id = COALESCE(d.pipeline_id, s.pipeline_id)
LEFT JOIN crm.organization AS o
  ON o.id = d.org_id
LEFT JOIN crm.person AS pe
  ON pe.id = d.person_id
WHERE
  NOT COALESCE(d._fivetran_deleted, FALSE)
