-- The 17 bundled rules written by hand as DuckDB SQL (issue 7's baseline).
--
-- Reads the four CSV files of a Pipedrive list export in either layout the
-- benchmark generates (benchmarks/shapes.py): "clean" (UTF-8, ",", every
-- field quoted, "Entity - Field" headers, ISO dates) or "messy" (as Russian
-- Excel saves it: BOM, ";", headers without the prefix, dd.mm.yyyy dates,
-- "1 500,00" amounts, ids as "123.0", empty trailing rows). The layout only
-- changes how the files are read (bench.py passes the read options and, for
-- "messy", the column names) and the three cell parsers id_of / day_of /
-- num_of below; the rules are the same SQL. It follows
-- /work/shared/reference-crm.md sections 2-3 to the letter:
--   norm(x)   = lower(trim(x)) with «ё» → «е»
--   empty     = NULL or whitespace only
--   stage ≥ X = the position of the deal's stage in its own pipeline (from the
--               settings) ≥ the position of X in that pipeline; an unknown
--               pipeline or stage is never ≥ X
--   task      = an undone activity, linked by the activity's deal id only
--   overdue   = due date < as_of (date part)
--   days in stage = as_of − date part of the last stage change (else created)
--   deleted deals are never audited
--   organization / person of a deal: the row of the organizations / persons
--   file with the deal's id, else the name in the deal's own column; the deal
--   "has" one when the id or the name is not empty. Owners and «Агентство ли
--   это» come from the files only.
-- Assumes unique ids (as samplegen writes them): every join is 1:1, so every
-- (rule_id, deal_id) appears once.
--
-- benchmarks/bench.py fills ${deals} ${organizations} ${persons}
-- ${activities} (each a read_csv(...) call), ${layout_macros}, ${as_of} and
-- ${out}, creates cfg_stages(pipeline, stage, pos) and cfg_lists(list, value)
-- from the settings file (raw names; normalised here), and runs the chunks
-- below one by one, timing each "-- @stage".

-- @stage load
CREATE OR REPLACE MACRO ws() AS ' ' || chr(9) || chr(10) || chr(13) || chr(160);
CREATE OR REPLACE MACRO nrm(x) AS replace(lower(trim(x, ws())), 'ё', 'е');
CREATE OR REPLACE MACRO blank(x) AS (x IS NULL OR trim(x, ws()) = '');
-- the layout's cell parsers: id_of(x), day_of(x), num_of(x)
${layout_macros}

CREATE OR REPLACE TABLE deals AS SELECT * FROM ${deals};
CREATE OR REPLACE TABLE organizations AS SELECT * FROM ${organizations};
CREATE OR REPLACE TABLE persons AS SELECT * FROM ${persons};
CREATE OR REPLACE TABLE activities AS SELECT * FROM ${activities};

-- @stage evaluate
CREATE OR REPLACE TEMP TABLE stg AS SELECT nrm(pipeline) AS p, nrm(stage) AS s, pos FROM cfg_stages;
CREATE OR REPLACE TEMP TABLE lst AS SELECT list, nrm(value) AS v FROM cfg_lists;

-- tasks of a deal: undone activities (any type), by the activity's deal id
CREATE OR REPLACE TEMP TABLE tasks AS
SELECT id_of("Activity - Deal ID") AS deal_id,
       count(*) AS n_tasks,
       count(*) FILTER (WHERE day_of("Activity - Due date") < DATE '${as_of}') AS n_overdue
FROM activities
WHERE NOT blank("Activity - Deal ID")
  AND coalesce(nrm("Activity - Done"), '') <> 'done'
GROUP BY 1;

-- one row per audited (not deleted) deal with everything the rules read
CREATE OR REPLACE TEMP TABLE ad AS
SELECT
    id_of(d."Deal - ID")                                        AS id,
    nrm(d."Deal - Status")                                      AS status,
    nrm(d."Deal - Pipeline")                                    AS pipeline,
    nrm(d."Deal - Stage")                                       AS stage,
    d."Deal - Title"                                            AS title,
    d."Deal - Owner"                                            AS owner,
    d."Deal - Value"                                            AS value,
    d."Deal - Lost reason"                                      AS lost_reason,
    d."Deal - Источник сделки"                                  AS source,
    d."Deal - Город"                                            AS city,
    d."Deal - Страна"                                           AS country,
    d."Deal - Посещаемость"                                     AS traffic,
    d."Deal - Бюджет"                                           AS budget,
    d."Deal - Ссылка на запись демо"                            AS demo_link,
    d."Deal - Ссылка на коммерческое предложение"               AS kp_link,
    d."Deal - Партнерская организация"                          AS partner_org,
    NOT blank(d."Deal - Organization ID") OR NOT blank(d."Deal - Organization") AS has_org,
    NOT blank(d."Deal - Contact person ID") OR NOT blank(d."Deal - Contact person") AS has_person,
    CASE WHEN o."Organization - ID" IS NOT NULL THEN o."Organization - Name" ELSE d."Deal - Organization" END AS org_name,
    CASE WHEN p."Person - ID" IS NOT NULL THEN p."Person - Name" ELSE d."Deal - Contact person" END AS person_name,
    o."Organization - Owner"                                    AS org_owner,
    p."Person - Owner"                                          AS person_owner,
    coalesce(nrm(o."Organization - Агентство ли это") IN ('да', 'yes', 'true', '1'), false) AS org_is_agency,
    coalesce(t.n_tasks, 0)                                      AS n_tasks,
    coalesce(t.n_overdue, 0)                                    AS n_overdue,
    coalesce(st.pos >= kp.pos, false)                           AS after_kp,
    coalesce(st.pos >= demo.pos, false)                         AS after_demo,
    date_diff('day', coalesce(day_of(d."Deal - Last stage change"), day_of(d."Deal - Deal created")),
              DATE '${as_of}')                                  AS days_in_stage
FROM deals d
LEFT JOIN organizations o ON id_of(o."Organization - ID") = id_of(d."Deal - Organization ID")
LEFT JOIN persons p       ON id_of(p."Person - ID") = id_of(d."Deal - Contact person ID")
LEFT JOIN tasks t         ON t.deal_id = id_of(d."Deal - ID")
LEFT JOIN stg st          ON st.p = nrm(d."Deal - Pipeline") AND st.s = nrm(d."Deal - Stage")
LEFT JOIN stg kp          ON kp.p = nrm(d."Deal - Pipeline") AND kp.s = 'отправлено кп'
LEFT JOIN stg demo        ON demo.p = nrm(d."Deal - Pipeline") AND demo.s = 'проведено демо'
WHERE coalesce(nrm(d."Deal - Status"), '') <> 'deleted' AND NOT blank(d."Deal - ID");

-- rule 1.5: a name that is not a real name (reference, section 3)
CREATE OR REPLACE MACRO bad_name(x) AS (
       regexp_matches(coalesce(x, ''), '^[\s\x{00A0}]|[\s\x{00A0}]$|[\s\x{00A0}]{2}')  -- spaces around / two in a row
    OR length(coalesce(trim(x, ws()), '')) < 3                                          -- < 3 chars (empty included)
    OR NOT regexp_matches(coalesce(x, ''), '\pL')                                       -- no letter
    OR regexp_full_match(coalesce(nrm(x), ''),                                          -- placeholder [+ digits]
           '(тест|test|новая сделка|new deal|сделка|deal|контакт|клиент|без названия)( ?[0-9]+)?')
    OR regexp_full_match(coalesce(trim(x, ws()), ''), '[?\-–—]+')                       -- only ? or dashes
);

CREATE OR REPLACE TEMP TABLE violations AS
-- 1.1 open deal without tasks
SELECT 'open-deal-without-tasks' AS rule_id, id AS deal_id FROM ad
WHERE status = 'open' AND n_tasks = 0
UNION ALL
-- 1.2 lost for a frozen reason, without tasks
SELECT 'frozen-deal-without-tasks', id FROM ad
WHERE status = 'lost' AND nrm(lost_reason) IN (SELECT v FROM lst WHERE list = 'frozen_lost_reasons') AND n_tasks = 0
UNION ALL
-- 1.3 open/won, stage ≥ «Отправлено КП», amount empty or 0
SELECT 'missing-amount-after-proposal', id FROM ad
WHERE status IN ('open', 'won') AND after_kp AND (blank(value) OR num_of(value) = 0)
UNION ALL
-- 1.4 open/won, stage ≥ «Отправлено КП», «Посещаемость» or «Бюджет» empty
SELECT 'missing-traffic-or-budget', id FROM ad
WHERE status IN ('open', 'won') AND after_kp AND (blank(traffic) OR blank(budget))
UNION ALL
-- 1.5 open, invalid title / contact person name / organization name
SELECT 'invalid-name', id FROM ad
WHERE status = 'open' AND (
       bad_name(title)
    OR (has_person AND (bad_name(person_name) OR regexp_matches(coalesce(trim(person_name, ws()), ''), '[0-9@]')))
    OR (has_org AND bad_name(org_name)))
UNION ALL
-- 1.6 open, organization name contains «от партнера», «Партнерская организация» empty
SELECT 'partner-org-not-set', id FROM ad
WHERE status = 'open' AND contains(coalesce(nrm(org_name), ''), 'от партнера') AND blank(partner_org)
UNION ALL
-- 1.7 open, the organization's or the person's owner set and not the deal's owner
SELECT 'owner-mismatch', id FROM ad
WHERE status = 'open' AND (
       (NOT blank(org_owner) AND nrm(org_owner) IS DISTINCT FROM nrm(owner))
    OR (NOT blank(person_owner) AND nrm(person_owner) IS DISTINCT FROM nrm(owner)))
UNION ALL
-- 1.8 open/won/lost, «Источник сделки» empty
SELECT 'missing-source', id FROM ad
WHERE status IN ('open', 'won', 'lost') AND blank(source)
UNION ALL
-- 1.9 open/won, stage ≥ «Проведено демо», «Ссылка на запись демо» empty
SELECT 'missing-demo-recording', id FROM ad
WHERE status IN ('open', 'won') AND after_demo AND blank(demo_link)
UNION ALL
-- 1.10 open/won, stage ≥ «Отправлено КП», «Ссылка на коммерческое предложение» empty
SELECT 'missing-proposal-link', id FROM ad
WHERE status IN ('open', 'won') AND after_kp AND blank(kp_link)
UNION ALL
-- 1.11 open, pipeline «Клиенты» or «Партнеры», no organization
SELECT 'open-deal-without-organization', id FROM ad
WHERE status = 'open' AND pipeline IN ('клиенты', 'партнеры') AND NOT has_org
UNION ALL
-- 1.12 open, pipeline «Партнеры», has an organization that is not an agency
SELECT 'partner-pipeline-org-not-agency', id FROM ad
WHERE status = 'open' AND pipeline = 'партнеры' AND has_org AND NOT org_is_agency
UNION ALL
-- 1.13 open, «Клиенты», stage ≥ «Проведено демо», owner a partner manager, has an
--      organization, not an agency, «Партнерская организация» empty
SELECT 'partner-manager-deal-without-partner', id FROM ad
WHERE status = 'open' AND pipeline = 'клиенты' AND after_demo
  AND nrm(owner) IN (SELECT v FROM lst WHERE list = 'partner_managers')
  AND has_org AND NOT org_is_agency AND blank(partner_org)
UNION ALL
-- 2.1 open/won/lost, «Город» or «Страна» empty
SELECT 'missing-city-or-country', id FROM ad
WHERE status IN ('open', 'won', 'lost') AND (blank(city) OR blank(country))
UNION ALL
-- 2.2 open, stage «Принял в работу», days in stage > 7
SELECT 'stuck-in-accepted', id FROM ad
WHERE status = 'open' AND stage = 'принял в работу' AND days_in_stage > 7
UNION ALL
-- 2.3 open, at least one overdue task
SELECT 'overdue-tasks', id FROM ad
WHERE status = 'open' AND n_overdue > 0
UNION ALL
-- 2.4 open, stage not a trial stage, days in stage > 14
SELECT 'no-stage-movement', id FROM ad
WHERE status = 'open' AND coalesce(stage, '') NOT IN (SELECT v FROM lst WHERE list = 'trial_stages')
  AND days_in_stage > 14;

-- @stage violations CSV
COPY violations TO '${out}' (FORMAT csv, HEADER true);
