/* Unit tests of the workflow loader and validator: a good file, and every validation rule
 * with a broken text that triggers it at the exact LINE:COL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/workflow.h"

#define GOOD                                                                                       \
    "workflow: small\n"                                                                            \
    "version: 2\n"                                                                                 \
    "title: 如皋市科技计划（示例）\n"                                                   \
    "initial: reserve\n"                                                                           \
    "states:\n"                                                                                    \
    "  reserve: {label: 储备}\n"                                                                 \
    "  publicized:\n"                                                                              \
    "    label: 公示中\n"                                                                       \
    "    timeout: {after: 5wd, transition: approve}\n"                                             \
    "  in_progress: {label: 在研, due: due_date}\n"                                              \
    "  accepted: {label: 验收通过, final: true, closed: true}\n"                               \
    "  rejected: {label: 未立项, final: true}\n"                                                \
    "fields:\n"                                                                                    \
    "  town: {type: text, label: 所属板块, required_in: [publicized]}\n"                       \
    "  score: {type: integer, default: 60}\n"                                                      \
    "transitions:\n"                                                                               \
    "  publicize:\n"                                                                               \
    "    from: reserve\n"                                                                          \
    "    to: publicized\n"                                                                         \
    "    roles: [officer]\n"                                                                       \
    "    require: {fields: [title], documents: [application_form], reason: false}\n"               \
    "    checks: [credit_clean, {no_duplicate: {similarity: 0.8}}, {leader_limit: {max: 2}}]\n"    \
    "  approve:\n"                                                                                 \
    "    label: 立项\n"                                                                          \
    "    from: publicized\n"                                                                       \
    "    to: in_progress\n"                                                                        \
    "    roles: [officer, admin]\n"                                                                \
    "    set: {start_date: today, due_date: today + 1y, extensions: 0}\n"                          \
    "  reject: {from: [reserve, publicized], to: rejected, roles: admin, require: {reason: "       \
    "true}}\n"                                                                                     \
    "  accept:\n"                                                                                  \
    "    from: in_progress\n"                                                                      \
    "    to: accepted\n"                                                                           \
    "    roles: [expert]\n"                                                                        \
    "    when: today <= due_date + 6mo and score >= 60\n"                                          \
    "    set: {closed_date: today}\n"                                                              \
    "    input: [score, amount_approved]\n"                                                        \
    "documents:\n"                                                                                 \
    "  application_form: {label: 申报书}\n"                                                     \
    "  task_book: 任务书\n"

static void good_file_loads(void **state)
{
    (void)state;
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_workflow_load_text(&wf, "good.yaml", GOOD, strlen(GOOD), &err);
    for (size_t i = 0; i < err.n_diags; i++)
        print_message("%d:%d: %s\n", err.diags[i].line, err.diags[i].col, err.diags[i].message);
    assert_int_equal(rc, 0);
    assert_non_null(wf);
    assert_string_equal(stpm_workflow_name(wf), "small");
    assert_int_equal(stpm_workflow_version(wf), 2);
    assert_string_equal(stpm_workflow_title(wf), "如皋市科技计划（示例）");
    assert_string_equal(stpm_workflow_initial(wf), "reserve");
    assert_int_equal(stpm_workflow_n_states(wf), 5);
    assert_int_equal(stpm_workflow_n_transitions(wf), 4);
    assert_int_equal(strlen(stpm_workflow_digest(wf)), 64);

    const stpm_wf_state *s = stpm_workflow_find_state(wf, "publicized");
    assert_non_null(s);
    assert_true(s->has_timeout);
    assert_int_equal(s->timeout_after.unit, STPM_DUR_WORKDAYS);
    assert_int_equal(s->timeout_after.n, 5);
    assert_string_equal(s->timeout_transition, "approve");
    assert_string_equal(stpm_workflow_find_state(wf, "in_progress")->due, "due_date");
    assert_true(stpm_workflow_find_state(wf, "accepted")->closed);
    assert_false(stpm_workflow_find_state(wf, "rejected")->closed);

    const stpm_wf_field *f = stpm_workflow_find_field(wf, "score");
    assert_non_null(f);
    assert_false(f->builtin);
    assert_true(f->has_default);
    assert_int_equal(f->default_value.u.i, 60);
    f = stpm_workflow_find_field(wf, "town");
    assert_int_equal(f->n_required_in, 1);
    assert_string_equal(f->required_in[0], "publicized");
    assert_true(stpm_workflow_find_field(wf, "due_date")->builtin);
    assert_int_equal(stpm_workflow_n_fields(wf), stpm_workflow_n_builtin_fields() + 2);

    const stpm_wf_transition *t = stpm_workflow_find_transition(wf, "publicize");
    assert_int_equal(t->roles, STPM_ROLE_OFFICER);
    assert_int_equal(t->n_checks, 3);
    assert_int_equal(t->checks[1].kind, STPM_CHECK_NO_DUPLICATE);
    assert_int_equal(t->checks[1].similarity, 8000);
    assert_int_equal(t->checks[2].max, 2);
    assert_string_equal(t->require_documents[0], "application_form");
    t = stpm_workflow_find_transition(wf, "reject");
    assert_int_equal(t->n_from, 2);
    assert_int_equal(t->roles, STPM_ROLE_ADMIN);
    assert_true(t->require_reason);
    t = stpm_workflow_find_transition(wf, "approve");
    assert_string_equal(t->label, "立项");
    assert_int_equal(t->n_set, 3);
    assert_string_equal(t->set[1].field, "due_date");
    assert_string_equal(stpm_expr_source(t->set[1].expr), "today + 1y");
    assert_non_null(stpm_workflow_find_transition(wf, "accept")->when);

    t = stpm_workflow_find_transition(wf, "accept");
    assert_int_equal(t->n_inputs, 2);
    assert_string_equal(t->inputs[0], "score");
    assert_true(stpm_wf_transition_takes_input(t, "amount_approved"));
    assert_false(stpm_wf_transition_takes_input(t, "closed_date"));
    assert_int_equal(stpm_workflow_find_transition(wf, "approve")->n_inputs, 0);

    assert_int_equal(stpm_workflow_n_documents(wf), 2);
    assert_string_equal(stpm_workflow_document(wf, 0)->kind, "application_form");
    assert_string_equal(stpm_workflow_document(wf, 0)->label, "申报书");
    assert_int_equal(stpm_workflow_document(wf, 0)->line, 38);
    assert_string_equal(stpm_workflow_find_document(wf, "task_book")->label, "任务书");
    assert_null(stpm_workflow_find_document(wf, "report"));
    assert_null(stpm_workflow_document(wf, 2));

    f = stpm_workflow_find_field(wf, "state_since");
    assert_non_null(f);
    assert_true(f->builtin);
    assert_false(f->settable);
    assert_int_equal(f->type, STPM_FIELD_DATE);

    /* approve, the timer's transition, has no guard that waits for the timer */
    assert_int_equal(stpm_workflow_n_warnings(wf), 1);
    const stpm_diag *w = stpm_workflow_warning(wf, 0);
    assert_string_equal(w->file, "good.yaml");
    assert_int_equal(w->line, 9);
    assert_int_equal(w->col, 39);
    assert_non_null(strstr(w->message, "warning: "));
    assert_non_null(strstr(w->message, "state \"publicized\""));
    assert_non_null(strstr(w->message, "\"approve\""));
    assert_non_null(strstr(w->message, "when: today >= state_since + 5wd"));
    assert_null(stpm_workflow_warning(wf, 1));

    char *dot = NULL, *mermaid = NULL;
    assert_int_equal(stpm_workflow_graph(wf, STPM_GRAPH_DOT, &dot, &err), 0);
    assert_non_null(
        strstr(dot, "\"publicized\" -> \"in_progress\" [label=\"立项\\napprove\\n(5wd)\""));
    assert_int_equal(stpm_workflow_graph(wf, STPM_GRAPH_MERMAID, &mermaid, &err), 0);
    assert_non_null(strstr(mermaid, "state \"在研\" as in_progress"));
    assert_non_null(strstr(mermaid, "publicized --> in_progress : 立项 approve (timer 5wd)"));
    free(dot);
    free(mermaid);
    stpm_workflow_free(wf);
    stpm_error_clear(&err);
}

/* Replace the first occurrence of `from` in GOOD by `to` and load the result. */
static char *edit(const char *from, const char *to)
{
    const char *base = GOOD;
    const char *p = strstr(base, from);
    assert_non_null(p);
    size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
    return s;
}

/* text must fail to load with a diagnostic at line:col whose message contains `needle`. */
static void expect_diag_text(const char *text, int line, int col, const char *needle)
{
    stpm_workflow *wf = (stpm_workflow *)1;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_workflow_load_text(&wf, "t.yaml", text, strlen(text), &err);
    assert_int_equal(rc, STPM_EINPUT);
    assert_null(wf);
    bool found = false;
    for (size_t i = 0; i < err.n_diags; i++) {
        assert_string_equal(err.diags[i].file, "t.yaml");
        if (err.diags[i].line == line && err.diags[i].col == col &&
            strstr(err.diags[i].message, needle))
            found = true;
    }
    if (!found) {
        print_message("wanted %d:%d: ...%s...\n", line, col, needle);
        for (size_t i = 0; i < err.n_diags; i++)
            print_message("got %d:%d: %s\n", err.diags[i].line, err.diags[i].col,
                          err.diags[i].message);
    }
    assert_true(found);
    stpm_error_clear(&err);
}

static void expect_diag(const char *from, const char *to, int line, int col, const char *needle)
{
    char *s = edit(from, to);
    expect_diag_text(s, line, col, needle);
    free(s);
}

static void structure_errors(void **state)
{
    (void)state;
    expect_diag_text("", 1, 1, "empty");
    expect_diag_text("workflow: [\n", 2, 1, "");
    expect_diag_text("- a\n- b\n", 1, 1, "must be a mapping");
    expect_diag_text("a: 1\n---\nb: 2\n", 2, 1, "one YAML document");
    expect_diag_text("workflow: x\xff\n", 1, 12, "");
    expect_diag("version: 2\n", "version: 2\nversoin: 3\n", 3, 1, "unknown key \"versoin\"");
    expect_diag("version: 2\n", "version: 2\ntitle: again\n", 4, 1, "duplicate key \"title\"");
    expect_diag("version: 2\n", "", 1, 1, "has no \"version\"");
    expect_diag("version: 2", "version: 0", 2, 10, "positive integer");
    expect_diag("version: 2", "version: two", 2, 10, "positive integer");
    expect_diag("workflow: small", "workflow: Small", 1, 11, "not an identifier");
    expect_diag("title: 如皋市科技计划（示例）", "title: ''", 3, 8, "empty");
    expect_diag("title: 如皋市科技计划（示例）", "title: [a]", 3, 8, "single value");
}

static void state_errors(void **state)
{
    (void)state;
    expect_diag("initial: reserve", "initial: draft", 4, 10, "unknown state \"draft\"");
    expect_diag("  reserve: {label: 储备}", "  reserve: {label: 储备, lable: x}", 6, 24,
                "unknown key \"lable\"");
    expect_diag("  reserve: {label: 储备}", "  reserve: {}", 6, 12, "has no \"label\"");
    expect_diag("  rejected: {label: 未立项, final: true}",
                "  rejected: {label: 未立项, final: true}\n  reserve: {label: x}", 13, 3,
                "duplicate key \"reserve\"");
    expect_diag("  reserve: {label: 储备}", "  Reserve: {label: 储备}", 6, 3, "not an identifier");
    expect_diag("final: true, closed", "final: yes, closed", 11, 34, "true or false");
    expect_diag("  rejected: {label: 未立项, final: true}",
                "  rejected: {label: 未立项, closed: true}", 12, 34, "closed but not final");
    expect_diag("due: due_date", "due: town", 10, 33, "not a date");
    expect_diag("due: due_date", "due: deadline", 10, 33, "unknown field \"deadline\"");
    expect_diag("after: 5wd", "after: 5 wd", 9, 22, "bad duration");
    expect_diag("after: 5wd", "after: 0d", 9, 22, "bad duration");
    expect_diag("transition: approve}", "transition: aprove}", 9, 39, "unknown transition");
    expect_diag("transition: approve}", "transition: accept}", 9, 39,
                "timeout transition \"accept\" does not leave state \"publicized\"");
    expect_diag("timeout: {after: 5wd, transition: approve}", "timeout: {after: 5wd}", 9, 14,
                "has no \"transition\"");
}

static void graph_errors(void **state)
{
    (void)state;
    /* unreachable: a state nobody enters */
    expect_diag("  rejected: {label: 未立项, final: true}",
                "  rejected: {label: 未立项, final: true}\n  orphan: {label: 孤立, final: true}",
                13, 3, "cannot be reached");
    /* non-final with no way out */
    expect_diag("  accepted: {label: 验收通过, final: true, closed: true}",
                "  accepted: {label: 验收通过}", 11, 3, "not final but no transition leaves it");
    /* final with a way out */
    char *s =
        edit("  reject: {from: [reserve, publicized]", "  reject: {from: [reserve, rejected]");
    expect_diag_text(s, 12, 3, "is final but 1 transition leaves it");
    free(s);
    expect_diag("    to: publicized", "    to: published", 19, 9,
                "unknown state \"published\" in to");
    expect_diag("    from: reserve", "    from: [reserve, reserve]", 18, 21, "listed twice");
}

static void field_errors(void **state)
{
    (void)state;
    expect_diag("type: integer, default: 60", "type: int, default: 60", 15, 17,
                "unknown field type \"int\"");
    expect_diag("type: integer, default: 60", "type: integer, default: sixty", 15, 35,
                "not a valid integer");
    expect_diag("type: integer, default: 60", "type: date, default: 2021-02-30", 15, 32,
                "not a valid date");
    expect_diag("  score: {", "  title: {type: text}\n  score: {", 15, 3, "built-in field");
    expect_diag("required_in: [publicized]", "required_in: [publicised]", 14, 49,
                "unknown state \"publicised\" in required_in");
    expect_diag("  score: {type: integer, default: 60}", "  score: {type: integer, color: red}", 15,
                26, "unknown key \"color\"");
}

static void transition_errors(void **state)
{
    (void)state;
    expect_diag("    roles: [officer]", "    roles: [officer, boss]", 20, 22,
                "unknown role \"boss\"");
    expect_diag("    roles: [officer]\n", "", 18, 5, "has no \"roles\"");
    expect_diag("    roles: [officer]", "    roles: [officer]\n    chekcs: [credit_clean]", 21, 5,
                "unknown key \"chekcs\"");
    expect_diag("require: {fields: [title]", "require: {fields: [titel]", 21, 24,
                "unknown field \"titel\" in require fields");
    expect_diag("require: {fields: [title]", "require: {filds: [title]", 21, 15,
                "unknown key \"filds\" in require");
    expect_diag("documents: [application_form]", "documents: [申报书]", 21, 44,
                "not an identifier");
    expect_diag("reason: false}", "reason: no}", 21, 71, "true or false");
    expect_diag("checks: [credit_clean", "checks: [credit_cleen", 22, 14, "unknown check");
    expect_diag("checks: [credit_clean", "checks: [credit_clean, credit_clean", 22, 28,
                "listed twice");
    expect_diag("{no_duplicate: {similarity: 0.8}}", "no_duplicate", 22, 28,
                "needs the parameter similarity");
    expect_diag("similarity: 0.8", "similarity: 1.5", 22, 56, "from 0 to 1");
    expect_diag("similarity: 0.8", "threshold: 0.8", 22, 44, "unknown key \"threshold\"");
    expect_diag("{max: 2}", "{max: 0}", 22, 84, "positive integer");
    expect_diag("{max: 2}", "{}", 22, 78, "needs the parameter max");
    expect_diag("checks: [credit_clean", "checks: [{credit_clean: {x: 1}}", 22, 29,
                "takes no parameters");
    expect_diag("  reject: {from: [reserve, publicized], to: rejected, roles: admin,",
                "  reject: {from: [reserve, publicized], roles: admin,", 29, 11, "has no \"to\"");
    expect_diag("    set: {closed_date: today}", "    set: {closed: today}", 35, 11,
                "unknown field \"closed\" in set");
    expect_diag("    set: {closed_date: today}", "    set: {year: 2022}", 35, 11,
                "built-in field \"year\" cannot be set");
    expect_diag("    set: {closed_date: today}",
                "    set: {closed_date: today, closed_date: today}", 35, 31,
                "duplicate key \"closed_date\"");
}

static void expression_errors(void **state)
{
    (void)state;
    /* plain scalar: column of the scalar + column in the expression - 1 */
    expect_diag("when: today <= due_date + 6mo and score >= 60",
                "when: today <= due_date + 6mo and scor >= 60", 34, 39, "scor");
    /* quoted: one more for the quote */
    expect_diag("when: today <= due_date + 6mo and score >= 60",
                "when: \"today <= due_date + 6mo and scor >= 60\"", 34, 40, "scor");
    expect_diag("when: today <= due_date + 6mo and score >= 60", "when: today <= ", 34, 19, "");
    expect_diag("when: today <= due_date + 6mo and score >= 60", "when: due_date + 6mo", 34, 11,
                "must be a boolean");
    expect_diag("when: today <= due_date + 6mo and score >= 60", "when: town > 5", 34, 16,
                "cannot compare");
    expect_diag("due_date: today + 1y", "due_date: today > 1y", 28, 46, "duration");
    expect_diag("due_date: today + 1y", "due_date: 5", 28, 40, "date field \"due_date\" has type");
    expect_diag("extensions: 0", "extensions: true", 28, 64, "integer field \"extensions\"");
}

/* text loads, with `warnings` warnings. */
static void expect_loads(const char *text, size_t warnings)
{
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_workflow_load_text(&wf, "t.yaml", text, strlen(text), &err);
    for (size_t i = 0; i < err.n_diags; i++)
        print_message("%d:%d: %s\n", err.diags[i].line, err.diags[i].col, err.diags[i].message);
    assert_int_equal(rc, 0);
    assert_int_equal(stpm_workflow_n_warnings(wf), warnings);
    stpm_workflow_free(wf);
    stpm_error_clear(&err);
}

static void inputs_documents_and_timers(void **state)
{
    (void)state;
    /* a guard that waits for the timer silences the warning */
    char *s = edit("    roles: [officer, admin]\n",
                   "    roles: [officer, admin]\n    when: today >= state_since + 5wd\n");
    expect_loads(s, 0);
    free(s);
    /* reading state_since is what counts, whatever else the guard says */
    s = edit("    roles: [officer, admin]\n",
             "    roles: [officer, admin]\n    when: score > 0 and today >= state_since + 5wd\n");
    expect_loads(s, 0);
    free(s);
    s = edit("    roles: [officer, admin]\n", "    roles: [officer, admin]\n    when: score > 0\n");
    expect_loads(s, 1);
    free(s);

    /* input: the workflow's fields, amount_requested and amount_approved only */
    expect_diag("    input: [score, amount_approved]", "    input: [score, due_date]", 36, 20,
                "built-in field \"due_date\" cannot be an input");
    expect_diag("    input: [score, amount_approved]", "    input: [score, extensions]", 36, 20,
                "built-in field \"extensions\" cannot be an input");
    expect_diag("    input: [score, amount_approved]", "    input: [score, closed_date]", 36, 20,
                "built-in field \"closed_date\" cannot be an input");
    expect_diag("    input: [score, amount_approved]", "    input: [state_since]", 36, 13,
                "built-in field \"state_since\" cannot be an input");
    expect_diag("    input: [score, amount_approved]", "    input: [title]", 36, 13,
                "built-in field \"title\" cannot be an input");
    expect_diag("    input: [score, amount_approved]", "    input: [scor, amount_approved]", 36, 13,
                "unknown field \"scor\" in input");
    expect_diag("    input: [score, amount_approved]", "    input: [score, score]", 36, 20,
                "\"score\" is listed twice in input");
    s = edit("    input: [score, amount_approved]", "    input: [amount_requested]");
    expect_loads(s, 1);
    free(s);

    /* state_since is read-only */
    expect_diag("    set: {closed_date: today}", "    set: {state_since: today}", 35, 11,
                "built-in field \"state_since\" cannot be set");

    /* documents: every kind under require documents is declared */
    expect_diag("documents: [application_form]", "documents: [task_bok]", 21, 44,
                "undeclared document kind \"task_bok\" in require documents (declared: "
                "application_form, task_book)");
    expect_diag("documents:\n  application_form: {label: 申报书}\n  task_book: 任务书\n", "", 21,
                44,
                "undeclared document kind \"application_form\" in require documents (declared: "
                "none");
    expect_diag("  task_book: 任务书", "  task_book: {lable: 任务书}", 39, 15,
                "unknown key \"lable\" in a document kind");
    expect_diag("  task_book: 任务书", "  task_book: {lable: 任务书}", 39, 14, "has no \"label\"");
    expect_diag("  task_book: 任务书", "  task_book: ''", 39, 14, "label is empty");
    expect_diag("  task_book: 任务书", "  Task_book: 任务书", 39, 3, "not an identifier");
    expect_diag("  task_book: 任务书", "  application_form: 任务书", 39, 3,
                "duplicate key \"application_form\"");
    expect_diag("documents:\n  application_form: {label: 申报书}\n  task_book: 任务书\n",
                "documents: [a]\n", 37, 12, "documents must be a mapping");
}

static void too_many_entries(void **state)
{
    (void)state;
    /* a hostile file with thousands of states is refused quickly, without overflow */
    size_t cap = 700 * 32 + 256;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t n =
        (size_t)snprintf(s, cap, "workflow: x\nversion: 1\ntitle: x\ninitial: s0\nstates:\n");
    for (int i = 0; i < 700; i++)
        n += (size_t)snprintf(s + n, cap - n, "  s%d: {label: x}\n", i);
    snprintf(s + n, cap - n, "transitions: {}\n");
    expect_diag_text(s, 6, 3, "700 entries are too many (at most 500)");
    free(s);
}

static void load_file_errors(void **state)
{
    (void)state;
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_workflow_load_file(&wf, "/nonexistent/x.yaml", &err), STPM_ENOTFOUND);
    assert_null(wf);
    assert_non_null(strstr(err.message, "/nonexistent/x.yaml"));
    stpm_error_clear(&err);
}

static void new_rules_reported_together(void **state)
{
    (void)state;
    char *a = edit("documents: [application_form]", "documents: [task_bok]");
    const char *from = "input: [score, amount_approved]", *to = "input: [due_date]";
    const char *p = strstr(a, from);
    size_t n = strlen(a) + strlen(to) + 1;
    char *b = malloc(n);
    assert_non_null(b);
    snprintf(b, n, "%.*s%s%s", (int)(p - a), a, to, p + strlen(from));
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_workflow_load_text(&wf, "t.yaml", b, strlen(b), &err), STPM_EINPUT);
    assert_int_equal(err.n_diags, 2);
    assert_int_equal(err.diags[0].line, 21);
    assert_int_equal(err.diags[1].line, 36);
    stpm_error_clear(&err);
    free(a);
    free(b);
}

static void all_problems_at_once(void **state)
{
    (void)state;
    char *a = edit("version: 2", "version: -1");
    char *b = NULL;
    {
        const char *from = "roles: [officer]", *to = "roles: [officer, boss]";
        const char *p = strstr(a, from);
        size_t n = strlen(a) + strlen(to) + 1;
        b = malloc(n);
        snprintf(b, n, "%.*s%s%s", (int)(p - a), a, to, p + strlen(from));
    }
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_workflow_load_text(&wf, "t.yaml", b, strlen(b), &err), STPM_EINPUT);
    assert_int_equal(err.n_diags, 2);
    assert_int_equal(err.diags[0].line, 2); /* sorted by position */
    assert_int_equal(err.diags[1].line, 20);
    stpm_error_clear(&err);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_file_loads),
        cmocka_unit_test(structure_errors),
        cmocka_unit_test(state_errors),
        cmocka_unit_test(graph_errors),
        cmocka_unit_test(field_errors),
        cmocka_unit_test(transition_errors),
        cmocka_unit_test(expression_errors),
        cmocka_unit_test(load_file_errors),
        cmocka_unit_test(too_many_entries),
        cmocka_unit_test(all_problems_at_once),
        cmocka_unit_test(inputs_documents_and_timers),
        cmocka_unit_test(new_rules_reported_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
