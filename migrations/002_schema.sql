-- 002: the schema of DESIGN §6 — organisations, people, plans, workflows, projects,
-- documents, checks, blacklist, conflicts, the reserve pool, targets, calendar, and the
-- append-only, hash-chained history (events).
--
-- Amounts are numeric(18,4) in 万元; identifiers are UUIDs; people type human codes.

CREATE TABLE stpm.orgs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    uscc        char(18) NOT NULL UNIQUE,           -- 统一社会信用代码
    name        text NOT NULL CHECK (name <> ''),   -- 企业名称
    town        text,                               -- 所属板块
    kind        text,                               -- enterprise, university, institute ...
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- An organisation's figures as reported in one year's survey (调研).
CREATE TABLE stpm.org_figures (
    org_id       uuid NOT NULL REFERENCES stpm.orgs(id),
    survey_year  integer NOT NULL CHECK (survey_year BETWEEN 1990 AND 2100),
    rd_spend     numeric(18,4),                     -- 研发投入（万元）
    revenue      numeric(18,4),                     -- 营业收入（万元）
    high_tech    boolean,                           -- 是否高新技术企业
    PRIMARY KEY (org_id, survey_year)
);

-- 项目负责人: a person, known by name within an organisation.
CREATE TABLE stpm.leaders (
    id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id  uuid NOT NULL REFERENCES stpm.orgs(id),
    name    text NOT NULL CHECK (name <> ''),
    UNIQUE (org_id, name)
);

-- Loaded workflow versions; immutable once stored (see the trigger below).
CREATE TABLE stpm.workflows (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    version     integer NOT NULL CHECK (version > 0),
    title       text NOT NULL,
    digest      char(64) NOT NULL,                  -- SHA-256 of the source, hex
    source      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    loaded_by   text NOT NULL DEFAULT session_user,
    UNIQUE (name, version)
);

-- 科技计划: a plan of some level; new projects use the newest version of its workflow.
CREATE TABLE stpm.plans (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code           text NOT NULL UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9]{1,15}$'),
    name           text NOT NULL CHECK (name <> ''),
    level          text NOT NULL CHECK (level IN ('national', 'provincial', 'municipal', 'county')),
    funded         boolean NOT NULL DEFAULT false,  -- 资金类项目
    workflow_name  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- The next serial number of human codes (2021-PKRD-0042) per year and plan.
CREATE TABLE stpm.project_codes (
    year     integer NOT NULL,
    plan_id  uuid NOT NULL REFERENCES stpm.plans(id),
    last     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (year, plan_id)
);

CREATE TABLE stpm.projects (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code              text NOT NULL UNIQUE,
    title             text NOT NULL CHECK (title <> ''),
    org_id            uuid NOT NULL REFERENCES stpm.orgs(id),
    leader_id         uuid NOT NULL REFERENCES stpm.leaders(id),
    plan_id           uuid NOT NULL REFERENCES stpm.plans(id),
    workflow_id       uuid NOT NULL REFERENCES stpm.workflows(id),  -- pinned version
    year              integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    field             text,                                         -- 技术领域
    state             text NOT NULL,
    state_since       date NOT NULL,             -- business date the state was entered
    amount_requested  numeric(18,4) CHECK (amount_requested >= 0),
    amount_approved   numeric(18,4) CHECK (amount_approved >= 0),
    start_date        date,
    due_date          date,
    closed_date       date,
    extensions        integer NOT NULL DEFAULT 0,
    fields            jsonb NOT NULL DEFAULT '{}',  -- the workflow's own fields
    reserve_entry_id  uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    row_version       integer NOT NULL DEFAULT 1  -- optimistic concurrency
);
CREATE INDEX projects_org ON stpm.projects (org_id);
CREATE INDEX projects_leader ON stpm.projects (leader_id);
CREATE INDEX projects_plan_year ON stpm.projects (plan_id, year);
CREATE INDEX projects_state ON stpm.projects (state);
CREATE INDEX projects_year ON stpm.projects (year);
CREATE INDEX projects_title_trgm ON stpm.projects USING gin (title gin_trgm_ops);

-- Attached documents (廉政承诺书, 任务书, reports ...): content kept with its digest.
CREATE TABLE stpm.documents (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL REFERENCES stpm.projects(id),
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
    file_name    text NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    sha256       char(64) NOT NULL,
    content      bytea NOT NULL,
    attached_at  timestamptz NOT NULL DEFAULT now(),
    attached_by  text NOT NULL DEFAULT session_user,
    UNIQUE (project_id, kind, sha256)
);

-- Mid-term and other checks (中期检查), scheduled and done.
CREATE TABLE stpm.checks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id    uuid NOT NULL REFERENCES stpm.projects(id),
    kind          text NOT NULL DEFAULT 'mid_term',
    scheduled_on  date NOT NULL,
    done_on       date,
    outcome       text CHECK (outcome IN ('pass', 'rectify', 'fail')),
    notes         text,
    recorded_by   text NOT NULL DEFAULT session_user,
    CHECK ((done_on IS NULL) = (outcome IS NULL))
);
CREATE INDEX checks_project ON stpm.checks (project_id);

-- 失信名单: an entry applies from valid_from until valid_until (open-ended when NULL),
-- unless lifted.
CREATE TABLE stpm.blacklist (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    uscc         char(18) NOT NULL,
    reason       text NOT NULL CHECK (reason <> ''),
    valid_from   date NOT NULL,
    valid_until  date,
    added_at     timestamptz NOT NULL DEFAULT now(),
    added_by     text NOT NULL DEFAULT session_user,
    lifted_at    timestamptz,
    lifted_by    text,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX blacklist_uscc ON stpm.blacklist (uscc);

-- 回避: an officer (a database role) declared in conflict with an organisation.
CREATE TABLE stpm.conflicts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    officer      text NOT NULL,
    org_id       uuid NOT NULL REFERENCES stpm.orgs(id),
    reason       text NOT NULL CHECK (reason <> ''),
    declared_at  timestamptz NOT NULL DEFAULT now(),
    declared_by  text NOT NULL DEFAULT session_user,
    UNIQUE (officer, org_id)
);

-- One run of `stpm survey import`.
CREATE TABLE stpm.survey_imports (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_year  integer NOT NULL,
    file_name    text NOT NULL,
    file_digest  char(64) NOT NULL,
    rows         integer NOT NULL,
    new          integer NOT NULL,
    updated      integer NOT NULL,
    unchanged    integer NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    imported_by  text NOT NULL DEFAULT session_user
);

-- 储备库: one candidate project from one year's survey, keyed by (year, org, normalised title).
CREATE TABLE stpm.reserve_entries (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_year         integer NOT NULL,
    org_id              uuid NOT NULL REFERENCES stpm.orgs(id),
    title               text NOT NULL,
    title_norm          text NOT NULL,
    field               text,
    target_plan         text,
    leader              text,
    planned_investment  numeric(18,4),
    requested_funding   numeric(18,4),
    rd_spend            numeric(18,4),
    revenue             numeric(18,4),
    high_tech           boolean,
    partner             text,
    maturity            integer CHECK (maturity BETWEEN 1 AND 9),
    notes               text,
    row_digest          char(64) NOT NULL,   -- what the survey said, to see edits
    import_id           uuid NOT NULL REFERENCES stpm.survey_imports(id),
    project_id          uuid REFERENCES stpm.projects(id),  -- once promoted
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (survey_year, org_id, title_norm)
);

ALTER TABLE stpm.projects
    ADD CONSTRAINT projects_reserve_entry FOREIGN KEY (reserve_entry_id)
    REFERENCES stpm.reserve_entries(id);
CREATE UNIQUE INDEX projects_one_promotion ON stpm.projects (reserve_entry_id)
    WHERE reserve_entry_id IS NOT NULL;

-- Annual targets (e.g. 200 applications, 3000 万元 secured), for `report targets`.
CREATE TABLE stpm.targets (
    year    integer NOT NULL,
    metric  text NOT NULL CHECK (metric IN ('applications', 'approvals', 'funded', 'funding')),
    level   text NOT NULL DEFAULT 'all'
            CHECK (level IN ('all', 'national', 'provincial', 'municipal', 'county',
                             'municipal_and_above', 'provincial_and_above')),
    value   numeric(18,4) NOT NULL CHECK (value >= 0),
    PRIMARY KEY (year, metric, level)
);

-- The administrator's additions to the shipped working-day calendar (调休).
CREATE TABLE stpm.calendar_days (
    day      date PRIMARY KEY,
    workday  boolean NOT NULL,
    note     text
);

-- The history. Every change writes one event; the events of one chain (a project, an
-- organisation, the system) form a SHA-256 hash chain computed by the trigger below.
-- Nobody may UPDATE, DELETE or TRUNCATE them.
CREATE TABLE stpm.chain_heads (
    chain  text PRIMARY KEY,
    seq    bigint NOT NULL,
    hash   char(64) NOT NULL
);

CREATE TABLE stpm.events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain       text NOT NULL,             -- 'project:<uuid>', 'org:<uscc>', 'system'
    seq         bigint NOT NULL,
    project_id  uuid REFERENCES stpm.projects(id),
    at          timestamptz NOT NULL DEFAULT now(),
    on_date     date NOT NULL DEFAULT current_date,  -- the business date ("today")
    actor       text NOT NULL DEFAULT session_user,
    kind        text NOT NULL,             -- create, transition, attach, import, promote, admin ...
    transition  text,
    from_state  text,
    to_state    text,
    reason      text,
    data        jsonb NOT NULL DEFAULT '{}',  -- field changes, check evidence, document digests
    prev_hash   char(64) NOT NULL,
    hash        char(64) NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX events_project ON stpm.events (project_id, seq);
CREATE INDEX events_on_date ON stpm.events (on_date);

-- The text an event's hash covers; `audit verify` recomputes it the same way.
CREATE FUNCTION stpm.event_canonical(e stpm.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws(E'\x1f',
        e.chain, e.seq::text, coalesce(e.project_id::text, ''),
        to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.on_date::text, e.actor, e.kind, coalesce(e.transition, ''),
        coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.reason, ''),
        e.data::text, e.prev_hash)
$$;

CREATE FUNCTION stpm.events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
DECLARE
    genesis constant char(64) := repeat('0', 64);
BEGIN
    -- Who and when are the server's to say, never the client's.
    NEW.actor := session_user;
    NEW.at := clock_timestamp();
    -- Take the chain's head under a row lock: concurrent writers queue, the chain never forks.
    INSERT INTO stpm.chain_heads AS h (chain, seq, hash) VALUES (NEW.chain, 0, genesis)
        ON CONFLICT (chain) DO UPDATE SET seq = h.seq
        RETURNING h.seq, h.hash INTO NEW.seq, NEW.prev_hash;
    NEW.seq := NEW.seq + 1;
    NEW.hash := encode(sha256(convert_to(stpm.event_canonical(NEW), 'UTF8')), 'hex');
    UPDATE stpm.chain_heads SET seq = NEW.seq, hash = NEW.hash WHERE chain = NEW.chain;
    RETURN NEW;
END $$;

CREATE TRIGGER events_chain BEFORE INSERT ON stpm.events
    FOR EACH ROW EXECUTE FUNCTION stpm.events_chain();

CREATE FUNCTION stpm.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The history can only grow; record a correction as a new event.';
END $$;

CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON stpm.events
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON stpm.events
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refuse_change();
CREATE TRIGGER workflows_immutable BEFORE UPDATE OR DELETE ON stpm.workflows
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();

-- Signed checkpoints (Ed25519) of all chain heads, for `audit checkpoint` / `audit verify`.
CREATE TABLE stpm.checkpoints (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    made_by     text NOT NULL DEFAULT session_user,
    chains      bigint NOT NULL,
    events      bigint NOT NULL,
    digest      char(64) NOT NULL,     -- SHA-256 over the sorted chain heads
    public_key  text NOT NULL,         -- PEM
    signature   text NOT NULL          -- base64
);
CREATE TRIGGER checkpoints_immutable BEFORE UPDATE OR DELETE ON stpm.checkpoints
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();
