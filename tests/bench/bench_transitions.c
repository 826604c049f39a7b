/*
 * Transition benchmarks (DESIGN §9), run by tests/bench/run.sh on a throwaway cluster:
 *   setup CONNINFO N          load bench.yaml, make N projects 2021-BNCH-00001.. in state a
 *   one CONNINFO N [TR]       take TR (flip) on projects 1..N one at a time (one
 *                             transaction each)
 *   bulk CONNINFO [TR] [S]    take TR (flip) on every project in state S (a) at once
 * Prints "NAME projects seconds per_second" lines for run.sh to compare.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stpm/project.h"
#include "stpm/wfstore.h"
#include "stpm/workflow.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(stpm_error *err)
{
    fprintf(stderr, "bench: %s\n%s\n", err->message ? err->message : "?",
            err->detail ? err->detail : "");
    return 1;
}

static int setup(stpm_db *db, const char *conninfo, const char *yaml, int n)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_workflow *wf = NULL;
    if (stpm_workflow_load_file(&wf, yaml, &err) < 0 || stpm_wfstore_put(db, wf, NULL, &err) < 0)
        return fail(&err);
    stpm_workflow_free(wf);
    PGconn *c = PQconnectdb(conninfo);
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('BNCH', '基准', "
             "'county', 'bench_flip');"
             "INSERT INTO stpm.orgs (uscc, name) VALUES ('91320682MA1MXXXX9P', '基准公司');"
             "INSERT INTO stpm.leaders (org_id, name) SELECT id, '张三' FROM stpm.orgs;"
             "INSERT INTO stpm.projects (code, title, org_id, leader_id, plan_id, workflow_id, "
             "year, state, state_since) SELECT format('2021-BNCH-%%s', lpad(i::text, 5, '0')), "
             "'基准项目 ' || i, o.id, l.id, pl.id, w.id, 2021, 'a', '2021-03-01' "
             "FROM generate_series(1, %d) i, stpm.orgs o, stpm.leaders l, stpm.plans pl, "
             "stpm.workflows w WHERE w.name = 'bench_flip';"
             "ANALYZE stpm.projects;",
             n);
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : 1;
    if (rc)
        fprintf(stderr, "bench: setup: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_transitions setup|one|bulk CONNINFO [N] [YAML]\n");
        return 2;
    }
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = argv[2];
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_db_open(&db, &o, &err) < 0)
        return fail(&err);
    int n = argc > 3 && strcmp(argv[1], "bulk") != 0 ? atoi(argv[3]) : 1000, rc = 0;
    stpm_advance_options ao = STPM_ADVANCE_OPTIONS_INIT;
    stpm_date_parse("2021-03-02", &ao.today);
    if (strcmp(argv[1], "setup") == 0) {
        rc = setup(db, argv[2], argc > 4 ? argv[4] : "bench.yaml", n);
    } else if (strcmp(argv[1], "one") == 0) {
        double t0 = now();
        for (int i = 1; i <= n && rc == 0; i++) {
            char code[32];
            snprintf(code, sizeof(code), "2021-BNCH-%05d", i);
            if (stpm_project_advance(db, code, argc > 4 ? argv[4] : "flip", &ao, NULL, &err) < 0)
                rc = fail(&err);
        }
        double t = now() - t0;
        printf("one %d %.3f %.1f\n", n, t, n / t);
    } else if (strcmp(argv[1], "bulk") == 0) {
        stpm_project_filter f = STPM_PROJECT_FILTER_INIT;
        stpm_bulk_report rep = STPM_BULK_REPORT_INIT;
        char where[64];
        snprintf(where, sizeof(where), "state=%s plan=BNCH", argc > 4 ? argv[4] : "a");
        if (stpm_project_filter_parse(where, &f, &err) < 0)
            return fail(&err);
        double t0 = now();
        if (stpm_project_advance_where(db, &f, argc > 3 ? argv[3] : "flip", &ao, &rep, &err) < 0)
            rc = fail(&err);
        double t = now() - t0;
        if (rep.n_ok != rep.n) {
            fprintf(stderr, "bench: bulk: %zu of %zu not ok\n", rep.n - rep.n_ok, rep.n);
            rc = 1;
        }
        printf("bulk %zu %.3f %.1f\n", rep.n, t, rep.n / t);
        stpm_bulk_report_clear(&rep);
        stpm_project_filter_clear(&f);
    }
    stpm_error_clear(&err);
    stpm_db_free(db);
    return rc;
}
