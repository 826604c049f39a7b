-- 080: the history vouches for everything (docs/audit.md, "What verify checks").
--
--   * Every event names the recipe of its canonical text (events.canon): 1 for the events
--     written before this migration (fields joined by U+001F, which a reason may contain,
--     so two different events could share a text), 2 for every event from now on
--     (length-prefixed fields: unambiguous). The trigger that keeps the chain writes 2
--     whatever the client sends; `audit verify` recomputes each event with its recipe.
--   * A workflow version stored before 070 has a `workflow_load` event whose `digest` is
--     the workflow's title (the old client passed the wrong parameter). For every stored
--     version whose load events do not carry its real digest, a `correction` event on the
--     system chain records the wrong value and the real digest; verify accepts a load
--     event corrected that way.
--   * Read-only functions, callable by every group (the auditor included), that compare
--     what the tables say with what the events say: stpm.project_problems() (each
--     project row against its chain), stpm.derived_problems() (project_states,
--     project_facts, report_counts + report_deltas against a rebuild from the events),
--     stpm.document_problems() (each document against its attach event) and
--     stpm.workflow_problems() (each stored version against its load event).

-- ---------------------------------------------------------------------------------------
-- The recipe version. ADD COLUMN with a constant default writes no row: the events there
-- are all read as 1; new ones get 2.
ALTER TABLE stpm.events ADD COLUMN canon smallint NOT NULL DEFAULT 1 CHECK (canon IN (1, 2));
ALTER TABLE stpm.events ALTER COLUMN canon SET DEFAULT 2;

-- One field of recipe 2: NULL is "-", a value is its length in UTF-8 bytes, ":" and the
-- bytes. Nothing a field holds can be read as another field's boundary.
CREATE FUNCTION stpm.canon_field(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN '-'
                ELSE pg_catalog.octet_length(pg_catalog.convert_to(t, 'UTF8'))::text || ':' || t END
$$;

-- Recipe 1 is 050's text, unchanged. Recipe 2: "stpm-event-2" and then, each as
-- stpm.canon_field, chain, seq, project, at (UTC, microseconds), on_date (as 050 prints
-- it), actor, kind, transition, from, to, reason, data (jsonb's text), prev_hash — nulls
-- kept apart from empty texts.
CREATE OR REPLACE FUNCTION stpm.event_canonical(e stpm.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN e.canon = 1 THEN
        pg_catalog.concat_ws(E'\x1f',
            e.chain, e.seq::text, coalesce(e.project_id::text, ''),
            pg_catalog.to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            CASE WHEN pg_catalog.isfinite(e.on_date)
                 THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                      || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
                 ELSE e.on_date::text END,
            e.actor, e.kind, coalesce(e.transition, ''),
            coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.reason, ''),
            e.data::text, e.prev_hash)
    ELSE
        'stpm-event-2'
        || stpm.canon_field(e.chain) || stpm.canon_field(e.seq::text)
        || stpm.canon_field(e.project_id::text)
        || stpm.canon_field(pg_catalog.to_char(e.at AT TIME ZONE 'UTC',
                                               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || stpm.canon_field(CASE WHEN pg_catalog.isfinite(e.on_date)
                 THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                      || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
                 ELSE e.on_date::text END)
        || stpm.canon_field(e.actor) || stpm.canon_field(e.kind)
        || stpm.canon_field(e.transition) || stpm.canon_field(e.from_state)
        || stpm.canon_field(e.to_state) || stpm.canon_field(e.reason)
        || stpm.canon_field(e.data::text) || stpm.canon_field(e.prev_hash::text)
    END
$$;

-- 070's trigger, and every new event is hashed with recipe 2.
CREATE OR REPLACE FUNCTION stpm.events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    genesis constant char(64) := repeat('0', 64);
    last_on date;
    latest date := stpm.latest_business_date();
BEGIN
    -- Who and when are the server's to say, never the client's; so is the recipe.
    NEW.actor := session_user;
    NEW.at := clock_timestamp();
    NEW.canon := 2;
    IF NEW.on_date IS NULL THEN
        NEW.on_date := current_date;
    END IF;
    IF NEW.on_date > latest THEN
        RAISE EXCEPTION 'the business date % is later than the server''s date %',
                NEW.on_date, current_date
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('An event of %s cannot be dated in the future.',
                                  coalesce((SELECT 'project ' || code FROM stpm.projects
                                             WHERE id = NEW.project_id), NEW.chain)),
                  HINT = 'Give a date up to today with --today, or leave it out.';
    END IF;
    -- Take the chain's head under a row lock: concurrent writers queue, the chain never forks.
    INSERT INTO stpm.chain_heads AS h (chain, seq, hash, on_date)
        VALUES (NEW.chain, 0, genesis, NULL)
        ON CONFLICT (chain) DO UPDATE SET seq = h.seq
        RETURNING h.seq, h.hash, h.on_date INTO NEW.seq, NEW.prev_hash, last_on;
    IF last_on IS NOT NULL AND NEW.on_date < last_on AND NEW.chain LIKE 'project:%' THEN
        RAISE EXCEPTION 'the business date % is earlier than %, the date of the last event of %',
                NEW.on_date, last_on,
                coalesce((SELECT 'project ' || code FROM stpm.projects WHERE id = NEW.project_id),
                         NEW.chain)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The history of a project runs forward: an event may not be dated '
                           'before the one that came before it.',
                  HINT = format('Use --today %s or later.', last_on);
    END IF;
    NEW.seq := NEW.seq + 1;
    NEW.hash := encode(sha256(convert_to(stpm.event_canonical(NEW), 'UTF8')), 'hex');
    UPDATE stpm.chain_heads SET seq = NEW.seq, hash = NEW.hash,
           on_date = greatest(coalesce(on_date, NEW.on_date), NEW.on_date)
        WHERE chain = NEW.chain;
    RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------------------
-- The digest a stored workflow version's history vouches for: that of its last
-- `workflow_load` / `workflow_compile` event, unless a later `correction` of that version
-- records the real one. seq is the event that says it (the correction when corrected).
CREATE FUNCTION stpm.workflow_vouched()
RETURNS TABLE (workflow text, version integer, seq bigint, digest text, corrected boolean)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT DISTINCT ON (e.data ->> 'workflow', e.data ->> 'version')
           e.data ->> 'workflow', (e.data ->> 'version')::integer, e.seq,
           CASE e.kind WHEN 'correction' THEN e.data ->> 'digest'
                       ELSE e.data ->> 'digest' END,
           e.kind = 'correction'
      FROM stpm.events e
     WHERE e.chain = 'system'
       AND (e.kind IN ('workflow_load', 'workflow_compile')
            OR (e.kind = 'correction' AND e.data ->> 'corrects' = 'workflow_load'))
       AND e.data ->> 'version' ~ '^[0-9]{1,9}$'
     ORDER BY e.data ->> 'workflow', e.data ->> 'version', e.seq DESC
$$;

-- The correction: every stored version whose load events do not name its real digest.
INSERT INTO stpm.events (chain, kind, reason, data)
SELECT 'system', 'correction',
       'migration 080: the workflow_load event of this version recorded the workflow''s title '
       'where its digest belongs',
       jsonb_build_object('corrects', 'workflow_load', 'workflow', w.name,
                          'version', w.version, 'event_seq', v.seq, 'recorded', v.digest,
                          'digest', encode(sha256(convert_to(w.source, 'UTF8')), 'hex'))
  FROM stpm.workflows w
  LEFT JOIN stpm.workflow_vouched() v ON v.workflow = w.name AND v.version = w.version
 WHERE v.digest IS DISTINCT FROM encode(sha256(convert_to(w.source, 'UTF8')), 'hex')
 ORDER BY w.name, w.version;

-- Each stored version against its history: the source hashes to its digest, and the
-- digest is the one its load event (or that event's correction) records.
CREATE FUNCTION stpm.workflow_problems()
RETURNS TABLE (workflow text, seq bigint, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT w.name || '@' || w.version, v.seq, x.what
      FROM stpm.workflows w
      LEFT JOIN stpm.workflow_vouched() v ON v.workflow = w.name AND v.version = w.version
      CROSS JOIN LATERAL (VALUES
        (CASE WHEN w.digest <> encode(sha256(convert_to(w.source, 'UTF8')), 'hex')
              THEN format('the stored source hashes to %s…, not to its digest column %s…',
                          left(encode(sha256(convert_to(w.source, 'UTF8')), 'hex'), 16),
                          left(w.digest, 16)) END),
        (CASE WHEN v.seq IS NULL
              THEN 'no workflow_load event records this stored version'
              WHEN v.digest IS DISTINCT FROM encode(sha256(convert_to(w.source, 'UTF8')), 'hex')
              THEN format('the stored source hashes to %s…, but its %s event records %s: the '
                          'source or its digest was rewritten',
                          left(encode(sha256(convert_to(w.source, 'UTF8')), 'hex'), 16),
                          CASE WHEN v.corrected THEN 'correction' ELSE 'load' END,
                          coalesce(left(v.digest, 16) || '…', 'no digest')) END)) x(what)
     WHERE x.what IS NOT NULL
    UNION ALL
    SELECT v.workflow || '@' || v.version, v.seq,
           'the history records this version as loaded but it is not stored'
      FROM stpm.workflow_vouched() v
     WHERE NOT EXISTS (SELECT 1 FROM stpm.workflows w
                        WHERE w.name = v.workflow AND w.version = v.version)
$$;

-- ---------------------------------------------------------------------------------------
-- Each document against its attach event: the content hashes to the digest and has the
-- size that an attach event of its project recorded for its kind.
CREATE FUNCTION stpm.document_problems()
RETURNS TABLE (project_code text, seq bigint, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT p.code, a.seq, x.what
      FROM stpm.documents d
      LEFT JOIN stpm.projects p ON p.id = d.project_id
      LEFT JOIN LATERAL (
          SELECT e.seq, e.data FROM stpm.events e
           WHERE e.project_id = d.project_id AND e.kind = 'attach'
             AND e.data ->> 'kind' = d.kind AND e.data ->> 'sha256' = encode(sha256(d.content), 'hex')
           ORDER BY e.seq LIMIT 1) a ON true
      CROSS JOIN LATERAL (VALUES
        (CASE WHEN a.seq IS NULL THEN format(
              'document %s (%s): no attach event of the project records the digest %s… of its '
              'content: the content was replaced', d.kind, d.file_name,
              left(encode(sha256(d.content), 'hex'), 16)) END),
        (CASE WHEN a.seq IS NOT NULL AND d.sha256 <> encode(sha256(d.content), 'hex')
              THEN format('document %s (%s): its digest column %s… is not the digest of its '
                          'content', d.kind, d.file_name, left(d.sha256, 16)) END),
        (CASE WHEN a.seq IS NOT NULL
                   AND (a.data ->> 'size' IS DISTINCT FROM octet_length(d.content)::text
                        OR d.size <> octet_length(d.content))
              THEN format('document %s (%s): %s bytes, the attach event records %s', d.kind,
                          d.file_name, octet_length(d.content), a.data ->> 'size') END)) x(what)
     WHERE x.what IS NOT NULL
    UNION ALL
    -- An attach event whose document is gone.
    SELECT p.code, e.seq, format('document %s (%s, %s…) recorded by this attach event is not '
                                 'stored: it was deleted', e.data ->> 'kind',
                                 e.data ->> 'file_name', left(e.data ->> 'sha256', 16))
      FROM stpm.events e
      LEFT JOIN stpm.projects p ON p.id = e.project_id
     WHERE e.kind = 'attach' AND e.project_id IS NOT NULL AND e.data ? 'sha256'
       AND NOT EXISTS (SELECT 1 FROM stpm.documents d
                        WHERE d.project_id = e.project_id AND d.kind = e.data ->> 'kind'
                          AND d.sha256 = e.data ->> 'sha256')
$$;

-- ---------------------------------------------------------------------------------------
-- A project's values replayed from its chain: per key, [seq, value] of the last event
-- that set it. The keys: every field of data.set (create, transition), and " state",
-- " since" (the state and the day it was entered), " workflow", " version" (the pinned
-- version: of create and transition, migrate's to_version), and of the create event
-- " created", " title", " org", " leader", " plan", " year", " field". (The leading
-- space keeps them apart from field names.) Rows come in (project, seq) order, so
-- jsonb_object_agg's last value of a key is the latest.
CREATE FUNCTION stpm.project_replay()
RETURNS TABLE (project_id uuid, last jsonb)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT e.project_id, jsonb_object_agg(k.key, jsonb_build_array(e.seq, k.value))
      FROM (SELECT x.project_id, x.seq, x.kind, x.to_state, x.on_date, x.data
              FROM stpm.events x
             WHERE x.project_id IS NOT NULL AND x.kind IN ('create', 'transition', 'migrate')
             ORDER BY x.project_id, x.seq) e
      CROSS JOIN LATERAL jsonb_each(
          CASE WHEN e.kind = 'migrate' THEN '{}'::jsonb
               ELSE coalesce(CASE WHEN jsonb_typeof(e.data -> 'set') = 'object'
                                  THEN e.data -> 'set' END, '{}') END
          || jsonb_strip_nulls(jsonb_build_object(
                 ' state', CASE WHEN e.kind <> 'migrate' THEN e.to_state END,
                 ' since', CASE WHEN e.kind <> 'migrate' THEN e.on_date END,
                 ' workflow', e.data -> 'workflow',
                 ' version', CASE WHEN e.kind = 'migrate' THEN e.data -> 'to_version'
                                  ELSE e.data -> 'version' END))
          || CASE WHEN e.kind = 'create' THEN jsonb_build_object(
                 ' created', true, ' title', e.data -> 'title', ' org', e.data -> 'org',
                 ' leader', e.data -> 'leader', ' plan', e.data -> 'plan',
                 ' year', e.data -> 'year', ' field', e.data -> 'field')
             ELSE '{}'::jsonb END) k
     GROUP BY e.project_id
$$;

-- A JSON scalar as text, NULL for JSON null or absent.
CREATE FUNCTION stpm.json_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN NULL ELSE v #>> '{}' END
$$;

-- Each project row against the state replayed from its chain. A column differs when the
-- row's value is not the one the last event that set it recorded; seq names that event
-- (the create event for what only it records, the last event of the chain when nothing
-- recorded a value the row has).
CREATE FUNCTION stpm.project_problems()
RETURNS TABLE (project_code text, seq bigint, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    WITH r AS (SELECT * FROM stpm.project_replay()),
    pr AS (
        SELECT p.*, r.last, w.name AS wf_name, w.version AS wf_version, o.uscc, l.name AS leader,
               pl.code AS plan_code
          FROM stpm.projects p
          LEFT JOIN r ON r.project_id = p.id
          LEFT JOIN stpm.workflows w ON w.id = p.workflow_id
          LEFT JOIN stpm.orgs o ON o.id = p.org_id
          LEFT JOIN stpm.leaders l ON l.id = p.leader_id
          LEFT JOIN stpm.plans pl ON pl.id = p.plan_id
    ),
    cols AS (
        SELECT x.code, x.last, c.col, c.have, c.want, c.wseq
          FROM pr x
          CROSS JOIN LATERAL (VALUES
            ('state', x.state, x.last -> ' state' ->> 1, x.last -> ' state' -> 0),
            ('state_since', to_char(x.state_since, 'YYYY-MM-DD'), x.last -> ' since' ->> 1,
             x.last -> ' since' -> 0),
            ('workflow version', x.wf_name || '@' || x.wf_version,
             (x.last -> ' workflow' ->> 1) || '@' || (x.last -> ' version' ->> 1),
             greatest(x.last -> ' workflow' -> 0, x.last -> ' version' -> 0)),
            ('title', x.title, x.last -> ' title' ->> 1, x.last -> ' created' -> 0),
            ('org', x.uscc::text, x.last -> ' org' ->> 1, x.last -> ' created' -> 0),
            ('leader', x.leader, x.last -> ' leader' ->> 1, x.last -> ' created' -> 0),
            ('plan', x.plan_code, x.last -> ' plan' ->> 1, x.last -> ' created' -> 0),
            ('year', x.year::text, x.last -> ' year' ->> 1, x.last -> ' created' -> 0),
            ('field', x.field, stpm.json_text(x.last -> ' field' -> 1), x.last -> ' created' -> 0),
            ('amount_requested', x.amount_requested::text,
             stpm.json_text(x.last -> 'amount_requested' -> 1), x.last -> 'amount_requested' -> 0),
            ('amount_approved', x.amount_approved::text,
             stpm.json_text(x.last -> 'amount_approved' -> 1), x.last -> 'amount_approved' -> 0),
            ('start_date', to_char(x.start_date, 'YYYY-MM-DD'),
             stpm.json_text(x.last -> 'start_date' -> 1), x.last -> 'start_date' -> 0),
            ('due_date', to_char(x.due_date, 'YYYY-MM-DD'),
             stpm.json_text(x.last -> 'due_date' -> 1), x.last -> 'due_date' -> 0),
            ('closed_date', to_char(x.closed_date, 'YYYY-MM-DD'),
             stpm.json_text(x.last -> 'closed_date' -> 1), x.last -> 'closed_date' -> 0),
            ('extensions', x.extensions::text,
             coalesce(stpm.json_text(x.last -> 'extensions' -> 1), '0'),
             x.last -> 'extensions' -> 0)) c(col, have, want, wseq)
         WHERE x.last IS NOT NULL
    ),
    fields AS (
        SELECT x.code, x.last, f.key, x.fields -> f.key AS have, x.want -> f.key AS want
          FROM (SELECT y.code, y.last, y.fields,
                       jsonb_strip_nulls(coalesce((
                           SELECT jsonb_object_agg(k.key, k.value -> 1)
                             FROM jsonb_each(y.last) k
                            WHERE k.key NOT LIKE ' %'
                              AND k.key NOT IN ('amount_requested', 'amount_approved',
                                                'start_date', 'due_date', 'closed_date',
                                                'extensions')), '{}')) AS want
                  FROM pr y WHERE y.last IS NOT NULL) x
          CROSS JOIN LATERAL (SELECT jsonb_object_keys(x.fields)
                              UNION SELECT jsonb_object_keys(x.want)) f(key)
         WHERE x.fields IS DISTINCT FROM x.want
    )
    SELECT c.code, coalesce((c.wseq)::bigint, (SELECT max((v.value ->> 0)::bigint)
                                                  FROM jsonb_each(c.last) v)),
           CASE
             WHEN c.col IN ('amount_requested', 'amount_approved')
                  AND c.want ~ '^-?[0-9]+(\.[0-9]+)?$' AND c.have IS NOT NULL
                  AND c.have::numeric = c.want::numeric THEN NULL
             WHEN c.have IS NOT DISTINCT FROM c.want THEN NULL
             WHEN c.wseq IS NULL THEN format('%s is %s in the projects table, but no event of its '
                                             'chain set it', c.col, coalesce(c.have, 'empty'))
             ELSE format('%s is %s in the projects table, but the event that set it last says %s',
                         c.col, coalesce(c.have, 'empty'), coalesce(c.want, 'empty'))
           END
      FROM cols c
     WHERE c.have IS DISTINCT FROM c.want
       AND NOT (c.col IN ('amount_requested', 'amount_approved')
                AND c.want ~ '^-?[0-9]+(\.[0-9]+)?$' AND c.have IS NOT NULL
                AND c.have::numeric = c.want::numeric)
    UNION ALL
    SELECT f.code, coalesce((f.last -> f.key ->> 0)::bigint,
                            (SELECT max((v.value ->> 0)::bigint) FROM jsonb_each(f.last) v)),
           CASE WHEN f.last ? f.key
                THEN format('field %s is %s in the projects table, but the event that set it '
                            'last says %s', f.key, coalesce(f.have::text, 'not set'),
                            coalesce(f.want::text, 'not set'))
                ELSE format('field %s is %s in the projects table, but no event of its chain '
                            'set it', f.key, coalesce(f.have::text, 'not set')) END
      FROM fields f
     WHERE f.have IS DISTINCT FROM f.want
    UNION ALL
    SELECT x.code, NULL::bigint, 'the project has no create event in its chain'
      FROM pr x WHERE x.last IS NULL OR NOT x.last ? ' created'
    UNION ALL
    SELECT 'project:' || r.project_id, NULL::bigint,
           format('the history holds project %s (%s) but the projects table has no row of it',
                  r.project_id, coalesce(r.last -> ' title' ->> 1, 'no title'))
      FROM r WHERE NOT EXISTS (SELECT 1 FROM stpm.projects p WHERE p.id = r.project_id)
$$;

-- ---------------------------------------------------------------------------------------
-- What 040's trigger (project_states, project_facts) and 051's (report_counts with
-- report_deltas) would hold, rebuilt from the events, against what they hold: one row per
-- difference. The facts' descriptive columns (org, plan, level, funded, town, field,
-- amounts) are the trigger's copies of the project row, its plan and its organisation,
-- which stpm.project_problems() checks against the events. The workflow states read are
-- those of the version pinned when each event was written (data.workflow/version), the
-- version pinned now for an event that does not name one. Migration 081 redefines this
-- function with the milestones the workflows declare.
CREATE FUNCTION stpm.derived_problems()
RETURNS TABLE (project_code text, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    WITH ev AS (
        SELECT e.project_id, e.seq, e.kind, e.to_state, e.on_date, e.data,
               ws.closed AS ws_closed, ws.final AS ws_final, ws.due_field,
               row_number() OVER (PARTITION BY e.project_id ORDER BY e.seq) AS n,
               min(e.on_date) OVER (PARTITION BY e.project_id ORDER BY e.seq
                                    ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS to_date
          FROM stpm.events e
          JOIN stpm.projects p ON p.id = e.project_id
          LEFT JOIN stpm.workflows wv ON wv.name = e.data ->> 'workflow'
                AND wv.version::text = e.data ->> 'version'
          LEFT JOIN stpm.workflow_states ws ON ws.workflow_id = coalesce(wv.id, p.workflow_id)
                AND ws.name = e.to_state
         WHERE e.project_id IS NOT NULL AND e.to_state IS NOT NULL
    ),
    states AS (
        SELECT ev.project_id, ev.seq, ev.to_state AS state, ev.on_date AS from_date, ev.to_date,
               CASE WHEN NOT coalesce(ev.ws_closed, false) AND ev.due_field IS NOT NULL THEN
                   (SELECT CASE WHEN x.data -> 'set' ->> ev.due_field ~ '^\d{4}-\d{2}-\d{2}$'
                                THEN (x.data -> 'set' ->> ev.due_field)::date END
                      FROM stpm.events x
                     WHERE x.project_id = ev.project_id AND x.seq <= ev.seq
                       AND x.kind IN ('create', 'transition') AND x.data -> 'set' ? ev.due_field
                     ORDER BY x.seq DESC LIMIT 1)
               END AS due,
               coalesce(ev.ws_closed, false) AS closed
          FROM ev
    ),
    state_diff AS (
        SELECT coalesce(w.project_id, h.project_id) AS project_id,
               coalesce(w.seq, h.seq) AS seq,
               CASE WHEN h.project_id IS NULL THEN 'its row is missing'
                    WHEN w.project_id IS NULL THEN 'the row has no event that entered a state'
                    ELSE concat_ws('; ',
                        CASE WHEN h.state IS DISTINCT FROM w.state
                             THEN format('state %s, the event says %s', h.state, w.state) END,
                        CASE WHEN h.from_date IS DISTINCT FROM w.from_date
                             THEN format('from_date %s, the event says %s', h.from_date, w.from_date) END,
                        CASE WHEN h.to_date IS DISTINCT FROM w.to_date
                             THEN format('to_date %s, the events say %s', coalesce(h.to_date::text, 'none'),
                                         coalesce(w.to_date::text, 'none')) END,
                        CASE WHEN h.due IS DISTINCT FROM w.due
                             THEN format('due %s, the events say %s', coalesce(h.due::text, 'none'),
                                         coalesce(w.due::text, 'none')) END,
                        CASE WHEN h.closed IS DISTINCT FROM w.closed
                             THEN format('closed %s, the workflow says %s', h.closed, w.closed) END)
               END AS what
          FROM states w
          FULL JOIN stpm.project_states h ON h.project_id = w.project_id AND h.seq = w.seq
         WHERE h.project_id IS NULL OR w.project_id IS NULL
            OR (h.state, h.from_date, h.to_date, h.due, h.closed)
               IS DISTINCT FROM (w.state, w.from_date, w.to_date, w.due, w.closed)
    ),
    milestones AS (
        SELECT ev.project_id,
               (array_agg(ev.to_state ORDER BY ev.seq))[1] AS initial,
               (array_agg(ev.to_state ORDER BY ev.seq DESC))[1] AS state,
               (array_agg(CASE WHEN coalesce(ev.ws_closed, false) THEN ev.on_date END
                          ORDER BY ev.seq DESC))[1] AS closed_on,
               (array_agg(CASE WHEN coalesce(ev.ws_closed, false) THEN ev.to_state END
                          ORDER BY ev.seq DESC))[1] AS closed_state,
               array_agg(ev.to_state ORDER BY ev.seq) AS states,
               array_agg(ev.on_date ORDER BY ev.seq) AS dates,
               array_agg(coalesce(ev.ws_final AND NOT ev.ws_closed, false) ORDER BY ev.seq) AS rejection,
               array_agg(jsonb_typeof(ev.data -> 'checks') = 'array'
                         AND jsonb_array_length(CASE WHEN jsonb_typeof(ev.data -> 'checks') = 'array'
                                                     THEN ev.data -> 'checks' END) > 0
                         ORDER BY ev.seq) AS checked,
               array_agg(ev.due_field IS NOT NULL OR coalesce(ev.ws_closed, false) ORDER BY ev.seq)
                   AS approving
          FROM ev GROUP BY ev.project_id
    ),
    facts AS (
        SELECT p.id AS project_id, p.org_id, p.plan_id, p.year, pl.level, pl.funded AS funded_plan,
               o.town, p.field, m.initial, m.state,
               (SELECT min(m.dates[i]) FROM generate_subscripts(m.states, 1) i
                 WHERE i > 1 AND m.states[i] <> m.initial AND NOT m.rejection[i]) AS applied_on,
               (SELECT min(m.dates[i]) FROM generate_subscripts(m.states, 1) i
                 WHERE i > 1 AND coalesce(m.checked[i], false) AND NOT m.rejection[i]) AS admitted_on,
               (SELECT min(m.dates[i]) FROM generate_subscripts(m.states, 1) i
                 WHERE i > 1 AND m.approving[i]) AS approved_on,
               m.closed_on, m.closed_state, p.amount_requested, p.amount_approved
          FROM milestones m
          JOIN stpm.projects p ON p.id = m.project_id
          JOIN stpm.plans pl ON pl.id = p.plan_id
          JOIN stpm.orgs o ON o.id = p.org_id
    ),
    fact_diff AS (
        SELECT coalesce(w.project_id, h.project_id) AS project_id,
               CASE WHEN h.project_id IS NULL THEN 'project_facts: the row is missing'
                    WHEN w.project_id IS NULL
                    THEN 'project_facts: a row for a project with no event that entered a state'
                    ELSE 'project_facts: ' || concat_ws('; ',
                        CASE WHEN (h.org_id, h.plan_id, h.year) IS DISTINCT FROM (w.org_id, w.plan_id, w.year)
                             THEN 'org, plan or year differ from the project row' END,
                        CASE WHEN (h.level, h.funded_plan) IS DISTINCT FROM (w.level, w.funded_plan)
                             THEN format('level %s funded %s, the plan says %s funded %s', h.level,
                                         h.funded_plan, w.level, w.funded_plan) END,
                        CASE WHEN h.town IS DISTINCT FROM w.town
                             THEN format('town %s, the organisation says %s', h.town, w.town) END,
                        CASE WHEN h.field IS DISTINCT FROM w.field
                             THEN format('field %s, the project says %s', h.field, w.field) END,
                        CASE WHEN h.initial IS DISTINCT FROM w.initial
                             THEN format('initial %s, the events say %s', h.initial, w.initial) END,
                        CASE WHEN h.state IS DISTINCT FROM w.state
                             THEN format('state %s, the events say %s', h.state, w.state) END,
                        CASE WHEN h.applied_on IS DISTINCT FROM w.applied_on
                             THEN format('applied_on %s, the events say %s', coalesce(h.applied_on::text, 'none'),
                                         coalesce(w.applied_on::text, 'none')) END,
                        CASE WHEN h.admitted_on IS DISTINCT FROM w.admitted_on
                             THEN format('admitted_on %s, the events say %s', coalesce(h.admitted_on::text, 'none'),
                                         coalesce(w.admitted_on::text, 'none')) END,
                        CASE WHEN h.approved_on IS DISTINCT FROM w.approved_on
                             THEN format('approved_on %s, the events say %s', coalesce(h.approved_on::text, 'none'),
                                         coalesce(w.approved_on::text, 'none')) END,
                        CASE WHEN (h.closed_on, h.closed_state) IS DISTINCT FROM (w.closed_on, w.closed_state)
                             THEN format('closed %s %s, the events say %s %s', coalesce(h.closed_state, 'no'),
                                         coalesce(h.closed_on::text, ''), coalesce(w.closed_state, 'no'),
                                         coalesce(w.closed_on::text, '')) END,
                        CASE WHEN h.amount_requested IS DISTINCT FROM w.amount_requested
                             THEN format('amount_requested %s, the project says %s', h.amount_requested,
                                         w.amount_requested) END,
                        CASE WHEN h.amount_approved IS DISTINCT FROM w.amount_approved
                             THEN format('amount_approved %s, the project says %s', h.amount_approved,
                                         w.amount_approved) END)
               END AS what
          FROM facts w
          FULL JOIN stpm.project_facts h ON h.project_id = w.project_id
         WHERE h.project_id IS NULL OR w.project_id IS NULL
            OR (h.org_id, h.plan_id, h.year, h.level, h.funded_plan, h.town, h.field, h.initial,
                h.state, h.applied_on, h.admitted_on, h.approved_on, h.closed_on, h.closed_state,
                h.amount_requested, h.amount_approved)
               IS DISTINCT FROM
               (w.org_id, w.plan_id, w.year, w.level, w.funded_plan, w.town, w.field, w.initial,
                w.state, w.applied_on, w.admitted_on, w.approved_on, w.closed_on, w.closed_state,
                w.amount_requested, w.amount_approved)
    ),
    -- The counts as the facts rebuilt above give them, and as the tables hold them.
    want_counts AS (
        SELECT (c).year, (c).plan_id, (c).level, (c).town, (c).field, (c).state, (c).applied,
               (c).admitted, (c).approved, (c).funded, (c).closed_state,
               sum((c).projects) AS projects, sum((c).requested) AS requested,
               sum((c).approved_amount) AS approved_amount
          FROM (SELECT stpm.report_counts_row(ROW(f.project_id, f.org_id, f.plan_id, f.year,
                           f.level, f.funded_plan, f.town, f.field, f.initial, f.state,
                           f.applied_on, f.admitted_on, f.approved_on, f.closed_on,
                           f.closed_state, f.amount_requested, f.amount_approved)::stpm.project_facts,
                           1) AS c
                  FROM facts f) x
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ),
    have_counts AS (
        SELECT year, plan_id, level, town, field, state, applied, admitted, approved, funded,
               closed_state, sum(projects) AS projects, sum(requested) AS requested,
               sum(approved_amount) AS approved_amount
          FROM (SELECT * FROM stpm.report_counts UNION ALL SELECT * FROM stpm.report_deltas) u
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
        HAVING sum(projects) <> 0 OR sum(requested) <> 0 OR sum(approved_amount) <> 0
    ),
    count_diff AS (
        SELECT coalesce(w.k, h.k) AS k, coalesce(w.year, h.year) AS year,
               coalesce(w.plan_id, h.plan_id) AS plan_id, coalesce(w.state, h.state) AS state,
               h.projects AS h_projects, w.projects AS w_projects, h.requested AS h_req,
               w.requested AS w_req, h.approved_amount AS h_appr, w.approved_amount AS w_appr
          FROM (SELECT ROW(year, plan_id, level, town, field, state, applied, admitted, approved,
                           funded, closed_state)::text AS k, * FROM want_counts) w
          FULL JOIN (SELECT ROW(year, plan_id, level, town, field, state, applied, admitted,
                                approved, funded, closed_state)::text AS k, * FROM have_counts) h
            ON h.k = w.k
         WHERE (h.projects, h.requested, h.approved_amount)
               IS DISTINCT FROM (w.projects, w.requested, w.approved_amount)
    )
    SELECT p.code, 'project_states seq ' || d.seq || ': ' || d.what
      FROM state_diff d LEFT JOIN stpm.projects p ON p.id = d.project_id
    UNION ALL
    SELECT p.code, d.what
      FROM fact_diff d LEFT JOIN stpm.projects p ON p.id = d.project_id
    UNION ALL
    SELECT NULL::text,
           format('report_counts + report_deltas of %s: %s projects, %s requested, %s approved; '
                  'the events give %s, %s, %s',
                  (SELECT pl.code FROM stpm.plans pl WHERE pl.id = d.plan_id) || ' ' || d.k,
                  coalesce(d.h_projects, 0), coalesce(d.h_req, 0), coalesce(d.h_appr, 0),
                  coalesce(d.w_projects, 0), coalesce(d.w_req, 0), coalesce(d.w_appr, 0))
      FROM count_diff d
$$;

SELECT stpm.door_close();
