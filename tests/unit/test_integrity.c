/* Database tests of the integrity admission checks (廉政准入), core/project/integrity.c:
 * each check passing and failing, with its evidence. A fresh database per test. */
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

#include "projfix.h"
#include "stpm/integrity.h"
#include "store/db_internal.h"

#define P1 "00000000-0000-0000-0000-0000000000a1"
#define P2 "00000000-0000-0000-0000-0000000000a2"
#define P3 "00000000-0000-0000-0000-0000000000a3"
#define P4 "00000000-0000-0000-0000-0000000000a4"
#define P5 "00000000-0000-0000-0000-0000000000a5"
#define P6 "00000000-0000-0000-0000-0000000000a6"
#define NOPROJ "00000000-0000-0000-0000-0000000000ff"

static stpm_date D(const char *s)
{
    stpm_date d = 0;
    assert_int_equal(stpm_date_parse(s, &d), 0);
    return d;
}

/* Run a check; asserts it ran, returns passed, leaves the result in *r. */
static bool run_check(stpm_db *db, const char *check, const char *project,
                      const stpm_integrity_params *p, const char *today, stpm_integrity_result *r)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_integrity_result_clear(r);
    int rc = stpm_integrity_run(db, check, project, p, D(today), r, &err);
    if (rc != 0)
        fprintf(stderr, "# %s: %s\n", check, err.message ? err.message : "?");
    assert_int_equal(rc, 0);
    stpm_error_clear(&err);
    assert_non_null(r->summary);
    assert_non_null(r->evidence_json);
    return r->passed;
}

static void commitment(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "基于物联网的智能纺织设备研发", 1, "PKRD", 2021, "applied",
               NULL, NULL);
    assert_false(run_check(fx->db, "integrity_commitment", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, "no integrity commitment"));
    assert_non_null(strstr(r.evidence_json, "\"documents\": []"));
    /* A task book is not a commitment. */
    fx_sql(fx, "INSERT INTO stpm.documents (project_id, kind, file_name, size, sha256, content)"
               " VALUES ('" P1 "', 'task_book', 'rw.pdf', 3, repeat('b', 64), 'abc')");
    assert_false(run_check(fx->db, "integrity_commitment", P1, NULL, "2021-06-01", &r));
    fx_sql(fx, "INSERT INTO stpm.documents (project_id, kind, file_name, size, sha256, content)"
               " VALUES ('" P1 "', 'integrity_commitment', '廉政承诺书.pdf', 3,"
               " repeat('c', 64), 'abc')");
    assert_true(run_check(fx->db, "integrity_commitment", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, "廉政承诺书.pdf"));
    assert_non_null(strstr(r.evidence_json, "\"file_name\": \"廉政承诺书.pdf\""));
    assert_non_null(strstr(r.evidence_json, "cccccccccccccccccccccccccccccccccccccccccccc"));
    assert_non_null(strstr(r.evidence_json, "\"passed\": true"));
    stpm_integrity_result_clear(&r);
}

static void credit_windows(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "智能纺织设备", 1, "PKRD", 2021, "applied", NULL, NULL);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.blacklist (uscc, reason, valid_from, valid_until) VALUES"
             " ('%s', '虚假申报', '2020-05-01', '2023-04-30')",
             fx->uscc[1]);
    fx_sql(fx, sql);
    /* Before, first day, last day, after. */
    assert_true(run_check(fx->db, "credit_clean", P1, NULL, "2020-04-30", &r));
    assert_non_null(strstr(r.summary, "no active blacklist entry"));
    assert_false(run_check(fx->db, "credit_clean", P1, NULL, "2020-05-01", &r));
    assert_non_null(
        strstr(r.summary, "is on the credit blacklist: 虚假申报 (2020-05-01 – 2023-04-30)"));
    assert_non_null(strstr(r.evidence_json, "\"reason\": \"虚假申报\""));
    assert_non_null(strstr(r.evidence_json, "\"valid_until\": \"2023-04-30\""));
    assert_false(run_check(fx->db, "credit_clean", P1, NULL, "2023-04-30", &r));
    assert_true(run_check(fx->db, "credit_clean", P1, NULL, "2023-05-01", &r));
    /* Another org's entry does not count. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.blacklist (uscc, reason, valid_from) VALUES"
             " ('%s', '拖欠', '2015-01-01')",
             fx->uscc[2]);
    fx_sql(fx, sql);
    assert_true(run_check(fx->db, "credit_clean", P1, NULL, "2024-01-01", &r));
    /* An open-ended entry, lifted on 2025-06-01: active until the day before. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.blacklist (uscc, reason, valid_from, lifted_on, lifted_at,"
             " lifted_by) VALUES ('%s', '骗取资金', '2024-03-01', '2025-06-01', now(), 'x')",
             fx->uscc[1]);
    fx_sql(fx, sql);
    assert_false(run_check(fx->db, "credit_clean", P1, NULL, "2025-05-31", &r));
    assert_non_null(strstr(r.summary, "骗取资金 (2024-03-01 – open-ended)"));
    assert_true(run_check(fx->db, "credit_clean", P1, NULL, "2025-06-01", &r));
    assert_non_null(strstr(r.evidence_json, "\"entries\": []"));
    stpm_integrity_result_clear(&r);
}

static void conflict_by_role(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "智能纺织设备", 1, "PKRD", 2021, "applied", NULL, NULL);
    stpm_db *a = fx_connect_as(fx, "officer", "a");
    stpm_db *b = fx_connect_as(fx, "officer", "b");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO stpm.conflicts (officer, org_id, reason) VALUES"
             " ('%s', '" ORG1 "', '配偶任该企业财务总监')",
             stpm_db_role(a));
    fx_sql(fx, sql);
    assert_false(run_check(a, "no_conflict", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, stpm_db_role(a)));
    assert_non_null(strstr(r.summary, "配偶任该企业财务总监"));
    assert_non_null(strstr(r.evidence_json, "\"reason\": \"配偶任该企业财务总监\""));
    assert_true(run_check(b, "no_conflict", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.evidence_json, "\"conflict\": null"));
    assert_non_null(strstr(r.evidence_json, stpm_db_role(b)));
    /* The conflict is with org 1 only. */
    fx_project(fx, P2, "2021-PKRD-0002", "锂电池隔膜", 2, "PKRD", 2021, "applied", NULL, NULL);
    assert_true(run_check(a, "no_conflict", P2, NULL, "2021-06-01", &r));
    stpm_db_free(a);
    stpm_db_free(b);
    stpm_integrity_result_clear(&r);
}

static void duplicates(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "基于物联网的智能纺织设备研发", 1, "PKRD", 2021, "applied",
               NULL, NULL);
    fx_project(fx, P2, "2021-PKRD-0002", "高性能锂电池隔膜材料产业化", 2, "PKRD", 2021, "applied",
               NULL, NULL);
    /* The same title a year earlier does not count. */
    fx_project(fx, P3, "2020-NTSF-0001", "基于物联网的智能纺织设备研发", 2, "NTSF", 2020, "applied",
               NULL, NULL);
    /* Nor does a rejected application of the same year. */
    fx_project(fx, P4, "2021-NTSF-0001", "基于物联网的智能纺织设备研发", 2, "NTSF", 2021,
               "rejected", NULL, NULL);
    stpm_integrity_params p = STPM_INTEGRITY_PARAMS_INIT;
    assert_true(run_check(fx->db, "no_duplicate", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.evidence_json, "\"similar\": []"));
    assert_non_null(strstr(r.evidence_json, "\"threshold\": 0.6"));
    /* A similar title by another org to another plan in the same year. */
    fx_project(fx, P5, "2021-NTSF-0002", "基于物联网的智能纺织设备研发与应用", 2, "NTSF", 2021,
               "applied", NULL, NULL);
    assert_false(run_check(fx->db, "no_duplicate", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, "2021-NTSF-0002"));
    assert_non_null(strstr(r.evidence_json, "\"code\": \"2021-NTSF-0002\""));
    assert_non_null(strstr(r.evidence_json, "\"plan\": \"NTSF\""));
    assert_non_null(strstr(r.evidence_json, "\"score\": "));
    assert_null(strstr(r.evidence_json, "2020-NTSF-0001"));
    assert_null(strstr(r.evidence_json, "2021-NTSF-0001"));
    assert_null(strstr(r.evidence_json, "2021-PKRD-0002"));
    /* Above the score: passes at a stricter threshold. */
    p.has_similarity = true;
    p.similarity = "0.95";
    assert_true(run_check(fx->db, "no_duplicate", P1, &p, "2021-06-01", &r));
    /* A lower threshold finds it again; an unrelated title shares no trigram at all. */
    p.similarity = "0.5";
    assert_false(run_check(fx->db, "no_duplicate", P1, &p, "2021-06-01", &r));
    assert_non_null(strstr(r.evidence_json, "\"threshold\": 0.5"));
    p.similarity = "0.05";
    assert_true(run_check(fx->db, "no_duplicate", P2, &p, "2021-06-01", &r));
    p.similarity = "1.5";
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_integrity_run(fx->db, "no_duplicate", P1, &p, D("2021-06-01"), &r, &err),
                     STPM_EINPUT);
    assert_non_null(strstr(err.message, "similarity"));
    stpm_error_clear(&err);
    stpm_integrity_result_clear(&r);
}

static void duplicates_in_callers_transaction(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "基于物联网的智能纺织设备研发", 1, "PKRD", 2021, "applied",
               NULL, NULL);
    PGconn *c = stpm_db_pg(fx->db);
    PGresult *res = PQexec(c, "BEGIN");
    PQclear(res);
    /* A project inserted in the caller's open transaction is seen. */
    res = PQexec(c, "INSERT INTO stpm.projects (id, code, title, org_id, leader_id, plan_id,"
                    " workflow_id, year, state, state_since) SELECT '" P2 "', '2021-NTSF-0009',"
                    " '基于物联网的智能纺织设备研发', org_id, leader_id, plan_id, workflow_id,"
                    " year, 'applied', '2021-01-01' FROM stpm.projects WHERE id = '" P1 "'");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    assert_false(run_check(fx->db, "no_duplicate", P1, NULL, "2021-06-01", &r));
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
    res = PQexec(c, "ROLLBACK");
    PQclear(res);
    assert_true(run_check(fx->db, "no_duplicate", P1, NULL, "2021-06-01", &r));
    /* Outside a transaction the threshold does not stay behind in the session. */
    res = PQexec(c, "SHOW pg_trgm.similarity_threshold");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "0.3");
    PQclear(res);
    stpm_integrity_result_clear(&r);
}

static void leader_limit(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    stpm_integrity_params p = STPM_INTEGRITY_PARAMS_INIT;
    p.has_max = true;
    p.max = 2;
    fx_project(fx, P1, "2021-PKRD-0001", "新项目", 1, "PKRD", 2021, "applied", NULL, NULL);
    /* Closed, rejected and reserve projects are not active. */
    fx_project(fx, P2, "2019-PKRD-0001", "已验收项目", 1, "PKRD", 2019, "accepted", "2020-12-31",
               "2020-12-01");
    fx_project(fx, P3, "2020-PKRD-0001", "未通过项目", 1, "PKRD", 2020, "rejected", NULL, NULL);
    assert_true(run_check(fx->db, "leader_limit", P1, &p, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, "has 0 other active project(s)"));
    /* max - 1 others: still passes. */
    fx_project(fx, P4, "2020-NTSF-0001", "在研项目一", 1, "NTSF", 2020, "in_progress", "2022-12-31",
               NULL);
    assert_true(run_check(fx->db, "leader_limit", P1, &p, "2021-06-01", &r));
    assert_non_null(strstr(r.evidence_json, "\"count\": 1"));
    assert_non_null(strstr(r.evidence_json, "2020-NTSF-0001"));
    /* max others: refused, naming them. */
    fx_project(fx, P5, "2021-NTSF-0001", "在研项目二", 1, "NTSF", 2021, "approved", "2023-12-31",
               NULL);
    assert_false(run_check(fx->db, "leader_limit", P1, &p, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, "already has 2 active project(s), the limit is 2"));
    assert_non_null(strstr(r.summary, "2020-NTSF-0001, 2021-NTSF-0001"));
    assert_null(strstr(r.evidence_json, "2019-PKRD-0001"));
    assert_non_null(strstr(r.evidence_json, "\"max\": 2"));
    /* The default limit (3) lets it through; another leader's projects never count. */
    assert_true(run_check(fx->db, "leader_limit", P1, NULL, "2021-06-01", &r));
    fx_project(fx, P6, "2021-PKRD-0006", "他人项目", 2, "PKRD", 2021, "applied", NULL, NULL);
    assert_true(run_check(fx->db, "leader_limit", P6, &p, "2021-06-01", &r));
    p.max = 0;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_integrity_run(fx->db, "leader_limit", P1, &p, D("2021-06-01"), &r, &err),
                     STPM_EINPUT);
    stpm_error_clear(&err);
    stpm_integrity_result_clear(&r);
}

static void overdue(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "新项目", 1, "PKRD", 2021, "applied", NULL, NULL);
    fx_project(fx, P2, "2019-PKRD-0001", "在研项目", 1, "PKRD", 2019, "in_progress", "2021-12-31",
               NULL);
    /* Another org's overdue project does not count. */
    fx_project(fx, P3, "2018-PKRD-0001", "他人逾期项目", 2, "PKRD", 2018, "in_progress",
               "2019-12-31", NULL);
    assert_true(run_check(fx->db, "org_no_overdue", P1, NULL, "2021-12-31", &r));
    assert_non_null(strstr(r.summary, "no overdue unclosed project on 2021-12-31"));
    assert_false(run_check(fx->db, "org_no_overdue", P1, NULL, "2022-01-01", &r));
    assert_non_null(strstr(r.summary, "2019-PKRD-0001 (due 2021-12-31)"));
    assert_non_null(strstr(r.evidence_json, "\"due_date\": \"2021-12-31\""));
    assert_null(strstr(r.evidence_json, "2018-PKRD-0001"));
    fx_advance(fx, P2, "accepted", "2022-01-15", "2022-01-15");
    assert_true(run_check(fx->db, "org_no_overdue", P1, NULL, "2022-02-01", &r));
    stpm_integrity_result_clear(&r);
}

static void uscc(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    fx_project(fx, P1, "2021-PKRD-0001", "新项目", 1, "PKRD", 2021, "applied", NULL, NULL);
    fx_project(fx, P2, "2021-PKRD-0002", "新项目二", 3, "PKRD", 2021, "applied", NULL, NULL);
    assert_true(run_check(fx->db, "uscc_valid", P1, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.evidence_json, fx->uscc[1]));
    assert_non_null(strstr(r.evidence_json, "\"reason\": null"));
    assert_false(run_check(fx->db, "uscc_valid", P2, NULL, "2021-06-01", &r));
    assert_non_null(strstr(r.summary, "invalid unified social credit code"));
    assert_non_null(strstr(r.evidence_json, "\"passed\": false"));
    assert_non_null(strstr(r.evidence_json, "check character"));
    stpm_integrity_result_clear(&r);
}

static void bad_calls(void **state)
{
    fixture *fx = *state;
    stpm_integrity_result r = STPM_INTEGRITY_RESULT_INIT;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(
        stpm_integrity_run(fx->db, "no_such_check", NOPROJ, NULL, D("2021-06-01"), &r, &err),
        STPM_EINPUT);
    assert_non_null(strstr(err.message, "no_such_check"));
    assert_null(r.summary);
    stpm_error_clear(&err);
    assert_int_equal(stpm_integrity_run(fx->db, "credit_clean", "2021-PKRD-0001", NULL,
                                        D("2021-06-01"), &r, &err),
                     STPM_EINPUT);
    stpm_error_clear(&err);
    for (const char *const *n = stpm_integrity_names(); *n; n++) {
        assert_true(stpm_integrity_known(*n));
        assert_int_equal(stpm_integrity_run(fx->db, *n, NOPROJ, NULL, D("2021-06-01"), &r, &err),
                         STPM_ENOTFOUND);
        assert_null(r.evidence_json);
        stpm_error_clear(&err);
    }
    assert_false(stpm_integrity_known("credit"));
    assert_true(stpm_integrity_takes_param("no_duplicate", "similarity"));
    assert_true(stpm_integrity_takes_param("leader_limit", "max"));
    assert_false(stpm_integrity_takes_param("credit_clean", "max"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commitment, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(credit_windows, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(conflict_by_role, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(duplicates, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(duplicates_in_callers_transaction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(leader_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(overdue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(uscc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_calls, fx_setup, fx_teardown),
    };
    if (!testdb_cluster()) {
        printf("1..0 # SKIP no test cluster (run the suite through tests/run)\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
