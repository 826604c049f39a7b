-- 091: loading a workflow waits a bounded time for another loader of the same name, and
-- the error names who holds it (083's stpm.lock_wait, as every other advisory lock of stpm).
--
-- 081's stpm.workflow_store takes pg_advisory_xact_lock(hashtext('stpm.workflow'),
-- hashtext(name)) with an unbounded wait, and that key, like every advisory key, can be
-- held by any role that may connect: `workflow load` then hung without a word. The body
-- stays as it is, under another name that no login role may call; stpm.workflow_store
-- takes the same key through stpm.lock_wait first, so that the body's own lock is already
-- the session's (advisory locks are re-entrant) and is granted at once.
ALTER FUNCTION stpm.workflow_store(text, integer, text, text, text, jsonb, jsonb)
    RENAME TO workflow_store_body;
REVOKE ALL ON FUNCTION stpm.workflow_store_body(text, integer, text, text, text, jsonb, jsonb)
    FROM PUBLIC, stpm_admin;

CREATE FUNCTION stpm.workflow_store(p_name text, p_version integer, p_title text,
        p_digest text, p_source text, p_states jsonb, p_rules jsonb)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    PERFORM stpm.lock_wait(hashtext('stpm.workflow'), hashtext(p_name), false,
                           format('workflow %s', p_name));
    RETURN stpm.workflow_store_body(p_name, p_version, p_title, p_digest, p_source, p_states,
                                    p_rules);
END $$;
REVOKE ALL ON FUNCTION stpm.workflow_store(text, integer, text, text, text, jsonb, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.workflow_store(text, integer, text, text, text, jsonb, jsonb)
    TO stpm_admin;

SELECT stpm.door_close();
