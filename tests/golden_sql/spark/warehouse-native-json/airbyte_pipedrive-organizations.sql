SELECT
  o.id AS `_row`,
  CASE
    WHEN CAST(o.id AS STRING) RLIKE '^(\\-?[0-9]+\\.0+)\\z'
    THEN REGEXP_REPLACE(CAST(o.id AS STRING), '\\.0+\\z', '')
    ELSE CAST(o.id AS STRING)
  END AS `id`,
  CAST(o.name AS STRING) AS `name`,
  CAST(COALESCE(u.name, o.owner_name) AS STRING) AS `owner`
FROM crm.organizations AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
LEFT JOIN airbyte_internal.pipedrive_raw__stream_organizations AS r
  ON r._airbyte_raw_id = o._airbyte_raw_id
WHERE
  COALESCE(o.active_flag, TRUE)
