SELECT
  o.id AS "_row",
  CASE
    WHEN match(CAST(o.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(o.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(o.id AS Nullable(String))
  END AS "id",
  CAST(o.name AS Nullable(String)) AS "name",
  CAST(COALESCE(u.name, o.owner_name) AS Nullable(String)) AS "owner"
FROM crm.organizations AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
LEFT JOIN airbyte_internal.pipedrive_raw__stream_organizations AS r
  ON r._airbyte_raw_id = o._airbyte_raw_id
WHERE
  COALESCE(o.active_flag, TRUE)
