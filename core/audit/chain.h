/* Internal: the canonical text of an event, its SHA-256, and a walker that checks chains
 * event by event (used by audit verify and audit trail). */
#ifndef STPM_AUDIT_CHAIN_H
#define STPM_AUDIT_CHAIN_H

#include <openssl/evp.h>
#include <stdint.h>

#include "stpm/audit.h"
#include "util/strutil.h"

/* The columns of an event in the order the canonical text joins them, as the server
 * prints them with TimeZone UTC and DateStyle ISO (at: "2021-03-01 08:00:00.5+00"). */
enum {
    EV_CHAIN,
    EV_SEQ,
    EV_PROJECT,
    EV_AT,
    EV_ON_DATE,
    EV_ACTOR,
    EV_KIND,
    EV_TRANSITION,
    EV_FROM,
    EV_TO,
    EV_REASON,
    EV_DATA,
    EV_PREV_HASH,
    EV_N_CANONICAL, /* the columns above make the canonical text */
    EV_HASH = EV_N_CANONICAL,
    EV_HEAD_SEQ,  /* chain_heads.seq when the head points at this event, else NULL */
    EV_HEAD_HASH, /* chain_heads.hash likewise */
    EV_CANON,     /* the recipe of the canonical text (events.canon, 080): "1" or "2" */
    EV_N_COLUMNS
};

/* Rewrite a timestamptz printed in UTC with DateStyle ISO ("YYYY-MM-DD HH:MM:SS[.f]+00")
 * as stpm.event_canonical does ("YYYY-MM-DDTHH:MM:SS.ffffffZ"). false when malformed. */
bool stpm_chain_at_utc(const char *pg, char out[32]);

/* Print a date given as PostgreSQL's binary form (days since 2000-01-01) as DateStyle ISO
 * prints it and stpm.event_canonical (050) writes it: "2021-03-01", "0044-03-15 BC",
 * "infinity", "-infinity". Returns the length written to out. */
size_t stpm_chain_date_iso(int32_t days, char out[32]);

/* Print a timestamptz given as PostgreSQL's binary form (microseconds since 2000-01-01
 * 00:00 UTC) as the server prints it with TimeZone UTC and DateStyle ISO, with all six
 * fractional digits ("2021-03-01 08:00:00.500000+00"), the input of stpm_chain_at_utc.
 * false for infinities and dates before year 1 or after 9999 (which event_canonical
 * could not have hashed in this form). */
bool stpm_chain_ts_utc(int64_t usec, char out[40]);

/* Build the canonical text of an event from its columns (NULL = SQL null) into sb, as
 * stpm.event_canonical (080) does with recipe canon:
 *   1  the columns joined by U+001F, nulls as "" (concat_ws with coalesce; ambiguous when
 *      a column holds U+001F — the events written before 080);
 *   2  "stpm-event-2", then each column as "-" when null, else its length in bytes, ":"
 *      and its bytes.
 * false when `at` is malformed or canon is neither. */
bool stpm_chain_canonical(stpm_strbuf *sb, const char *const cols[EV_N_CANONICAL], int canon);

/* Walks events in chain order and records what is wrong. */
typedef struct stpm_chain_walker {
    EVP_MD_CTX *md;
    EVP_MD *sha256;
    stpm_strbuf text;
    char *chain;      /* the chain being walked */
    int64_t next_seq; /* expected seq */
    char prev[65];    /* the previous event's stored hash */
    int64_t last_seq; /* the last seq seen in the chain */
    int64_t head_at;  /* seq at which chain_heads pointed, 0 when not yet */
    int64_t v2_at;    /* the first seq of the chain hashed with recipe 2, 0 when none yet */
    stpm_audit_verify_result *result;
} stpm_chain_walker;

/* Start a walker that appends to result. false when OpenSSL fails. */
bool stpm_chain_walker_init(stpm_chain_walker *w, stpm_audit_verify_result *result);
/* Check one event (cols[EV_N_COLUMNS]); *ok receives whether this event itself is sound
 * (hash and link); *what (may be NULL) the first problem's text, owned by the walker
 * until the next call. Returns false when memory or OpenSSL fails. */
bool stpm_chain_walker_event(stpm_chain_walker *w, const char *const *cols, bool *ok,
                             const char **what);
/* Finish the last chain (the head check). */
void stpm_chain_walker_finish(stpm_chain_walker *w);
void stpm_chain_walker_free(stpm_chain_walker *w);

/* Record a problem in a result (kept while under the cap; always counted). */
void stpm_audit_add_problem(stpm_audit_verify_result *r, const char *chain, int64_t seq,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
