/* stpm audit: unclosed | closed | trail | verify | checkpoint | checks — the auditor's view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "rows.h"
#include "table.h"
#include "stpm/audit.h"

static int cmd_unclosed(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm audit unclosed [--as-of DATE] [--fail-if-any]";
    cli_opt opts[] = {
        CLI_STRING("as-of", 0, "DATE", "the date to look at (default: today)"),
        CLI_FLAG("fail-if-any", 0, "exit 3 when any project is due but unclosed"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0;
    stpm_date as_of = 0;
    if (cli_start(
            ctx, usage,
            _("Projects due but not closed (应结未结) as of a date: their state at the end of that "
              "day,\nreconstructed from the history, has a deadline before it and is not closed."),
            opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    if ((rc = cli_as_of(ctx, opts, &as_of)) != 0)
        goto cleanup;
    if (stpm_audit_unclosed(db, as_of, &rows, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    char d[11];
    if (ctx->format == CLI_FORMAT_TABLE && stpm_rows_count(rows) == 0)
        printf(_("无应结未结项目: no project was due but unclosed on %s\n"),
               stpm_date_format(as_of, d));
    else
        rc = cli_print_rows(ctx, rows, true);
    if (rc == 0 && cli_opt_get(opts, "fail-if-any")->flag && stpm_rows_count(rows) > 0)
        rc = 3;
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_closed(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm audit closed [--from DATE] [--to DATE] [--as-of DATE]";
    cli_opt opts[] = {
        CLI_STRING("from", 0, "DATE", "closed on or after this date"),
        CLI_STRING("to", 0, "DATE", "closed on or before this date"),
        CLI_STRING("as-of", 0, "DATE",
                   "the history as it stood at the end of DATE (default: today)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0;
    bool gf = false, gt = false;
    stpm_date from = 0, to = 0, as_of = 0;
    if (cli_start(
            ctx, usage,
            _("Projects closed (accepted 验收通过, terminated 终止) in a period, with the date and "
              "whether\nthey closed by their deadline."),
            opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    if ((rc = cli_date_opt(opts, "from", &from, &gf)) != 0 ||
        (rc = cli_date_opt(opts, "to", &to, &gt)) || (rc = cli_as_of(ctx, opts, &as_of)) != 0)
        goto cleanup;
    if (stpm_audit_closed(db, gf ? from : 0, gt ? to : 0, as_of, &rows, &err) < 0)
        rc = cli_report(&err);
    else
        rc = cli_print_rows(ctx, rows, true);
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static void print_problems_table(const stpm_audit_verify_result *r)
{
    for (size_t i = 0; i < r->n_kept; i++) {
        const stpm_audit_problem *p = &r->problems[i];
        if (p->code)
            printf(_("  project %s"), p->code);
        else
            printf("  %s", p->chain);
        if (p->seq)
            printf(" seq %lld", (long long)p->seq);
        printf(": %s\n", p->what ? p->what : "?");
    }
    if (r->n_problems > r->n_kept)
        printf(_("  ... and %llu more\n"), (unsigned long long)(r->n_problems - r->n_kept));
}

static void print_problems_json(const stpm_audit_verify_result *r)
{
    printf("[");
    for (size_t i = 0; i < r->n_kept; i++) {
        printf("%s{\"chain\": ", i ? ", " : "");
        cli_json_string(stdout, r->problems[i].chain);
        printf(", \"code\": ");
        if (r->problems[i].code)
            cli_json_string(stdout, r->problems[i].code);
        else
            printf("null");
        printf(", \"seq\": %lld, \"what\": ", (long long)r->problems[i].seq);
        cli_json_string(stdout, r->problems[i].what);
        printf("}");
    }
    printf("]");
}

static int cmd_trail(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm audit trail CODE";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    stpm_audit_verify_result check = STPM_AUDIT_VERIFY_RESULT_INIT;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("A project's events with their full hashes, each recomputed, and whether the "
                    "chain verifies."),
                  opts, argc, argv, &args, 1, 1, NULL, &db, &rc) < 0)
        goto cleanup;
    if (stpm_audit_trail(db, args.operands[0], &rows, &check, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    bool ok = check.n_problems == 0;
    if (ctx->format == CLI_FORMAT_JSON) {
        printf("{\"code\": ");
        cli_json_string(stdout, args.operands[0]);
        printf(", \"verified\": %s, \"problems\": ", ok ? "true" : "false");
        print_problems_json(&check);
        printf(", \"events\": ");
        fflush(stdout);
        rc = cli_print_rows(ctx, rows, false);
        printf("}\n");
    } else {
        rc = cli_print_rows(ctx, rows, false);
        if (ctx->format == CLI_FORMAT_TABLE) {
            if (ok) {
                printf(
                    _("chain verifies: %zu events, hashes recomputed, links and head in order\n"),
                    stpm_rows_count(rows));
            } else {
                printf(_("chain does NOT verify: %llu problem%s\n"),
                       (unsigned long long)check.n_problems, check.n_problems == 1 ? "" : "s");
                print_problems_table(&check);
            }
        }
    }
    if (rc == 0 && !ok)
        rc = 3;
cleanup:
    stpm_audit_verify_result_clear(&check);
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_verify(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm audit verify [--checkpoint FILE [--pubkey FILE]]";
    cli_opt opts[] = {
        CLI_STRING("checkpoint", 0, "FILE", "also check the chain heads of this signed checkpoint"),
        CLI_STRING("pubkey", 0, "FILE", "the checkpoint must be signed with this key (PEM)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_audit_verify_result res = STPM_AUDIT_VERIFY_RESULT_INIT;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Recompute every event's hash and check every chain (seq 1..n, links, heads), "
                    "then compare\nevery project row, the derived tables the reports read, every "
                    "document and every stored\nworkflow version with the events; with "
                    "--checkpoint, also that every head it recorded\nis still in the history."),
                  opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    stpm_audit_verify_options o = STPM_AUDIT_VERIFY_OPTIONS_INIT;
    o.checkpoint = cli_opt_get(opts, "checkpoint")->value;
    o.pubkey = cli_opt_get(opts, "pubkey")->value;
    if (o.pubkey && !o.checkpoint) {
        rc = cli_usage_error("--pubkey needs --checkpoint");
        goto cleanup;
    }
    int vr = stpm_audit_verify(db, &o, &res, &err);
    if (vr < 0 && vr != STPM_EREFUSED) {
        rc = cli_report(&err);
        goto cleanup;
    }
    if (vr == STPM_EREFUSED && res.events == 0 && res.n_problems == 0) {
        rc = cli_report(&err); /* the checkpoint itself was refused */
        goto cleanup;
    }
    double rate = res.seconds > 0 ? (double)res.events / res.seconds : 0;
    if (ctx->format == CLI_FORMAT_JSON) {
        printf("{\"verified\": %s, \"chains\": %llu, \"events\": %llu, \"seconds\": %.3f, "
               "\"events_per_second\": %.0f, \"checkpoint_heads\": %llu, \"problem_count\": %llu, "
               "\"problems\": ",
               vr == 0 ? "true" : "false", (unsigned long long)res.chains,
               (unsigned long long)res.events, res.seconds, rate,
               (unsigned long long)res.checkpoint_heads, (unsigned long long)res.n_problems);
        print_problems_json(&res);
        printf("}\n");
    } else {
        printf(_("%s %llu events in %llu chains in %.2f s (%.0f events/s)\n"),
               vr == 0 ? _("verified") : _("checked"), (unsigned long long)res.events,
               (unsigned long long)res.chains, res.seconds, rate);
        if (o.checkpoint)
            printf(_("checkpoint of %s: %llu chain heads checked\n"),
                   res.checkpoint_made_at ? res.checkpoint_made_at : "?",
                   (unsigned long long)res.checkpoint_heads);
        if (vr != 0) {
            printf(_("%llu problem%s:\n"), (unsigned long long)res.n_problems,
                   res.n_problems == 1 ? "" : "s");
            print_problems_table(&res);
        }
    }
    fflush(stdout);
    if (vr != 0)
        rc = cli_report(&err);
cleanup:
    stpm_audit_verify_result_clear(&res);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_checkpoint(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm audit checkpoint --key KEYFILE [--out FILE] [--generate-key]";
    cli_opt opts[] = {
        CLI_STRING("key", 0, "KEYFILE", "the Ed25519 private key (PEM) to sign with"),
        CLI_STRING("out", 0, "FILE",
                   "where to write the checkpoint (keep it outside the database)"),
        CLI_FLAG("generate-key", 0,
                 "first write a new private key to KEYFILE (mode 0600) and its public key to "
                 "KEYFILE.pub"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    char *pub = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Sign every chain head (chain, seq, hash) with an Ed25519 key and write the "
                    "checkpoint\nto FILE, outside the database; `audit verify --checkpoint FILE` "
                    "detects any later\nchange, deletion or truncation of the history it covers."),
                  opts, argc, argv, &args, 0, 0, NULL, NULL, &rc) < 0)
        goto cleanup;
    const char *key = cli_opt_get(opts, "key")->value, *out = cli_opt_get(opts, "out")->value;
    bool gen = cli_opt_get(opts, "generate-key")->flag;
    if (!key || (!out && !gen)) {
        rc = cli_usage_error("audit checkpoint needs --key and --out (or --generate-key)");
        goto cleanup;
    }
    if (gen) {
        size_t n = strlen(key) + 5;
        if (!(pub = malloc(n))) {
            rc = 1;
            goto cleanup;
        }
        snprintf(pub, n, "%s.pub", key);
        if (stpm_audit_keygen(key, pub, &err) < 0) {
            rc = cli_report(&err);
            goto cleanup;
        }
        printf(_("wrote private key %s (mode 0600) and public key %s\n"), key, pub);
    }
    if (!out)
        goto cleanup;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_audit_checkpoint_info info;
    if (stpm_audit_checkpoint(db, key, out, &info, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    printf(_("checkpoint %s: %llu chains, %llu events, digest %.16s…, %s\n"), out,
           (unsigned long long)info.chains, (unsigned long long)info.events, info.digest,
           info.recorded ? _("recorded in stpm.checkpoints")
                         : _("not recorded in the database (read-only role)"));
cleanup:
    free(pub);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_checks(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm audit checks [--as-of DATE] [--fail-if-any]";
    cli_opt opts[] = {
        CLI_STRING("as-of", 0, "DATE", "the date to look at (default: today)"),
        CLI_FLAG("fail-if-any", 0, "exit 3 when any check is overdue"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0;
    stpm_date as_of = 0;
    if (cli_start(ctx, usage,
                  _("Scheduled checks (中期检查) overdue as of a date: due before it, not held, "
                    "the project\nstill in a state the check applies in (docs/audit.md)."),
                  opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    if ((rc = cli_as_of(ctx, opts, &as_of)) != 0)
        goto cleanup;
    if (stpm_audit_checks(db, as_of, &rows, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    char d[11];
    if (ctx->format == CLI_FORMAT_TABLE && stpm_rows_count(rows) == 0)
        printf(_("no scheduled check was overdue on %s\n"), stpm_date_format(as_of, d));
    else
        rc = cli_print_rows(ctx, rows, true);
    if (rc == 0 && cli_opt_get(opts, "fail-if-any")->flag && stpm_rows_count(rows) > 0)
        rc = 3;
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"unclosed", cmd_unclosed, N_("projects due but not closed (应结未结) as of a date")},
    {"closed", cmd_closed, N_("projects closed in a period")},
    {"trail", cmd_trail, N_("a project's events with hashes, verified")},
    {"verify", cmd_verify, N_("verify the whole history (and a checkpoint)")},
    {"checkpoint", cmd_checkpoint, N_("sign every chain head into a file")},
    {"checks", cmd_checks, N_("scheduled checks (中期检查) overdue as of a date")},
    {NULL, NULL, NULL},
};

int cli_cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "audit", NULL, subcommands, NULL, argc, argv);
}
