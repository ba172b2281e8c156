SELECT
  d.id AS "_row",
  CASE
    WHEN CAST(d.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(d.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(d.id AS TEXT)
  END AS "id",
  CAST(d.title AS TEXT) AS "title",
  CAST(u.name AS TEXT) AS "owner",
  CAST(d.value AS DOUBLE PRECISION) AS "value",
  CAST(d.currency AS TEXT) AS "currency",
  CASE
    WHEN CAST(d.org_id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(d.org_id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(d.org_id AS TEXT)
  END AS "org_id",
  CAST(o.name AS TEXT) AS "org_name",
  CASE
    WHEN CAST(d.person_id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(d.person_id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(d.person_id AS TEXT)
  END AS "person_id",
  CAST(pe.name AS TEXT) AS "person_name",
  CAST(p.name AS TEXT) AS "pipeline",
  CAST(s.name AS TEXT) AS "stage",
  CASE
    WHEN CAST(d.status AS TEXT) IN ('open', 'won', 'lost', 'deleted')
    THEN CAST(d.status AS TEXT)
    ELSE NULL
  END AS "status",
  CAST(d.lost_reason AS TEXT) AS "lost_reason",
  CAST((
    (
      d.add_time
    ) AT TIME ZONE 'Europe/Moscow'
  ) AS DATE) AS "created",
  CAST((
    (
      d.stage_change_time
    ) AT TIME ZONE 'Europe/Moscow'
  ) AS DATE) AS "stage_changed",
  CAST((
    (
      d.next_activity_date
    ) AT TIME ZONE 'Europe/Moscow'
  ) AS DATE) AS "next_activity_date"
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
