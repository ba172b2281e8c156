SELECT
  o.id AS "_row",
  CASE
    WHEN CAST(o.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(o.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(o.id AS TEXT)
  END AS "id",
  CAST(o.name AS TEXT) AS "name",
  CAST(COALESCE(u.name, o.owner_name) AS TEXT) AS "owner"
FROM crm.organizations AS o
LEFT JOIN crm.users AS u
  ON u.id = o.owner_id
LEFT JOIN airbyte_internal.pipedrive_raw__stream_organizations AS r
  ON r._airbyte_raw_id = o._airbyte_raw_id
WHERE
  COALESCE(o.active_flag, TRUE)
