SELECT
  d.id AS "_row",
  CASE
    WHEN match(CAST(d.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.id AS Nullable(String))
  END AS "id",
  CAST(d.title AS Nullable(String)) AS "title",
  CAST(COALESCE(u.name, d.owner_name) AS Nullable(String)) AS "owner",
  CAST(d.value AS Nullable(Float64)) AS "value",
  CAST(d.currency AS Nullable(String)) AS "currency",
  CASE
    WHEN match(CAST(d.org_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.org_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.org_id AS Nullable(String))
  END AS "org_id",
  CAST(COALESCE(o.name, d.org_name) AS Nullable(String)) AS "org_name",
  CASE
    WHEN match(CAST(d.person_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.person_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.person_id AS Nullable(String))
  END AS "person_id",
  CAST(COALESCE(pe.name, d.person_name) AS Nullable(String)) AS "person_name",
  CAST(p.name AS Nullable(String)) AS "pipeline",
  CAST(s.name AS Nullable(String)) AS "stage",
  CASE
    WHEN CAST(d.status AS Nullable(String)) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS Nullable(String))
    ELSE NULL
  END AS "status",
  CAST(d.lost_reason AS Nullable(String)) AS "lost_reason",
  CAST(CAST(d.add_time AS Nullable(DateTime64(6, 'UTC'))) AS Nullable(DATE)) AS "created",
  CAST(CAST(d.stage_change_time AS Nullable(DateTime64(6, 'UTC'))) AS Nullable(DATE)) AS "stage_changed",
  CAST(d.next_activity_date AS Nullable(DATE)) AS "next_activity_date",
  CAST(d.undone_activities_count AS Nullable(Float64)) AS "activities_to_do"
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
