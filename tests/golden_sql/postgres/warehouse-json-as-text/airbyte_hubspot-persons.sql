SELECT
  CAST(ct.id AS BIGINT) AS "_row",
  CASE
    WHEN CAST(ct.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(ct.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(ct.id AS TEXT)
  END AS "id",
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS TEXT) AS "name",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS TEXT) AS "owner",
  CASE
    WHEN CAST(c.id AS TEXT) ~ '^(\-?[0-9]+\.0+)$'
    THEN REGEXP_REPLACE(CAST(c.id AS TEXT), '\.0+$', '', 'g')
    ELSE CAST(c.id AS TEXT)
  END AS "org_id",
  CAST(c.properties_name AS TEXT) AS "org_name"
FROM crm.contacts AS ct
LEFT JOIN crm.owners AS ow
  ON ow.id = ct.properties_hubspot_owner_id
LEFT JOIN crm.companies AS c
  ON c.id = COALESCE(ct.properties_associatedcompanyid, CAST(ct.companies AS JSON) ->> 0)
WHERE
  NOT COALESCE(ct.archived, FALSE)
