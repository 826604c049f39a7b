-- 100: whether the connected role may take a transition, asked with a plan kept for the
-- session (issue 8, "Figures": one at a time).
--
-- stpm.may_take (070) is an SQL function whose body holds a subquery, so the planner
-- cannot inline it; called from transition_take's plpgsql, each call was a new query and
-- PostgreSQL planned the body anew every time (measured: 0.16 ms of a transition's 2.2 ms
-- of server time, one at a time; 0.04 ms as plpgsql, whose plan is cached). The same
-- answer: whether the session user is a member of stpm_ROLE for any ROLE listed.
CREATE OR REPLACE FUNCTION stpm.may_take(p_roles jsonb) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM jsonb_array_elements_text(p_roles) r
                    WHERE pg_has_role(session_user, 'stpm_' || r, 'MEMBER'));
END $$;

SELECT stpm.door_close();
