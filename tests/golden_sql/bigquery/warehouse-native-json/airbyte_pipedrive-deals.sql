SELECT
  d.id AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.id AS STRING), '\\.0+$', '')
    ELSE CAST(d.id AS STRING)
  END AS `id`,
  CAST(d.title AS STRING) AS `title`,
  CAST(COALESCE(u.name, d.owner_name) AS STRING) AS `owner`,
  CAST(d.value AS FLOAT64) AS `value`,
  CAST(d.currency AS STRING) AS `currency`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.org_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.org_id AS STRING), '\\.0+$', '')
    ELSE CAST(d.org_id AS STRING)
  END AS `org_id`,
  CAST(COALESCE(o.name, d.org_name) AS STRING) AS `org_name`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(d.person_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(d.person_id AS STRING), '\\.0+$', '')
    ELSE CAST(d.person_id AS STRING)
  END AS `person_id`,
  CAST(COALESCE(pe.name, d.person_name) AS STRING) AS `person_name`,
  CAST(p.name AS STRING) AS `pipeline`,
  CAST(s.name AS STRING) AS `stage`,
  CASE
    WHEN CAST(d.status AS STRING) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS STRING)
    ELSE NULL
  END AS `status`,
  CAST(d.lost_reason AS STRING) AS `lost_reason`,
  CAST(CAST(d.add_time AS TIMESTAMP) AS DATE) AS `created`,
  CAST(CAST(d.stage_change_time AS TIMESTAMP) AS DATE) AS `stage_changed`,
  CAST(d.next_activity_date AS DATE) AS `next_activity_date`,
  CAST(d.undone_activities_count AS FLOAT64) AS `activities_to_do`
FROM crm.deals AS d
LEFT JOIN crm.users AS u
  ON u.id = d.user_id
LEFT JOIN crm.stages AS s
  ON s.id = d.stage_id
LEFT JOIN crm.pipelines AS p
  ON p.id = COALESCE(d.pipeline_id, s.pipeline_id)
LEFT JOIN crm.organizations AS o
  ON o.id = d.org_id
LEFT JOIN crm.persons AS pe
  ON pe.id = d.person_id
LEFT JOIN airbyte_internal.pipedrive_raw__stream_deals AS r
  ON r._airbyte_raw_id = d._airbyte_raw_id
WHERE
  NOT COALESCE(d.deleted, FALSE)
