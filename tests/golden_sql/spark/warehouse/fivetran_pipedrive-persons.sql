SELECT
  pe.id AS `_row`,
  CASE
    WHEN CAST(pe.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(pe.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(pe.id AS STRING)
  END AS `id`,
  CAST(pe.name AS STRING) AS `name`,
  CAST(u.name AS STRING) AS `owner`,
  CASE
    WHEN CAST(pe.org_id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(pe.org_id AS STRING), '\\.0+\\z', '')
    ELSE CAST(pe.org_id AS STRING)
  END AS `org_id`,
  CAST(o.name AS STRING) AS `org_name`
FROM crm.person AS pe
LEFT JOIN crm.users AS u
  ON u.id = pe.owner_id
LEFT JOIN crm.organization AS o
  ON o.id = pe.org_id
WHERE
  NOT COALESCE(pe._fivetran_deleted, FALSE)
