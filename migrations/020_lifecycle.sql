-- 020: what the project lifecycle needs beside 002.
--
-- Each stored workflow version's states, written once when the version is loaded
-- (`stpm workflow load`), so that the server can answer "which projects are overdue"
-- (应结未结) and "which timers are due" without parsing YAML. Like the workflow version
-- itself, the rows are immutable.
CREATE TABLE stpm.workflow_states (
    workflow_id         uuid NOT NULL REFERENCES stpm.workflows(id),
    ord                 integer NOT NULL,          -- display order
    name                text NOT NULL,
    label               text NOT NULL,
    final               boolean NOT NULL DEFAULT false,
    closed              boolean NOT NULL DEFAULT false,
    due_field           text,                      -- `due:` a date field, or NULL
    timeout_n           integer CHECK (timeout_n > 0),
    timeout_unit        text CHECK (timeout_unit IN ('d', 'wd', 'mo', 'y')),
    timeout_transition  text,
    PRIMARY KEY (workflow_id, name),
    CHECK ((timeout_n IS NULL) = (timeout_unit IS NULL)
           AND (timeout_n IS NULL) = (timeout_transition IS NULL))
);
CREATE TRIGGER workflow_states_immutable BEFORE UPDATE OR DELETE ON stpm.workflow_states
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();

GRANT SELECT ON stpm.workflow_states TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;
GRANT INSERT ON stpm.workflow_states TO stpm_admin;

-- The date a project must leave its state by (the state's `due:` field): a built-in date
-- column or a date among the workflow's own fields.
CREATE FUNCTION stpm.project_due(p stpm.projects, due_field text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE due_field
        WHEN 'due_date' THEN p.due_date
        WHEN 'start_date' THEN p.start_date
        WHEN 'closed_date' THEN p.closed_date
        ELSE (p.fields ->> due_field)::date
    END
$$;

-- Timers and state listings look projects up by their pinned version and state.
CREATE INDEX projects_workflow_state ON stpm.projects (workflow_id, state);
