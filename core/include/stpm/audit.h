/*
 * stpm — the auditor's view (审计/纪检): projects due but not closed (应结未结) as of any
 * date, projects closed in a period, a project's trail, the verification of the whole
 * hash-chained history, and signed checkpoints of every chain head (DESIGN §6, §7;
 * docs/audit.md).
 *
 * Everything here reads only, except stpm_audit_checkpoint, which writes the checkpoint
 * FILE and, when the connected role may (an administrator), a record in stpm.checkpoints.
 */
#ifndef STPM_AUDIT_H
#define STPM_AUDIT_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"
#include "stpm/rows.h"

/*
 * 应结未结 as of `as_of` (stpm.overdue_as_of, the one definition, docs/audit.md): every
 * project whose state at the end of that day (the to_state of the last event, in chain
 * order, with on_date <= as_of) is not final and either has a `due:` date, in effect that
 * day, before as_of, or carries a deadline it missed earlier and has not made good since
 * (closing, or a new due_date by an extension). Columns: code, title, org, org_name, plan,
 * level, state, due (the deadline missed), days_overdue; most overdue first.
 */
STPM_API int stpm_audit_unclosed(stpm_db *db, stpm_date as_of, stpm_rows **out, stpm_error *err);

/*
 * Projects that entered a closed state (accepted, terminated ...) on a date in [from, to]
 * (either bound may be 0: open) and on or before as_of (the history as it stood at the end
 * of that day). Columns: code, title, org_name, plan, level, state, closed_on, due (the date
 * in effect before closing), on_time.
 */
STPM_API int stpm_audit_closed(stpm_db *db, stpm_date from, stpm_date to, stpm_date as_of,
                               stpm_rows **out, stpm_error *err);

/* One thing `audit verify` found wrong. seq is 0 when it concerns a whole chain (or no
 * event); chain is the chain the event belongs to ("project:UUID", "system", ...), or what
 * the problem is about when no chain is ("report_counts"); code is the project's human
 * code when the problem concerns a project (NULL otherwise). */
typedef struct stpm_audit_problem {
    char *chain;
    int64_t seq;
    char *what;
    char *code;
} stpm_audit_problem;

#define STPM_AUDIT_VERIFY_OPTIONS_VERSION 1

typedef struct stpm_audit_verify_options {
    unsigned version;       /* STPM_AUDIT_VERIFY_OPTIONS_VERSION */
    const char *checkpoint; /* a checkpoint file to check against, or NULL */
    const char *pubkey;     /* a PEM public key the checkpoint must be signed with, or NULL */
} stpm_audit_verify_options;

#define STPM_AUDIT_VERIFY_OPTIONS_INIT                                                             \
    {                                                                                              \
        STPM_AUDIT_VERIFY_OPTIONS_VERSION, NULL, NULL                                              \
    }

/* At most this many problems are kept (all are counted). */
#define STPM_AUDIT_MAX_PROBLEMS 1000

typedef struct stpm_audit_verify_result {
    uint64_t chains;              /* chains walked */
    uint64_t events;              /* events whose hash was recomputed */
    uint64_t checkpoint_heads;    /* heads of the checkpoint checked (0 without one) */
    char *checkpoint_made_at;     /* when the checkpoint was made, or NULL */
    uint64_t n_problems;          /* every problem found */
    stpm_audit_problem *problems; /* the first STPM_AUDIT_MAX_PROBLEMS of them */
    size_t n_kept;
    double seconds; /* wall time of the event walk */
} stpm_audit_verify_result;

#define STPM_AUDIT_VERIFY_RESULT_INIT                                                              \
    {                                                                                              \
        0, 0, 0, NULL, 0, NULL, 0, 0.0                                                             \
    }

STPM_API void stpm_audit_verify_result_clear(stpm_audit_verify_result *r);

/*
 * A project's trail: every event of its chain with full hashes (seq, at, on_date, actor,
 * kind, transition, from_state, to_state, reason, prev_hash, hash, check). Each event's
 * hash is recomputed in C; `check` is "ok" or the first thing wrong with that event.
 * *check receives every problem of the chain (hashes, links, seq 1..n, head): the chain
 * verifies when check->n_problems is 0. Unknown code: STPM_ENOTFOUND.
 */
STPM_API int stpm_audit_trail(stpm_db *db, const char *code, stpm_rows **out,
                              stpm_audit_verify_result *check, stpm_error *err);

/*
 * Recompute every event's hash from its canonical text (the same text as
 * stpm.event_canonical) in C, streaming the events in chain order with COPY, and check
 * every chain's continuity: seq 1..n, each prev_hash the previous hash (the first 64
 * zeros), the head in stpm.chain_heads at the last event with its hash, no head without
 * its event. With opts->checkpoint, also verify the file's Ed25519 signature (and, with
 * opts->pubkey, that it was made with that key) and that every head it records is still
 * in the history with the same hash. Returns 0 when all is well, STPM_EREFUSED when
 * anything was found (result lists it; err says how many and the first), another code
 * when the verification could not run (an unreadable or malformed checkpoint:
 * STPM_EINPUT; a bad signature or another key: STPM_EREFUSED).
 */
STPM_API int stpm_audit_verify(stpm_db *db, const stpm_audit_verify_options *opts,
                               stpm_audit_verify_result *result, stpm_error *err);

/* Write a new Ed25519 private key (PEM, PKCS #8) to path, created with mode 0600 (an
 * existing file is refused: STPM_ECONFLICT), and its public key (PEM) to pub_path
 * unless NULL. */
STPM_API int stpm_audit_keygen(const char *path, const char *pub_path, stpm_error *err);

/* What stpm_audit_checkpoint made. */
typedef struct stpm_audit_checkpoint_info {
    uint64_t chains;
    uint64_t events; /* the sum of the heads' seq */
    char digest[65]; /* SHA-256 of the head lines, hex */
    bool recorded;   /* a row was written to stpm.checkpoints */
} stpm_audit_checkpoint_info;

/*
 * Sign every chain head (chain, seq, hash), read in one consistent snapshot, with the
 * Ed25519 private key in key_path (PEM) and write the checkpoint to out_path (replaced
 * atomically). The file holds the public key, so that `verify --checkpoint` can check it
 * wherever it is kept. When the connected role may insert into stpm.checkpoints (an
 * administrator) the checkpoint is also recorded there; an auditor's checkpoint is not
 * (auditors write nothing in the database) and info->recorded says so.
 */
STPM_API int stpm_audit_checkpoint(stpm_db *db, const char *key_path, const char *out_path,
                                   stpm_audit_checkpoint_info *info, stpm_error *err);

/*
 * Scheduled checks overdue as of `as_of`: open at the end of that day, due before it, the
 * project in a state the check applies in (stpm_project_checks's status overdue).
 * Columns: code, title, org_name, plan, check, label, due, days_late; most days late first.
 */
STPM_API int stpm_audit_checks(stpm_db *db, stpm_date as_of, stpm_rows **out, stpm_error *err);

#endif
