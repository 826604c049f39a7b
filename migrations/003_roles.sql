-- 003: the four roles and what each may do (DESIGN §6).
--   stpm_admin    loads workflows and plans, manages users, keeps the blacklist and targets
--   stpm_officer  (项目专管员) imports surveys, creates and advances projects
--   stpm_expert   takes the transitions a workflow gives experts (reviews, checks)
--   stpm_auditor  (审计/纪检) reads everything and changes nothing — enforced here, by grants,
--                 so that not even psql can write
-- Roles are cluster-wide: another database of the same cluster may create them at the
-- same moment, so creation tolerates finding them made.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['stpm_admin', 'stpm_officer', 'stpm_expert', 'stpm_auditor'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END $$;

REVOKE ALL ON SCHEMA stpm FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA stpm FROM PUBLIC;
GRANT USAGE ON SCHEMA stpm TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- Everyone reads everything.
GRANT SELECT ON ALL TABLES IN SCHEMA stpm TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;
ALTER DEFAULT PRIVILEGES IN SCHEMA stpm
    GRANT SELECT ON TABLES TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- The history grows through INSERT only (the trigger keeps the chain; 002 refuses the rest).
GRANT INSERT ON stpm.events TO stpm_admin, stpm_officer, stpm_expert;

-- Project work.
GRANT INSERT, UPDATE ON stpm.projects, stpm.project_codes, stpm.documents, stpm.checks
    TO stpm_officer, stpm_expert, stpm_admin;
GRANT INSERT, UPDATE ON stpm.orgs, stpm.org_figures, stpm.leaders, stpm.reserve_entries
    TO stpm_officer, stpm_admin;
GRANT INSERT ON stpm.survey_imports TO stpm_officer, stpm_admin;
GRANT INSERT, DELETE ON stpm.conflicts TO stpm_officer, stpm_admin;

-- Administration.
GRANT INSERT ON stpm.workflows, stpm.plans, stpm.checkpoints TO stpm_admin;
GRANT UPDATE ON stpm.plans TO stpm_admin;
GRANT INSERT, UPDATE ON stpm.blacklist TO stpm_admin;
GRANT INSERT, UPDATE, DELETE ON stpm.targets, stpm.calendar_days TO stpm_admin;

-- `stpm user add NAME --role ROLE`: an administrator creates a login role in one of the
-- four groups without needing CREATEROLE. The function runs as its owner (the role
-- that applied the migrations) and checks that the caller is an administrator.
CREATE FUNCTION stpm.user_add(p_name text, p_role text, p_password text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
DECLARE
    grp text := 'stpm_' || p_role;
    created boolean := false;
BEGIN
    IF NOT pg_has_role(session_user, 'stpm_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only an administrator may add users'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Connect as a member of stpm_admin.';
    END IF;
    IF p_role NOT IN ('admin', 'officer', 'expert', 'auditor') THEN
        RAISE EXCEPTION 'unknown role "%"', p_role
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The roles are admin, officer, expert and auditor.';
    END IF;
    IF p_name !~ '^[a-z_][a-z0-9_]{0,62}$' OR p_name LIKE 'stpm\_%' OR p_name LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'invalid user name "%"', p_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use lower-case letters, digits and underscores, not starting with stpm_ or pg_.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) THEN
        IF p_password IS NULL THEN
            EXECUTE format('CREATE ROLE %I LOGIN', p_name);
        ELSE
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', p_name, p_password);
        END IF;
        created := true;
    END IF;
    EXECUTE format('GRANT %I TO %I', grp, p_name);
    RETURN created;
END $$;
REVOKE ALL ON FUNCTION stpm.user_add(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.user_add(text, text, text) TO stpm_admin;
