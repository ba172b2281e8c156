SELECT
  CAST(ct.id AS Nullable(Int64)) AS "_row",
  CASE
    WHEN match(CAST(ct.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(ct.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(ct.id AS Nullable(String))
  END AS "id",
  CAST(TRIM(
    COALESCE(ct.properties_firstname, '') || ' ' || COALESCE(ct.properties_lastname, '')
  ) AS Nullable(String)) AS "name",
  CAST(TRIM(COALESCE(ow."firstName", '') || ' ' || COALESCE(ow."lastName", '')) AS Nullable(String)) AS "owner",
  CASE
    WHEN match(CAST(c.id AS Nullable(String)), '^(\\-?[0-9]+\\.0+)$')
    THEN replaceRegexpAll(CAST(c.id AS Nullable(String)), '\\.0+$', '')
    ELSE CAST(c.id AS Nullable(String))
  END AS "org_id",
  CAST(c.properties_name AS Nullable(String)) AS "org_name"
FROM crm.contacts AS ct
LEFT JOIN crm.owners AS ow
  ON ow.id = ct.properties_hubspot_owner_id
LEFT JOIN crm.companies AS c
  ON c.id = COALESCE(
    ct.properties_associatedcompanyid,
    multiIf(
      JSONType(toJSONString(ct.companies), 1) = 'String',
      JSONExtractString(toJSONString(ct.companies), 1),
      JSONType(toJSONString(ct.companies), 1) = 'Null',
      NULL,
      JSONExtractRaw(toJSONString(ct.companies), 1)
    )
  )
WHERE
  NOT COALESCE(ct.archived, FALSE)
