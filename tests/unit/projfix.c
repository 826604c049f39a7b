/* The project-level database fixture: see projfix.h. */
#include "projfix.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stpm/uscc.h"
#if __has_include("stpm/migrate.h")
#define STPM_OPEN_MIGRATES 1 /* stpm_db_open applies the migrations */
#else
#include "util/embedded.h"
#endif

void fx_sql(fixture *fx, const char *sql)
{
    assert_true(testdb_exec(fx->ci, sql));
}

char *fx_conninfo_as(const fixture *fx, const char *role)
{
    size_t n = strlen(fx->ci) + strlen(role) + 8;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s user=%s", fx->ci, role);
    return s;
}

#ifndef STPM_OPEN_MIGRATES
static void apply_migrations(const char *ci)
{
    PGconn *c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    for (size_t i = 0; stpm_migrations[i].name; i++) {
        PGresult *r = PQexec(c, stpm_migrations[i].text);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fprintf(stderr, "# %s: %s", stpm_migrations[i].name, PQerrorMessage(c));
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    PQfinish(c);
}
#endif

int fx_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->ci = testdb_create("proj");
    assert_non_null(fx->ci);
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = fx->ci;
#ifndef STPM_OPEN_MIGRATES
    apply_migrations(fx->ci);
    o.no_migrate = true;
#endif
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_db_open(&fx->db, &o, &err) < 0)
        fprintf(stderr, "# open: %s\n", err.message);
    stpm_error_clear(&err);
    assert_non_null(fx->db);
    assert_int_equal(stpm_uscc_complete("91320682MA1N0Q3B", fx->uscc[1]), 0);
    assert_int_equal(stpm_uscc_complete("91320682MA1P4R7C", fx->uscc[2]), 0);
    assert_int_equal(stpm_uscc_complete("91320682MA1T5U8D", fx->uscc[3]), 0);
    fx->uscc[3][17] = fx->uscc[3][17] == '0' ? '1' : '0'; /* a wrong check character */
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.workflows (id, name, version, title, digest, source) VALUES"
             " ('" WF1 "', 'county_plan', 1, '县级计划', encode(sha256(''), 'hex'), '');"
             "INSERT INTO stpm.events (chain, kind, data) SELECT 'system', 'workflow_load',"
             " jsonb_build_object('workflow', 'county_plan', 'version', 1, 'digest',"
             " encode(sha256(''), 'hex'));"
             /* the states the tests use, with what they count as (migration 081) */
             "INSERT INTO stpm.workflow_states (workflow_id, ord, name, label, final, closed,"
             " due_field, counts_as, active) VALUES"
             " ('" WF1 "', 1, 'reserve', '储备', false, false, NULL, NULL, false),"
             " ('" WF1 "', 2, 'applied', '已申报', false, false, NULL, 'applied', true),"
             " ('" WF1 "', 3, 'approved', '已立项', false, false, 'due_date', 'approved', true),"
             " ('" WF1 "', 4, 'in_progress', '在研', false, false, 'due_date', 'in_progress',"
             " true),"
             " ('" WF1 "', 5, 'accepted', '验收通过', true, true, NULL, 'accepted', false),"
             " ('" WF1 "', 6, 'terminated', '终止', true, true, NULL, 'terminated', false),"
             " ('" WF1 "', 7, 'rejected', '未立项', true, false, NULL, 'rejected', false);"
             "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES"
             " ('PKRD', '如皋市科技计划', 'county', true, 'county_plan'),"
             " ('NTSF', '南通市科技计划', 'municipal', false, 'county_plan');"
             "INSERT INTO stpm.orgs (id, uscc, name, town) VALUES"
             " ('" ORG1 "', '%s', '江苏如皋纺织机械有限公司', '如城'),"
             " ('" ORG2 "', '%s', '如皋新能源材料有限公司', '长江'),"
             " ('" ORG3 "', '%s', '如皋某某科技有限公司', '白蒲');"
             "INSERT INTO stpm.leaders (org_id, name) VALUES ('" ORG1 "', '张三'),"
             " ('" ORG2 "', '李四'), ('" ORG3 "', '王五')",
             fx->uscc[1], fx->uscc[2], fx->uscc[3]);
    fx_sql(fx, sql);
    *state = fx;
    return 0;
}

int fx_teardown(void **state)
{
    fixture *fx = *state;
    stpm_db_free(fx->db);
    char *ci = fx->ci;
    testdb_drop(ci);
    for (int i = 0; i < fx->n_roles; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", fx->roles[i]);
        testdb_exec(testdb_cluster(), sql);
        free(fx->roles[i]);
    }
    free(fx);
    return 0;
}

void fx_project(fixture *fx, const char *id, const char *code, const char *title, int org,
                const char *plan, int year, const char *state, const char *due, const char *closed)
{
    static const char *const orgs[] = {NULL, ORG1, ORG2, ORG3};
    char sql[4096], due_s[32], closed_s[32];
    snprintf(due_s, sizeof(due_s), due ? "'%s'" : "NULL", due ? due : "");
    snprintf(closed_s, sizeof(closed_s), closed ? "'%s'" : "NULL", closed ? closed : "");
    /* The row and the event that created it in that state (the derived tables that the
     * checks read, project_states and project_facts, are kept from the events). */
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.projects (id, code, title, org_id, leader_id, plan_id,"
             " workflow_id, year, state, state_since, due_date, closed_date)"
             " SELECT '%s', '%s', '%s', '%s', l.id, p.id, '" WF1 "', %d, '%s', '%d-01-01',"
             " %s, %s FROM stpm.leaders l, stpm.plans p WHERE l.org_id = '%s' AND p.code = '%s';"
             "INSERT INTO stpm.events (chain, project_id, on_date, kind, to_state, data)"
             " VALUES ('project:%s', '%s', '%d-01-01', 'create', '%s',"
             " jsonb_build_object('set', jsonb_strip_nulls(jsonb_build_object('due_date', %s::date,"
             " 'closed_date', %s::date))))",
             id, code, title, orgs[org], year, state, year, due_s, closed_s, orgs[org], plan, id,
             id, year, state, due_s, closed_s);
    fx_sql(fx, sql);
}

void fx_advance(fixture *fx, const char *id, const char *state, const char *on_date,
                const char *closed)
{
    char sql[2048], closed_s[32];
    snprintf(closed_s, sizeof(closed_s), closed ? "'%s'" : "NULL", closed ? closed : "");
    snprintf(sql, sizeof(sql),
             "UPDATE stpm.projects SET state = '%s', state_since = '%s',"
             " closed_date = coalesce(%s::date, closed_date) WHERE id = '%s';"
             "INSERT INTO stpm.events (chain, project_id, on_date, kind, to_state, data)"
             " VALUES ('project:%s', '%s', '%s', 'transition', '%s',"
             " jsonb_build_object('set', jsonb_strip_nulls(jsonb_build_object('closed_date',"
             " %s::date))))",
             state, on_date, closed_s, id, id, id, on_date, state, closed_s);
    fx_sql(fx, sql);
}

stpm_db *fx_connect_as(fixture *fx, const char *group, const char *tag)
{
    assert_true(fx->n_roles < 8);
    char name[64], sql[256];
    snprintf(name, sizeof(name), "t_%s_%ld_%d", tag, (long)getpid(), fx->n_roles);
    snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN IN ROLE stpm_%s", name,
             name, group);
    fx_sql(fx, sql);
    fx->roles[fx->n_roles] = strdup(name);
    assert_non_null(fx->roles[fx->n_roles]);
    fx->n_roles++;
    char *ci = fx_conninfo_as(fx, name);
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = ci;
    o.no_migrate = true;
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_db_open(&db, &o, &err) < 0)
        fprintf(stderr, "# open as %s: %s\n", name, err.message);
    stpm_error_clear(&err);
    free(ci);
    assert_non_null(db);
    return db;
}
