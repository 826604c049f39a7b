-- 086: the officer's agenda (issue 13, docs/agenda.md): who a project is assigned to, and
-- the index that finds the deadlines ahead.
--
--   stpm.project_assignments  the officer (项目专管员) a project is assigned to now: one row
--                             per project, written with its `assign` event on the
--                             project's chain by stpm.project_assign (below), so that the
--                             row is what the last `assign` event says.
--   `stpm agenda --mine`      the projects the connected role acted on (an event of the
--                             project with actor = session_user) or is assigned to.

CREATE TABLE stpm.project_assignments (
    project_id   uuid PRIMARY KEY REFERENCES stpm.projects(id),
    officer      text NOT NULL,          -- a database role, member of stpm_officer
    since        date NOT NULL,          -- the business date of the assignment
    assigned_by  text NOT NULL,
    seq          bigint NOT NULL         -- the `assign` event in the project's chain
);
CREATE INDEX project_assignments_officer ON stpm.project_assignments (officer);

-- Assign the project p_code to the officer p_officer (a role that is a member of
-- stpm_officer): the row and the `assign` event in one transaction. Officers and
-- administrators may assign. Assigning the officer it already has changes nothing and
-- returns false.
CREATE FUNCTION stpm.project_assign(p_code text, p_officer text, p_on_date date)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.projects;
    old text;
    s bigint;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may assign projects',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF stpm.is_blank(p_officer) THEN
        RAISE EXCEPTION 'missing officer' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO p FROM stpm.projects WHERE code = p_code FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'project % does not exist', p_code
            USING ERRCODE = 'no_data_found', HINT = 'List the projects with "stpm project list".';
    END IF;
    PERFORM FROM pg_catalog.pg_roles WHERE rolname = p_officer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" does not exist', p_officer
            USING ERRCODE = 'no_data_found',
                  HINT = 'Give the officer''s database role; "stpm user list" shows them.';
    END IF;
    IF NOT pg_has_role(p_officer, 'stpm_officer', 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" is not an officer', p_officer
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Projects are assigned to members of stpm_officer ("stpm user list").';
    END IF;
    SELECT a.officer INTO old FROM stpm.project_assignments a WHERE a.project_id = p.id;
    IF old = p_officer THEN
        RETURN false;
    END IF;
    INSERT INTO stpm.events (chain, project_id, on_date, kind, data)
    VALUES ('project:' || p.id, p.id, coalesce(p_on_date, current_date), 'assign',
            jsonb_build_object('officer', p_officer, 'from', old))
    RETURNING seq INTO s;
    INSERT INTO stpm.project_assignments (project_id, officer, since, assigned_by, seq)
    VALUES (p.id, p_officer, coalesce(p_on_date, current_date), session_user, s)
    ON CONFLICT (project_id) DO UPDATE
        SET officer = EXCLUDED.officer, since = EXCLUDED.since,
            assigned_by = EXCLUDED.assigned_by, seq = EXCLUDED.seq;
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION stpm.project_assign(text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.project_assign(text, text, date) TO stpm_officer, stpm_admin;

-- The agenda reads the due dates ahead (one range scan over the periods with a due date,
-- whatever the number of projects) and the periods of the states with a timer that
-- contain the day (by state, then by their end: 'infinity' while open).
CREATE INDEX project_states_due_ahead ON stpm.project_states (due)
    INCLUDE (from_date, to_date, project_id, state) WHERE due IS NOT NULL AND NOT final;
CREATE INDEX project_states_by_state ON stpm.project_states
    (state, (coalesce(to_date, 'infinity'::date))) INCLUDE (from_date, project_id);

SELECT stpm.door_close();
