SELECT
  d.id AS "_row",
  CASE
    WHEN match(CAST(d.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.id AS Nullable(String))
  END AS "id",
  CAST(d.title AS Nullable(String)) AS "title",
  CAST(u.name AS Nullable(String)) AS "owner",
  CAST(d.value AS Nullable(Float64)) AS "value",
  CAST(d.currency AS Nullable(String)) AS "currency",
  CASE
    WHEN match(CAST(d.org_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.org_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.org_id AS Nullable(String))
  END AS "org_id",
  CAST(o.name AS Nullable(String)) AS "org_name",
  CASE
    WHEN match(CAST(d.person_id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(d.person_id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(d.person_id AS Nullable(String))
  END AS "person_id",
  CAST(pe.name AS Nullable(String)) AS "person_name",
  CAST(p.name AS Nullable(String)) AS "pipeline",
  CAST(s.name AS Nullable(String)) AS "stage",
  CASE
    WHEN CAST(d.status AS Nullable(String)) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS Nullable(String))
    ELSE NULL
  END AS "status",
  CAST(d.lost_reason AS Nullable(String)) AS "lost_reason",
  toDate(d.add_time, 'Europe/Moscow') AS "created",
  toDate(d.stage_change_time, 'Europe/Moscow') AS "stage_changed",
  toDate(d.next_activity_date, 'Europe/Moscow') AS "next_activity_date"
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
