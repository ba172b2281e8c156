SELECT
  d.id AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(d.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.id AS VARCHAR)
  END AS "id",
  CAST(d.title AS VARCHAR) AS "title",
  CAST(u.name AS VARCHAR) AS "owner",
  CAST(d.value AS DOUBLE) AS "value",
  CAST(d.currency AS VARCHAR) AS "currency",
  CASE
    WHEN REGEXP_LIKE(CAST(d.org_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.org_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.org_id AS VARCHAR)
  END AS "org_id",
  CAST(o.name AS VARCHAR) AS "org_name",
  CASE
    WHEN REGEXP_LIKE(CAST(d.person_id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(d.person_id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(d.person_id AS VARCHAR)
  END AS "person_id",
  CAST(pe.name AS VARCHAR) AS "person_name",
  CAST(p.name AS VARCHAR) AS "pipeline",
  CAST(s.name AS VARCHAR) AS "stage",
  CASE
    WHEN CAST(d.status AS VARCHAR) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS VARCHAR)
    ELSE NULL
  END AS "status",
  CAST(d.lost_reason AS VARCHAR) AS "lost_reason",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.add_time) AS DATE) AS "created",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.stage_change_time) AS DATE) AS "stage_changed",
  CAST(CONVERT_TIMEZONE('Europe/Moscow', d.next_activity_date) AS DATE) AS "next_activity_date"
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
