SELECT
  pe.id AS `_row`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(pe.id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(pe.id AS STRING), '\\.0+$', '')
    ELSE CAST(pe.id AS STRING)
  END AS `id`,
  CAST(pe.name AS STRING) AS `name`,
  CAST(u.name AS STRING) AS `owner`,
  CASE
    WHEN REGEXP_CONTAINS(CAST(pe.org_id AS STRING), '^(\\-?[0-9]+\\.0+)$')
    THEN REGEXP_REPLACE(CAST(pe.org_id AS STRING), '\\.0+$', '')
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
