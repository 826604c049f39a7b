/* The canonical text of an event, its hash, and the chain walker: see audit/chain.h. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/chain.h"

static const char genesis[65] = "0000000000000000000000000000000000000000000000000000000000000000";

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool stpm_chain_at_utc(const char *pg, char out[32])
{
    /* "YYYY-MM-DD HH:MM:SS" then optional ".f{1,6}" then "+00" */
    if (!pg || strlen(pg) < 22 || !digits(pg, 4) || pg[4] != '-' || pg[7] != '-' || pg[10] != ' ' ||
        pg[13] != ':' || pg[16] != ':')
        return false;
    const char *p = pg + 19;
    char frac[7] = "000000";
    if (*p == '.') {
        p++;
        size_t n = 0;
        while (p[n] >= '0' && p[n] <= '9')
            n++;
        if (n == 0 || n > 6)
            return false;
        memcpy(frac, p, n);
        p += n;
    }
    if (strcmp(p, "+00") != 0)
        return false;
    memcpy(out, pg, 10);
    out[10] = 'T';
    memcpy(out + 11, pg + 11, 8);
    out[19] = '.';
    memcpy(out + 20, frac, 6);
    out[26] = 'Z';
    out[27] = '\0';
    return true;
}

/* PostgreSQL's j2date (src/backend/utils/adt/datetime.c): Julian day → proleptic
 * Gregorian year (astronomical: 0 is 1 BC), month, day. */
static void j2date(int jd, int *year, int *month, int *day)
{
    unsigned int julian = (unsigned int)jd, quad, extra;
    int y;
    julian += 32044;
    quad = julian / 146097;
    extra = (julian - quad * 146097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146097;
    quad = julian / 1461;
    julian -= quad * 1461;
    y = (int)(julian * 4 / 1461);
    julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
    y += (int)(quad * 4);
    *year = y - 4800;
    quad = julian * 2141 / 65536;
    *day = (int)(julian - 7834 * quad / 256);
    *month = (int)((quad + 10) % 12 + 1);
}

enum { PG_EPOCH_JDATE = 2451545 }; /* Julian day of 2000-01-01 */

size_t stpm_chain_date_iso(int32_t days, char out[32])
{
    int y, m, d, n;
    if (days == INT32_MAX)
        n = snprintf(out, 32, "infinity");
    else if (days == INT32_MIN)
        n = snprintf(out, 32, "-infinity");
    else {
        j2date((int)days + PG_EPOCH_JDATE, &y, &m, &d);
        if (y > 0)
            n = snprintf(out, 32, "%04d-%02d-%02d", y, m, d);
        else
            n = snprintf(out, 32, "%04d-%02d-%02d BC", 1 - y, m, d);
    }
    return n > 0 ? (size_t)n : 0;
}

bool stpm_chain_ts_utc(int64_t usec, char out[40])
{
    const int64_t day_us = INT64_C(86400000000);
    if (usec == INT64_MAX || usec == INT64_MIN)
        return false;
    int64_t days = usec / day_us, t = usec % day_us;
    if (t < 0) {
        t += day_us;
        days--;
    }
    if (days < INT32_MIN + 1 || days > INT32_MAX - PG_EPOCH_JDATE - 1)
        return false;
    int y, m, d;
    j2date((int)days + PG_EPOCH_JDATE, &y, &m, &d);
    if (y < 1 || y > 9999)
        return false;
    int hh = (int)(t / INT64_C(3600000000)), mi = (int)(t / 60000000 % 60),
        ss = (int)(t / 1000000 % 60), us = (int)(t % 1000000);
    snprintf(out, 40, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", y, m, d, hh, mi, ss, us);
    return true;
}

bool stpm_chain_canonical(stpm_strbuf *sb, const char *const cols[EV_N_CANONICAL], int canon)
{
    char at[32], len[24];
    stpm_strbuf_reset(sb);
    if (canon != 1 && canon != 2)
        return false;
    if (canon == 2)
        stpm_strbuf_puts(sb, "stpm-event-2");
    for (int i = 0; i < EV_N_CANONICAL; i++) {
        const char *v = cols[i];
        if (i == EV_AT) {
            if (!stpm_chain_at_utc(cols[i], at))
                return false;
            v = at;
        }
        if (canon == 1) {
            if (i > 0)
                stpm_strbuf_putc(sb, '\x1f');
            if (v)
                stpm_strbuf_puts(sb, v);
        } else if (!v) {
            stpm_strbuf_putc(sb, '-');
        } else {
            size_t n = strlen(v);
            snprintf(len, sizeof(len), "%zu:", n);
            stpm_strbuf_puts(sb, len);
            stpm_strbuf_putn(sb, v, n);
        }
    }
    return !sb->oom;
}

void stpm_audit_add_problem(stpm_audit_verify_result *r, const char *chain, int64_t seq,
                            const char *fmt, ...)
{
    r->n_problems++;
    if (r->n_kept >= STPM_AUDIT_MAX_PROBLEMS)
        return;
    if (!r->problems) {
        r->problems = calloc(STPM_AUDIT_MAX_PROBLEMS, sizeof(*r->problems));
        if (!r->problems)
            return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *what = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    stpm_audit_problem *p = &r->problems[r->n_kept++];
    p->chain = stpm_strdup(chain ? chain : "");
    p->seq = seq;
    p->what = what;
}

bool stpm_chain_walker_init(stpm_chain_walker *w, stpm_audit_verify_result *result)
{
    memset(w, 0, sizeof(*w));
    w->result = result;
    w->text = (stpm_strbuf)STPM_STRBUF_INIT;
    w->md = EVP_MD_CTX_new();
    w->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    return w->md && w->sha256;
}

void stpm_chain_walker_finish(stpm_chain_walker *w)
{
    if (!w->chain)
        return;
    if (w->head_at == 0)
        stpm_audit_add_problem(w->result, w->chain, 0,
                               "chain_heads does not point at the last event (seq %lld): the "
                               "head is missing or forged",
                               (long long)w->last_seq);
    else if (w->head_at != w->last_seq)
        stpm_audit_add_problem(w->result, w->chain, 0,
                               "chain_heads points at seq %lld but the chain goes on to seq %lld: "
                               "events were added behind the trigger's back or the head was "
                               "moved back",
                               (long long)w->head_at, (long long)w->last_seq);
    free(w->chain);
    w->chain = NULL;
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
    static const char x[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[2 * n] = '\0';
}

bool stpm_chain_walker_event(stpm_chain_walker *w, const char *const *cols, bool *ok,
                             const char **what)
{
    *ok = true;
    if (what)
        *what = NULL;
    const char *chain = cols[EV_CHAIN];
    long long seq = cols[EV_SEQ] ? strtoll(cols[EV_SEQ], NULL, 10) : 0;
    size_t before = w->result->n_problems;
    if (!chain)
        chain = "";
    if (!w->chain || strcmp(w->chain, chain) != 0) {
        stpm_chain_walker_finish(w);
        if (!(w->chain = stpm_strdup(chain)))
            return false;
        w->next_seq = 1;
        memcpy(w->prev, genesis, sizeof(w->prev));
        w->head_at = 0;
        w->v2_at = 0;
        w->result->chains++;
    }
    bool gap = false;
    if (seq != w->next_seq) {
        gap = true;
        if (seq == w->next_seq + 1)
            stpm_audit_add_problem(w->result, chain, seq,
                                   "seq %lld missing before this event: an event was deleted",
                                   (long long)w->next_seq);
        else if (seq > w->next_seq)
            stpm_audit_add_problem(
                w->result, chain, seq,
                "seq %lld to %lld missing before this event: events were deleted",
                (long long)w->next_seq, seq - 1);
        else
            stpm_audit_add_problem(w->result, chain, seq, "seq %lld out of order (expected %lld)",
                                   seq, (long long)w->next_seq);
    }
    w->next_seq = seq + 1;

    int canon = cols[EV_CANON] ? atoi(cols[EV_CANON]) : 0;
    if (canon == 2 && w->v2_at == 0)
        w->v2_at = seq;
    else if (canon == 1 && w->v2_at != 0)
        stpm_audit_add_problem(w->result, chain, seq,
                               "hashed with recipe 1 after seq %lld was hashed with recipe 2: "
                               "only events written before migration 080 use recipe 1",
                               (long long)w->v2_at);
    if (canon != 1 && canon != 2) {
        stpm_audit_add_problem(w->result, chain, seq, "unknown canonical recipe %s",
                               cols[EV_CANON] ? cols[EV_CANON] : "(null)");
    } else if (!stpm_chain_canonical(&w->text, cols, canon)) {
        if (w->text.oom)
            return false;
        stpm_audit_add_problem(w->result, chain, seq, "unreadable timestamp \"%s\"",
                               cols[EV_AT] ? cols[EV_AT] : "");
    } else {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char computed[65];
        if (EVP_DigestInit_ex(w->md, w->sha256, NULL) != 1 ||
            EVP_DigestUpdate(w->md, w->text.buf, w->text.len) != 1 ||
            EVP_DigestFinal_ex(w->md, d, &n) != 1 || n != 32)
            return false;
        hex(d, n, computed);
        const char *stored = cols[EV_HASH] ? cols[EV_HASH] : "";
        if (strcmp(stored, computed) != 0)
            stpm_audit_add_problem(w->result, chain, seq,
                                   "hash mismatch: stored %.16s…, recomputed %.16s… from the "
                                   "event's content: the event was changed",
                                   stored, computed);
    }
    const char *prev = cols[EV_PREV_HASH] ? cols[EV_PREV_HASH] : "";
    if (!gap && strcmp(prev, w->prev) != 0)
        stpm_audit_add_problem(w->result, chain, seq,
                               "prev_hash %.16s… does not link to the hash of seq %lld (%.16s…): "
                               "the chain was broken",
                               prev, seq - 1, w->prev);
    if (cols[EV_HASH] && strlen(cols[EV_HASH]) == 64)
        memcpy(w->prev, cols[EV_HASH], 65);
    else
        memset(w->prev, 'x', 64);
    if (cols[EV_HEAD_SEQ]) {
        w->head_at = seq;
        if (!cols[EV_HEAD_HASH] || !cols[EV_HASH] || strcmp(cols[EV_HEAD_HASH], cols[EV_HASH]) != 0)
            stpm_audit_add_problem(w->result, chain, seq,
                                   "chain_heads hash %.16s… differs from the event's hash %.16s…: "
                                   "the head was forged",
                                   cols[EV_HEAD_HASH] ? cols[EV_HEAD_HASH] : "",
                                   cols[EV_HASH] ? cols[EV_HASH] : "");
    }
    w->last_seq = seq;
    w->result->events++;
    if (w->result->n_problems != before) {
        *ok = false;
        if (what && w->result->n_kept > 0 && w->result->n_kept <= STPM_AUDIT_MAX_PROBLEMS &&
            before < STPM_AUDIT_MAX_PROBLEMS)
            *what = w->result->problems[before].what;
    }
    return true;
}

void stpm_chain_walker_free(stpm_chain_walker *w)
{
    EVP_MD_CTX_free(w->md);
    EVP_MD_free(w->sha256);
    stpm_strbuf_free(&w->text);
    free(w->chain);
    memset(w, 0, sizeof(*w));
}

void stpm_audit_verify_result_clear(stpm_audit_verify_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_kept; i++) {
        free(r->problems[i].chain);
        free(r->problems[i].what);
        free(r->problems[i].code);
    }
    free(r->problems);
    free(r->checkpoint_made_at);
    memset(r, 0, sizeof(*r));
}
