/* The audit module in C: the canonical text and hash of an event computed in C match the
 * SQL trigger's (stpm.event_canonical) byte for byte, also for awkward content (tabs,
 * newlines, backslashes, U+001F, Chinese, NULLs, nested JSON) streamed through COPY; and
 * stpm_audit_verify finds a changed event. A fresh database per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/chain.h"
#include "projfix.h"
#include "store/db_internal.h"
#include "store/digest.h"
#include "stpm/audit.h"

static void at_utc(void **state)
{
    (void)state;
    char out[32];
    assert_true(stpm_chain_at_utc("2021-03-01 08:00:00+00", out));
    assert_string_equal(out, "2021-03-01T08:00:00.000000Z");
    assert_true(stpm_chain_at_utc("2021-03-01 08:00:00.5+00", out));
    assert_string_equal(out, "2021-03-01T08:00:00.500000Z");
    assert_true(stpm_chain_at_utc("2021-12-31 23:59:59.123456+00", out));
    assert_string_equal(out, "2021-12-31T23:59:59.123456Z");
    assert_false(stpm_chain_at_utc("2021-03-01 08:00:00+08", out));
    assert_false(stpm_chain_at_utc("2021-03-01 08:00:00.1234567+00", out));
    assert_false(stpm_chain_at_utc("2021-03-01", out));
    assert_false(stpm_chain_at_utc(NULL, out));
}

/* Events with awkward content on a chain of their own. */
static void insert_awkward(fixture *fx)
{
    fx_sql(fx,
           "INSERT INTO stpm.events (chain, on_date, kind, reason, data) VALUES"
           " ('test:a', '2021-03-01', 'admin', E'tab\\there\\nnewline \\\\ backslash', '{}'),"
           " ('test:a', '2021-03-02', 'admin', NULL, '{\"k\": [1, 2.50, \"如皋\"], \"n\": null}'),"
           " ('test:a', '2021-03-03', 'admin', E'unit\\x1fsep 应结未结', '{\"s\": \"q\\\"uote\"}'),"
           " ('test:b', '2021-03-03', 'transition', '', '{\"a\": {\"b\": {}}}')");
}

static void canonical_matches_sql(void **state)
{
    fixture *fx = *state;
    insert_awkward(fx);
    PGconn *c = PQconnectdb(fx->ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SET TimeZone = 'UTC'");
    PQclear(r);
    r = PQexec(c, "SELECT e.chain, e.seq, e.project_id, e.at, e.on_date, e.actor, e.kind,"
                  " e.transition, e.from_state, e.to_state, e.reason, e.data, e.prev_hash, e.hash,"
                  " stpm.event_canonical(e) FROM stpm.events e ORDER BY e.chain, e.seq");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) >= 4);
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *cols[EV_N_CANONICAL];
        for (int j = 0; j < EV_N_CANONICAL; j++)
            cols[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
        assert_true(stpm_chain_canonical(&sb, cols));
        assert_int_equal(sb.len, (size_t)PQgetlength(r, i, EV_HASH + 1));
        assert_memory_equal(sb.buf, PQgetvalue(r, i, EV_HASH + 1), sb.len);
        char hex[STPM_SHA256_HEX_LEN];
        assert_true(stpm_sha256_hex(sb.buf, sb.len, hex));
        assert_string_equal(hex, PQgetvalue(r, i, EV_HASH));
    }
    stpm_strbuf_free(&sb);
    PQclear(r);
    PQfinish(c);
}

static void verify_streams_awkward_events(void **state)
{
    fixture *fx = *state;
    insert_awkward(fx);
    stpm_audit_verify_result res = STPM_AUDIT_VERIFY_RESULT_INIT;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_audit_verify(fx->db, NULL, &res, &err);
    if (rc != 0 && res.n_kept)
        fprintf(stderr, "# %s %lld: %s\n", res.problems[0].chain, (long long)res.problems[0].seq,
                res.problems[0].what);
    assert_int_equal(rc, 0);
    assert_true(res.events >= 4);
    assert_int_equal(res.n_problems, 0);
    stpm_audit_verify_result_clear(&res);

    /* Change the third event of test:a behind the triggers' back. */
    fx_sql(
        fx,
        "SET session_replication_role = replica;"
        " UPDATE stpm.events SET data = '{\"s\": \"changed\"}' WHERE chain = 'test:a' AND seq = 3;"
        " RESET session_replication_role");
    rc = stpm_audit_verify(fx->db, NULL, &res, &err);
    assert_int_equal(rc, STPM_EREFUSED);
    assert_int_equal(res.n_problems, 1);
    assert_string_equal(res.problems[0].chain, "test:a");
    assert_int_equal(res.problems[0].seq, 3);
    assert_non_null(strstr(res.problems[0].what, "hash mismatch"));
    assert_non_null(strstr(err.message, "does not verify"));
    stpm_audit_verify_result_clear(&res);
    stpm_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(at_utc),
        cmocka_unit_test_setup_teardown(canonical_matches_sql, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(verify_streams_awkward_events, fx_setup, fx_teardown),
    };
    if (!testdb_cluster()) {
        printf("1..0 # SKIP no test cluster (run the suite through tests/run)\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
