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

static uint32_t be32(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The C printing of binary dates and timestamps (audit verify's binary COPY) agrees with
 * the server's: dates with event_canonical's own expression (050), timestamps with the ISO
 * output in UTC, across eras, leap days, far years, infinities and a hostile DateStyle. */
/* Two events whose fields split the same characters differently (a U+001F inside one):
 * the same text under recipe 1, different texts under recipe 2. */
static void recipe2_unambiguous(void **state)
{
    (void)state;
    /* from "x␟y", to "z" against from "x", to "y␟z": "…x␟y␟z…" both under recipe 1 */
    const char *a[EV_N_CANONICAL] = {
        "c",  "1",  NULL, "2021-03-01 08:00:00+00", "2021-03-01", "r", "k", NULL, "x\x1fy", "z",
        NULL, "{}", "0"};
    const char *b[EV_N_CANONICAL] = {
        "c",  "1",  NULL, "2021-03-01 08:00:00+00", "2021-03-01", "r", "k", NULL, "x", "y\x1fz",
        NULL, "{}", "0"};
    const char *e[EV_N_CANONICAL] = {
        "c",  "1",  "", "2021-03-01 08:00:00+00", "2021-03-01", "r", "k", NULL, "x\x1fy", "z",
        NULL, "{}", "0"};
    stpm_strbuf sa = STPM_STRBUF_INIT, sb = STPM_STRBUF_INIT;
    assert_true(stpm_chain_canonical(&sa, a, 1));
    assert_true(stpm_chain_canonical(&sb, b, 1));
    assert_int_equal(sa.len, sb.len);
    assert_memory_equal(sa.buf, sb.buf, sa.len);
    assert_true(stpm_chain_canonical(&sa, a, 2));
    assert_true(stpm_chain_canonical(&sb, b, 2));
    assert_false(sa.len == sb.len && memcmp(sa.buf, sb.buf, sa.len) == 0);
    assert_true(stpm_chain_canonical(&sb, e, 2)); /* NULL and '' differ too */
    assert_false(sa.len == sb.len && memcmp(sa.buf, sb.buf, sa.len) == 0);
    assert_false(stpm_chain_canonical(&sb, a, 3));
    stpm_strbuf_free(&sa);
    stpm_strbuf_free(&sb);
}

static void binary_dates_match_sql(void **state)
{
    fixture *fx = *state;
    PGconn *c = PQconnectdb(fx->ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Asia/Shanghai'");
    PQclear(r);
    /* The canonical date through event_canonical itself, on a made-up row. */
    r = PQexecParams(c,
                     "SELECT d, split_part(stpm.event_canonical(ROW(NULL, 'c', 1, NULL,"
                     " '2021-01-01 00:00+00', d, 'a', 'k', NULL, NULL, NULL, NULL, '{}', 'p',"
                     " NULL, 1)::stpm.events), E'\\x1f', 5)"
                     " FROM unnest(ARRAY['2021-03-01', '2000-01-01', '1999-12-31', '2020-02-29',"
                     " '1900-03-01', '0001-01-01', '0044-03-15 BC', '4713-11-24 BC',"
                     " '9999-12-31', '12021-06-30', 'infinity', '-infinity']::date[]) d"
                     " UNION ALL SELECT d::date, split_part(stpm.event_canonical(ROW(NULL, 'c',"
                     " 1, NULL, '2021-01-01 00:00+00', d::date, 'a', 'k', NULL, NULL, NULL, NULL,"
                     " '{}', 'p', NULL, 1)::stpm.events), E'\\x1f', 5)"
                     " FROM generate_series(date '1890-01-01', date '2110-01-01', interval '"
                     "37 days') d",
                     0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) > 2000);
    for (int i = 0; i < PQntuples(r); i++) {
        char out[32];
        size_t n = stpm_chain_date_iso((int32_t)be32(PQgetvalue(r, i, 0)), out);
        assert_int_equal(n, (size_t)PQgetlength(r, i, 1));
        assert_memory_equal(out, PQgetvalue(r, i, 1), n);
    }
    PQclear(r);
    r = PQexec(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'");
    PQclear(r);
    const char *q = "SELECT t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US\"+00\"')"
                    " FROM unnest(ARRAY['2021-03-01 08:00:00.5+08', '2000-01-01 00:00:00+00',"
                    " '1999-12-31 23:59:59.999999+00', '1970-01-01 00:00:00.000001+00',"
                    " '2020-02-29 12:34:56.123456+00', '0001-01-01 00:00:00+00',"
                    " '9999-12-31 23:59:59.999999+00']::timestamptz[]) t"
                    " UNION ALL SELECT t, to_char(t AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD HH24:MI:SS.US\"+00\"') FROM generate_series("
                    "timestamptz '1960-01-01 00:00:00.654321+00', '2080-01-01', '13 days 7 hours"
                    " 3 minutes 1.000017 seconds') t";
    r = PQexecParams(c, q, 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) > 3000);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *v = PQgetvalue(r, i, 0);
        int64_t us = (int64_t)((uint64_t)be32(v) << 32 | be32(v + 4));
        char out[40];
        assert_true(stpm_chain_ts_utc(us, out));
        assert_int_equal(strlen(out), (size_t)PQgetlength(r, i, 1));
        assert_memory_equal(out, PQgetvalue(r, i, 1), strlen(out));
    }
    PQclear(r);
    char out[40];
    assert_false(stpm_chain_ts_utc(INT64_MAX, out));
    assert_false(stpm_chain_ts_utc(INT64_MIN, out));
    PQfinish(c);
}

/* Events written by sessions with a non-ISO DateStyle and a far time zone hash the same
 * canonical text (050), so audit verify reproduces them. */
static void verify_any_session_settings(void **state)
{
    fixture *fx = *state;
    PGconn *c = PQconnectdb(fx->ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    static const char *const setups[] = {
        "SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Asia/Shanghai'",
        ("SET DateStyle = 'German'; SET TimeZone = 'America/St_Johns'; SET IntervalStyle ="
         " 'sql_standard'; SET extra_float_digits = -15; SET bytea_output = 'escape'"),
        "SET DateStyle = 'Postgres, MDY'; SET TimeZone = 'Pacific/Kiritimati'"};
    for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
        PGresult *r = PQexec(c, setups[i]);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        r = PQexec(c, "INSERT INTO stpm.events (chain, on_date, kind, reason, data) VALUES"
                      " ('test:style', '2021-03-04', 'admin', 'dates', '{\"n\": 1.50e0}'),"
                      " ('test:style', '2021-12-31', 'admin', NULL, '{\"f\": 0.1}')");
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    /* What such a session hashed is the ISO date, in recipe 2 (080). */
    PGresult *r =
        PQexec(c, "SELECT count(*) FROM stpm.events WHERE chain = 'test:style' AND"
                  " canon = 2 AND hash = encode(sha256(convert_to('stpm-event-2' ||"
                  " stpm.canon_field(chain) || stpm.canon_field(seq::text) || '-' ||"
                  " stpm.canon_field(to_char(at AT TIME ZONE 'UTC',"
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) || stpm.canon_field(to_char(on_date,"
                  " 'YYYY-MM-DD')) || stpm.canon_field(actor) || stpm.canon_field(kind)"
                  " || '---' || stpm.canon_field(reason) || stpm.canon_field(data::text)"
                  " || stpm.canon_field(prev_hash::text), 'UTF8')), 'hex')");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "6");
    PQclear(r);
    PQfinish(c);
    stpm_audit_verify_result res = STPM_AUDIT_VERIFY_RESULT_INIT;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_audit_verify(fx->db, NULL, &res, &err);
    if (rc != 0 && res.n_kept)
        fprintf(stderr, "# %s %lld: %s\n", res.problems[0].chain, (long long)res.problems[0].seq,
                res.problems[0].what);
    assert_int_equal(rc, 0);
    assert_true(res.events >= 6);
    stpm_audit_verify_result_clear(&res);
    stpm_error_clear(&err);
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
                  " stpm.event_canonical(e), e.canon FROM stpm.events e ORDER BY e.chain, e.seq");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) >= 4);
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *cols[EV_N_CANONICAL];
        for (int j = 0; j < EV_N_CANONICAL; j++)
            cols[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
        assert_true(stpm_chain_canonical(&sb, cols, atoi(PQgetvalue(r, i, EV_HASH + 2))));
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
        cmocka_unit_test(recipe2_unambiguous),
        cmocka_unit_test_setup_teardown(canonical_matches_sql, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(verify_streams_awkward_events, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(binary_dates_match_sql, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(verify_any_session_settings, fx_setup, fx_teardown),
    };
    if (!testdb_cluster()) {
        printf("1..0 # SKIP no test cluster (run the suite through tests/run)\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
