SELECT
  pe.id AS `_row`,
  CASE
    WHEN CAST(pe.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(pe.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(pe.id AS STRING)
  END AS `id`,
  CAST(pe.name AS STRING) AS `name`,
  CAST(COALESCE(u.name, pe.owner_name) AS STRING) AS `owner`,
  CAST(COALESCE(o.name, pe.org_name) AS STRING) AS `org_name`
FROM crm.persons AS pe
LEFT JOIN crm.users AS u
  ON u.id = pe.owner_id
LEFT JOIN crm.organizations AS o
  ON o.id = pe.org_id
WHERE
  COALESCE(pe.active_flag, TRUE)
