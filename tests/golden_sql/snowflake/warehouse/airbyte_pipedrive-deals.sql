SELECT
  d.id AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(d.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.id AS VARCHAR)
  END AS "id",
  CAST(d.title AS VARCHAR) AS "title",
  CAST(COALESCE(u.name, d.owner_name) AS VARCHAR) AS "owner",
  CAST(d.value AS DOUBLE) AS "value",
  CAST(d.currency AS VARCHAR) AS "currency",
  CASE
    WHEN REGEXP_LIKE(CAST(d.org_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.org_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.org_id AS VARCHAR)
  END AS "org_id",
  CAST(COALESCE(o.name, d.org_name) AS VARCHAR) AS "org_name",
  CASE
    WHEN REGEXP_LIKE(CAST(d.person_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.person_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.person_id AS VARCHAR)
  END AS "person_id",
  CAST(COALESCE(pe.name, d.person_name) AS VARCHAR) AS "person_name",
  CAST(p.name AS VARCHAR) AS "pipeline",
  CAST(s.name AS VARCHAR) AS "stage",
  CASE
    WHEN CAST(d.status AS VARCHAR) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS VARCHAR)
    ELSE NULL
  END AS "status",
  CAST(d.lost_reason AS VARCHAR) AS "lost_reason",
  CAST(CONVERT_TIMEZONE('UTC', 'Europe/Moscow', CAST(d.add_time AS TIMESTAMPNTZ)) AS DATE) AS "created",
  CAST(CONVERT_TIMEZONE('UTC', 'Europe/Moscow', CAST(d.stage_change_time AS TIMESTAMPNTZ)) AS DATE) AS "stage_changed",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.next_activity_date) AS DATE) AS "next_activity_date",
  CAST(d.undone_activities_count AS DOUBLE) AS "activities_to_do"
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
