SELECT
  o.id AS "_row",
  CASE
    WHEN REGEXP_LIKE(CAST(o.id AS VARCHAR), '\\-?[0-9]+\\.0+')
    THEN REGEXP_REPLACE(CAST(o.id AS VARCHAR), '\\.0+$', '')
    ELSE CAST(o.id AS VARCHAR)
  END AS "id",
  CAST(o.name AS VARCHAR) AS "name",
  CAST(COALESCE(u.name, o.owner_name) AS VARCHAR) AS "owner"
FROM crm.organizations AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
LEFT JOIN airbyte_internal.pipedrive_raw__stream_organizations AS r
  ON r._airbyte_raw_id = o._airbyte_raw_id
WHERE
  COALESCE(o.active_flag, TRUE)
