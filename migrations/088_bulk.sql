-- 088: bulk forms for officers (issue 13 item 4, docs/commands.md):
--
--   stpm.reserve_promote_many   `reserve promote --where | --from`: many candidates of the
--                               reserve pool into projects under one plan
--   stpm.document_attach_many   `project attach --from DIR`: many documents
--
-- Each item runs in its own subtransaction (a BEGIN ... EXCEPTION block) of one call, so
-- one refused item does not undo the others, the later items see the earlier ones (the
-- year's serial numbers, the documents attached a moment before), and a batch costs one
-- round trip and one commit. The per-item work is the one-item function itself
-- (stpm.reserve_promote of 083, stpm.document_attach of 070), called as the same
-- session_user, so the rules and the records are those of one command per item. Every
-- item's outcome is returned in order: {"entry"/"code", ...} or {"error": {sqlstate,
-- message, detail, hint}}. A serialisation failure, a deadlock, a lock not granted or a
-- lost server fails the whole batch (the client retries it or reports it).

-- p_entries: the entries, in order; the other parameters as stpm.reserve_promote's, the
-- same for every entry, except the sets: each entry's requested funding (申请经费) becomes
-- its project's amount_requested, as `reserve promote ENTRY` does.
CREATE FUNCTION stpm.reserve_promote_many(p_entries uuid[], p_plan text, p_workflow_id uuid,
        p_leader text, p_year integer, p_initial text, p_defaults jsonb, p_on_date date)
RETURNS SETOF jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    amount numeric;
    v_code text;
    res jsonb;
    st text;
    msg text;
    det text;
    hnt text;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may promote candidates',
        'Connect as a member of stpm_officer or stpm_admin.');
    FOR i IN 1..coalesce(array_length(p_entries, 1), 0) LOOP
        BEGIN
            SELECT r.requested_funding INTO amount FROM stpm.reserve_entries r
             WHERE r.id = p_entries[i];
            v_code := stpm.reserve_promote(p_entries[i], p_plan, p_workflow_id, p_leader,
                p_year, p_initial, p_defaults,
                CASE WHEN amount IS NULL THEN '{}'::jsonb
                     ELSE jsonb_build_object('amount_requested', round(amount, 4)) END,
                p_on_date);
            res := jsonb_build_object('entry', p_entries[i], 'code', v_code);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                    det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
            IF st IN ('40P01', '40001', '55P03') OR st LIKE '08%' OR st LIKE '57%'
               OR st LIKE '53%' THEN
                RAISE; -- the whole batch is retried or fails: not one entry's problem
            END IF;
            res := jsonb_build_object('entry', p_entries[i], 'error', jsonb_build_object(
                'sqlstate', st, 'message', msg, 'detail', nullif(det, ''),
                'hint', nullif(hnt, '')));
        END;
        RETURN NEXT res;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION stpm.reserve_promote_many(uuid[], text, uuid, text, integer, text,
                                                 jsonb, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.reserve_promote_many(uuid[], text, uuid, text, integer, text,
                                                    jsonb, date) TO stpm_officer, stpm_admin;

-- Documents: item i is (p_codes[i], p_kinds[i], p_names[i], p_contents[i]), all dated
-- p_on_date. Returns {"code", "kind", "id", "sha256", "is_new"} per document, or the error.
CREATE FUNCTION stpm.document_attach_many(p_codes text[], p_kinds text[], p_names text[],
        p_contents bytea[], p_on_date date)
RETURNS SETOF jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    d record;
    res jsonb;
    st text;
    msg text;
    det text;
    hnt text;
    n integer := coalesce(array_length(p_codes, 1), 0);
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin', 'stpm_expert'],
        format('permission denied: the role %s may not attach documents', session_user),
        'Connect as a member of stpm_officer, stpm_admin or stpm_expert.');
    IF coalesce(array_length(p_kinds, 1), 0) <> n OR coalesce(array_length(p_names, 1), 0) <> n
       OR coalesce(array_length(p_contents, 1), 0) <> n THEN
        RAISE EXCEPTION 'document_attach_many needs as many kinds, names and contents as codes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 1..n LOOP
        BEGIN
            SELECT * INTO d FROM stpm.document_attach(p_codes[i], p_kinds[i], p_names[i],
                                                      p_contents[i], p_on_date);
            res := jsonb_build_object('code', p_codes[i], 'kind', p_kinds[i], 'id', d.id,
                                      'sha256', d.sha256, 'is_new', d.is_new);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                    det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
            IF st IN ('40P01', '40001', '55P03') OR st LIKE '08%' OR st LIKE '57%'
               OR st LIKE '53%' THEN
                RAISE;
            END IF;
            res := jsonb_build_object('code', p_codes[i], 'kind', p_kinds[i],
                'error', jsonb_build_object('sqlstate', st, 'message', msg,
                    'detail', nullif(det, ''), 'hint', nullif(hnt, '')));
        END;
        RETURN NEXT res;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION stpm.document_attach_many(text[], text[], text[], bytea[], date)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.document_attach_many(text[], text[], text[], bytea[], date)
    TO stpm_officer, stpm_admin, stpm_expert;

SELECT stpm.door_close();
