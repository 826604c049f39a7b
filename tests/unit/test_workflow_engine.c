/* Unit tests of the pure workflow engine: allowed and blocked transitions with every
 * reason, apply with `set:`, timers and due dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/calendar.h"
#include "stpm/engine.h"
#include "stpm/workflow.h"

static const char wf_text[] =
    "workflow: t\n"
    "version: 1\n"
    "title: 测试计划\n"
    "initial: applied\n"
    "states:\n"
    "  applied: {label: 已申报}\n"
    "  publicized:\n"
    "    label: 公示中\n"
    "    timeout: {after: 5wd, transition: approve}\n"
    "  in_progress: {label: 在研, due: due_date}\n"
    "  accepted: {label: 验收通过, final: true, closed: true}\n"
    "fields:\n"
    "  town: {type: text, label: 所属板块, required_in: [publicized]}\n"
    "  requested_due_date: {type: date}\n"
    "documents: {integrity_commitment: 廉政承诺书}\n"
    "transitions:\n"
    "  admit:\n"
    "    from: applied\n"
    "    to: publicized\n"
    "    roles: [officer]\n"
    "    require: {fields: [amount_requested], documents: [integrity_commitment], reason: true}\n"
    "    checks: [credit_clean, {leader_limit: {max: 2}}, uscc_valid]\n"
    "    when: amount_requested <= 500\n"
    "  approve:\n"
    "    from: publicized\n"
    "    to: in_progress\n"
    "    roles: [admin]\n"
    "    set: {start_date: today, due_date: today + 1y, extensions: 0, amount_approved: 30}\n"
    "  extend:\n"
    "    from: in_progress\n"
    "    to: in_progress\n"
    "    roles: [officer]\n"
    "    input: [requested_due_date]\n"
    "    require: {fields: [requested_due_date]}\n"
    "    when: extensions < 1 and today <= due_date and requested_due_date <= due_date + 6mo\n"
    "    set: {extensions: extensions + 1, due_date: requested_due_date}\n"
    "  accept:\n"
    "    from: in_progress\n"
    "    to: accepted\n"
    "    roles: [officer, expert]\n"
    "    when: today <= due_date + 6mo\n"
    "    set: {closed_date: today}\n";

typedef struct fixture {
    stpm_workflow *wf;
    stpm_calendar *cal;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_workflow_load_text(&f->wf, "t.yaml", wf_text, sizeof(wf_text) - 1, &err) < 0) {
        for (size_t i = 0; i < err.n_diags; i++)
            print_message("%d:%d: %s\n", err.diags[i].line, err.diags[i].col, err.diags[i].message);
        return -1;
    }
    if (stpm_calendar_new_default(&f->cal, &err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    stpm_workflow_free(f->wf);
    stpm_calendar_free(f->cal);
    free(f);
    return 0;
}

static stpm_date D(const char *s)
{
    stpm_date d = 0;
    assert_int_equal(stpm_date_parse(s, &d), 0);
    return d;
}

static const stpm_engine_block *find_block(const stpm_engine_option *o, stpm_block_kind k,
                                           const char *subject)
{
    for (size_t i = 0; i < o->n_blocks; i++)
        if (o->blocks[i].kind == k &&
            (!subject || (o->blocks[i].subject && strcmp(o->blocks[i].subject, subject) == 0)))
            return &o->blocks[i];
    return NULL;
}

static void blocked_with_every_reason(void **state)
{
    fixture *f = *state;
    stpm_engine_field items[] = {{"amount_requested", {.type = STPM_TYPE_DECIMAL, .u.d = 6000000}}};
    stpm_engine_fields fields = {items, 1};
    stpm_engine_check_result checks[] = {
        {"credit_clean", false, "org is on blacklist entry 12 until 2022-06-30"},
        {"leader_limit", true, "1 active project"},
    };
    stpm_engine_ctx ctx = STPM_ENGINE_CTX_INIT;
    ctx.state = "applied";
    ctx.lookup = stpm_engine_fields_lookup;
    ctx.lookup_ctx = &fields;
    ctx.roles = STPM_ROLE_EXPERT;
    ctx.today = D("2021-03-01");
    ctx.calendar = f->cal;
    ctx.checks = checks;
    ctx.n_checks = 2;

    stpm_engine_options opts;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_engine_list(f->wf, &ctx, &opts, &err), 0);
    assert_int_equal(opts.n, 1);
    const stpm_engine_option *o = &opts.items[0];
    assert_string_equal(o->transition->name, "admit");
    assert_false(o->allowed);
    assert_non_null(find_block(o, STPM_BLOCK_ROLE, "officer"));
    assert_null(find_block(o, STPM_BLOCK_FIELD, "amount_requested")); /* it is set */
    const stpm_engine_block *b = find_block(o, STPM_BLOCK_FIELD, "town");
    assert_non_null(b);
    assert_non_null(strstr(b->message, "must be set in state publicized"));
    assert_non_null(find_block(o, STPM_BLOCK_DOCUMENT, "integrity_commitment"));
    assert_non_null(find_block(o, STPM_BLOCK_REASON, NULL));
    b = find_block(o, STPM_BLOCK_CHECK, "credit_clean");
    assert_non_null(b);
    assert_string_equal(b->evidence, "org is on blacklist entry 12 until 2022-06-30");
    assert_null(find_block(o, STPM_BLOCK_CHECK, "leader_limit"));
    b = find_block(o, STPM_BLOCK_CHECK, "uscc_valid");
    assert_non_null(b);
    assert_non_null(strstr(b->message, "was not run"));
    b = find_block(o, STPM_BLOCK_GUARD, NULL);
    assert_non_null(b);
    assert_string_equal(b->subject, "amount_requested <= 500");
    assert_int_equal(o->n_blocks, 7);
    stpm_engine_options_free(&opts);

    /* the same, all satisfied */
    stpm_engine_field items2[] = {
        {"amount_requested", {.type = STPM_TYPE_DECIMAL, .u.d = 4000000}},
        {"town", {.type = STPM_TYPE_STRING, .s = (char *)"如城街道"}},
    };
    fields.items = items2;
    fields.n = 2;
    stpm_engine_check_result ok[] = {
        {"credit_clean", true, NULL}, {"leader_limit", true, NULL}, {"uscc_valid", true, NULL}};
    const char *docs[] = {"integrity_commitment"};
    ctx.checks = ok;
    ctx.n_checks = 3;
    ctx.documents = docs;
    ctx.n_documents = 1;
    ctx.roles = STPM_ROLE_OFFICER | STPM_ROLE_EXPERT;
    ctx.reason_given = true;
    stpm_engine_option one;
    assert_int_equal(stpm_engine_evaluate(f->wf, &ctx, "admit", &one, &err), 0);
    assert_true(one.allowed);
    assert_int_equal(one.n_blocks, 0);
    stpm_engine_option_clear(&one);

    /* a transition that does not leave the state */
    assert_int_equal(stpm_engine_evaluate(f->wf, &ctx, "accept", &one, &err), 0);
    assert_false(one.allowed);
    assert_non_null(find_block(&one, STPM_BLOCK_STATE, "applied"));
    stpm_engine_option_clear(&one);
    assert_int_equal(stpm_engine_evaluate(f->wf, &ctx, "nope", &one, &err), STPM_ENOTFOUND);
    stpm_error_clear(&err);
    ctx.state = "nowhere";
    assert_int_equal(stpm_engine_list(f->wf, &ctx, &opts, &err), STPM_ENOTFOUND);
    stpm_error_clear(&err);
}

static void apply_sets_fields(void **state)
{
    fixture *f = *state;
    stpm_engine_ctx ctx = STPM_ENGINE_CTX_INIT;
    stpm_engine_fields fields = {NULL, 0};
    ctx.state = "publicized";
    ctx.lookup = stpm_engine_fields_lookup;
    ctx.lookup_ctx = &fields;
    ctx.roles = STPM_ROLE_OFFICER;
    ctx.today = D("2021-03-01");
    stpm_engine_result res;
    stpm_error err = STPM_ERROR_INIT;
    /* an officer may not approve */
    assert_int_equal(stpm_engine_apply(f->wf, &ctx, "approve", &res, &err), STPM_EREFUSED);
    assert_non_null(strstr(err.detail, "requires the role admin"));
    stpm_error_clear(&err);
    /* the timer may */
    ctx.by_timer = true;
    assert_int_equal(stpm_engine_apply(f->wf, &ctx, "approve", &res, &err), 0);
    assert_string_equal(res.from, "publicized");
    assert_string_equal(res.to, "in_progress");
    assert_int_equal(res.n_changes, 4);
    assert_string_equal(res.changes[0].field, "start_date");
    assert_int_equal(res.changes[0].value.u.date, D("2021-03-01"));
    assert_string_equal(res.changes[1].field, "due_date");
    assert_int_equal(res.changes[1].value.u.date, D("2022-03-01"));
    assert_int_equal(res.changes[2].value.type, STPM_TYPE_INT);
    assert_int_equal(res.changes[2].value.u.i, 0);
    assert_string_equal(res.changes[3].field, "amount_approved");
    assert_int_equal(res.changes[3].value.type, STPM_TYPE_DECIMAL); /* integer widened */
    assert_int_equal(res.changes[3].value.u.d, 300000);
    stpm_engine_result_clear(&res);
}

static void extension_once_before_due(void **state)
{
    fixture *f = *state;
    stpm_engine_field items[] = {
        {"due_date", {.type = STPM_TYPE_DATE}},
        {"extensions", {.type = STPM_TYPE_INT, .u.i = 0}},
        {"requested_due_date", {.type = STPM_TYPE_DATE}},
    };
    items[0].value.u.date = D("2021-12-31");
    items[2].value.u.date = D("2022-06-30");
    stpm_engine_fields fields = {items, 3};
    stpm_engine_ctx ctx = STPM_ENGINE_CTX_INIT;
    ctx.state = "in_progress";
    ctx.lookup = stpm_engine_fields_lookup;
    ctx.lookup_ctx = &fields;
    ctx.roles = STPM_ROLE_OFFICER;
    ctx.today = D("2021-12-01");
    stpm_engine_result res;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_engine_apply(f->wf, &ctx, "extend", &res, &err), 0);
    assert_int_equal(res.n_changes, 2);
    assert_string_equal(res.changes[0].field, "extensions");
    assert_int_equal(res.changes[0].value.u.i, 1);
    assert_string_equal(res.changes[1].field, "due_date");
    assert_int_equal(res.changes[1].value.u.date, D("2022-06-30"));
    stpm_engine_result_clear(&res);

    /* a second extension is refused, with the guard's text */
    items[1].value.u.i = 1;
    assert_int_equal(stpm_engine_apply(f->wf, &ctx, "extend", &res, &err), STPM_EREFUSED);
    assert_non_null(strstr(err.detail, "guard is false: extensions < 1"));
    stpm_error_clear(&err);
    /* after the due date, too */
    items[1].value.u.i = 0;
    ctx.today = D("2022-01-01");
    assert_int_equal(stpm_engine_apply(f->wf, &ctx, "extend", &res, &err), STPM_EREFUSED);
    stpm_error_clear(&err);
    /* a guard reading an unset field is not true */
    fields.n = 2;
    ctx.today = D("2021-12-01");
    stpm_engine_option o;
    assert_int_equal(stpm_engine_evaluate(f->wf, &ctx, "extend", &o, &err), 0);
    assert_false(o.allowed);
    assert_non_null(find_block(&o, STPM_BLOCK_FIELD, "requested_due_date"));
    const stpm_engine_block *b = find_block(&o, STPM_BLOCK_GUARD, NULL);
    assert_non_null(b);
    assert_non_null(strstr(b->message, "not set"));
    stpm_engine_option_clear(&o);
    /* acceptance within six months of the due date */
    fields.n = 1;
    ctx.today = D("2022-06-30");
    assert_int_equal(stpm_engine_evaluate(f->wf, &ctx, "accept", &o, &err), 0);
    assert_true(o.allowed);
    stpm_engine_option_clear(&o);
    ctx.today = D("2022-07-01");
    assert_int_equal(stpm_engine_evaluate(f->wf, &ctx, "accept", &o, &err), 0);
    assert_false(o.allowed);
    stpm_engine_option_clear(&o);
}

static void timers_and_due_dates(void **state)
{
    fixture *f = *state;
    stpm_date fire = 0;
    const stpm_wf_transition *t = NULL;
    stpm_error err = STPM_ERROR_INIT;
    /* entered on Thursday 2021-09-30: 5 working days skip the National Day holiday
     * (10-01..10-07) and count the make-up Saturday 10-09 */
    assert_int_equal(
        stpm_engine_timer(f->wf, "publicized", D("2021-09-30"), f->cal, &fire, &t, &err), 1);
    assert_string_equal(t->name, "approve");
    assert_int_equal(fire, stpm_calendar_add_workdays(f->cal, D("2021-09-30"), 5));
    assert_true(fire > D("2021-10-08"));
    assert_int_equal(stpm_engine_timer(f->wf, "publicized", D("2021-09-30"), NULL, &fire, &t, &err),
                     STPM_EUSAGE);
    stpm_error_clear(&err);
    assert_int_equal(stpm_engine_timer(f->wf, "in_progress", 0, f->cal, &fire, &t, &err), 0);

    stpm_engine_field items[] = {{"due_date", {.type = STPM_TYPE_DATE}}};
    items[0].value.u.date = D("2021-12-31");
    stpm_engine_fields fields = {items, 1};
    stpm_date due = 0;
    assert_int_equal(
        stpm_engine_due(f->wf, "in_progress", stpm_engine_fields_lookup, &fields, &due, &err), 1);
    assert_int_equal(due, D("2021-12-31"));
    assert_int_equal(
        stpm_engine_due(f->wf, "applied", stpm_engine_fields_lookup, &fields, &due, &err), 0);
    fields.n = 0;
    assert_int_equal(
        stpm_engine_due(f->wf, "in_progress", stpm_engine_fields_lookup, &fields, &due, &err), 0);
    assert_true(stpm_workflow_find_state(f->wf, "accepted")->closed);
}

/* The 公示 period: approve by hand only once the timer's working days have passed. */
static void publicity_guard_reads_state_since(void **state)
{
    fixture *f = *state;
    static const char text[] = "workflow: p\n"
                               "version: 1\n"
                               "title: 公示\n"
                               "initial: publicized\n"
                               "states:\n"
                               "  publicized:\n"
                               "    label: 公示中\n"
                               "    timeout: {after: 5wd, transition: approve}\n"
                               "  approved: {label: 已立项, final: true}\n"
                               "transitions:\n"
                               "  approve:\n"
                               "    from: publicized\n"
                               "    to: approved\n"
                               "    roles: [officer]\n"
                               "    when: today >= state_since + 5wd\n";
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_workflow_load_text(&wf, "p.yaml", text, sizeof(text) - 1, &err), 0);
    assert_int_equal(stpm_workflow_n_warnings(wf), 0);
    /* publicized on Thursday 2021-09-30: National Day (10-01..10-07) does not count, the
     * make-up Saturday 10-09 does */
    stpm_engine_field items[] = {{"state_since", {.type = STPM_TYPE_DATE}}};
    items[0].value.u.date = D("2021-09-30");
    stpm_engine_fields fields = {items, 1};
    stpm_engine_ctx ctx = STPM_ENGINE_CTX_INIT;
    ctx.state = "publicized";
    ctx.lookup = stpm_engine_fields_lookup;
    ctx.lookup_ctx = &fields;
    ctx.roles = STPM_ROLE_OFFICER;
    ctx.calendar = f->cal;
    stpm_date due = stpm_calendar_add_workdays(f->cal, D("2021-09-30"), 5);
    stpm_engine_option o;
    ctx.today = D("2021-09-30");
    assert_int_equal(stpm_engine_evaluate(wf, &ctx, "approve", &o, &err), 0);
    assert_false(o.allowed);
    assert_non_null(find_block(&o, STPM_BLOCK_GUARD, "today >= state_since + 5wd"));
    stpm_engine_option_clear(&o);
    ctx.today = due - 1;
    assert_int_equal(stpm_engine_evaluate(wf, &ctx, "approve", &o, &err), 0);
    assert_false(o.allowed);
    stpm_engine_option_clear(&o);
    ctx.today = due;
    assert_int_equal(stpm_engine_evaluate(wf, &ctx, "approve", &o, &err), 0);
    assert_true(o.allowed);
    stpm_engine_option_clear(&o);
    /* the timer fires on the same day the guard starts to hold */
    stpm_date fire = 0;
    const stpm_wf_transition *t = NULL;
    assert_int_equal(stpm_engine_timer(wf, "publicized", D("2021-09-30"), f->cal, &fire, &t, &err),
                     1);
    assert_int_equal(fire, due);
    stpm_workflow_free(wf);
    stpm_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocked_with_every_reason),         cmocka_unit_test(apply_sets_fields),
        cmocka_unit_test(extension_once_before_due),         cmocka_unit_test(timers_and_due_dates),
        cmocka_unit_test(publicity_guard_reads_state_since),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
