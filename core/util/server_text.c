/*
 * The server's messages in the user's language. The schema's functions (migrations/) word
 * their refusals in English with the parameters inside (RAISE 'project % does not exist');
 * PostgreSQL sends no message catalog of ours. The client knows the fixed templates of the
 * common ones (below, extracted by xgettext): a text that matches one is formatted again
 * from the template's translation with the parameters it held; any other text stays as
 * the server worded it. Identifiers, codes and data inside keep their spelling.
 */
#include "util/server_text.h"

#include <stdlib.h>
#include <string.h>

#include "stpm/i18n.h"
#include "util/strutil.h"

/* Each %s matches a non-empty part of the text. Templates end up in po/zh_CN.po. */
static const char *const templates[] = {
    /* refusals and errors (RAISE) */
    N_("transition %s of project %s is refused"),
    N_("project %s does not exist"),
    N_("project %s changed meanwhile: it is now in state %s, not %s"),
    N_("the business date %s is earlier than %s, the date of the last event of project %s"),
    N_("the business date %s is earlier than %s, the date of the last event of %s"),
    N_("the business date %s is later than the server's date %s"),
    N_("permission denied: the role %s may not change projects"),
    N_("permission denied: the role %s may not attach documents"),
    N_("waited %s s for the lock on %s, held by %s"),
    N_("organisation %s does not exist"),
    N_("organisation %s already exists"),
    N_("plan %s does not exist"),
    N_("plan %s already exists"),
    N_("workflow \"%s\" is not loaded"),
    N_("workflow %s@%s has no transition \"%s\""),
    N_("field \"%s\" is not an input of transition %s"),
    N_("invalid value %s for field \"%s\": expected %s"),
    N_("invalid value %s for field \"%s\": amounts are not negative"),
    N_("the timer of state %s of project %s is not due before %s"),
    N_("reserve entry %s does not exist"),
    N_("reserve entry %s was promoted already, into project %s"),
    N_("reserve entry %s was promoted meanwhile, into project %s"),
    N_("only an administrator may add users"),
    N_("cannot load workflow: permission denied"),
    N_("workflow %s version %s is already stored with digest %s, not %s"),
    N_("role \"%s\" does not exist"),
    N_("invalid unified social credit code \"%s\""),
    /* details and hints */
    N_("\"stpm project list\" shows the projects."),
    N_("Look at it again with \"stpm project why %s\"."),
    N_("\"stpm project why %s\" shows every rule and its evidence."),
    N_("\"stpm project why %s\" lists the transitions out of its state."),
    N_("Transitions are taken by members of stpm_officer, stpm_admin or stpm_expert; auditors "
       "only read."),
    N_("The history of a project runs forward: an event may not be dated before the one that "
       "came before it."),
    N_("Use --today %s or later."),
    N_("An event of %s cannot be dated in the future."),
    N_("Give a date up to today with --today, or leave it out."),
    N_("stpm waits at most lock_wait_seconds (%s) for a lock that any role may hold "
       "(pg_advisory_lock(%s, %s))."),
    N_("Try again once it is released; an administrator can end the holding session with "
       "SELECT pg_terminate_backend(%s)."),
    N_("Try again."),
    N_("\"stpm plan list\" shows the plans."),
    N_("Add it with \"stpm org add\" or import a survey first."),
    N_("Load it with \"stpm workflow load FILE\"."),
    N_("\"stpm reserve list\" shows the entries."),
    N_("See it with \"stpm project show %s\"."),
    N_("See it with \"stpm plan show %s\"."),
    N_("A candidate of the reserve pool becomes at most one project; another promotion came "
       "first."),
    N_("A candidate of the reserve pool becomes at most one project."),
    N_("Loading a workflow needs the stpm_admin role."),
    N_("Connect as an administrator (a member of stpm_admin)."),
    /* the reasons a transition is blocked */
    N_("transition %s does not leave state %s"),
    N_("requires the role %s"),
    N_("field %s (%s) is not set"),
    N_("field %s is not set"),
    N_("field %s (%s) must be set in state %s"),
    N_("field %s must be set in state %s"),
    N_("document %s is not attached"),
    N_("a reason is required"),
    N_("check %s failed: %s"),
    N_("check %s was not run"),
    N_("guard is false: %s"),
    N_("guard is not true (a field it reads is not set): %s"),
    N_("guard could not be evaluated (%s): %s"),
    /* the integrity checks' summaries (廉政准入) */
    N_("integrity commitment attached to %s: %s (sha256 %s)"),
    N_("no integrity commitment (廉政承诺书) is attached to project %s"),
    N_("org %s (%s) has no active blacklist entry on %s"),
    N_("org %s (%s) is on the credit blacklist: %s (%s – %s)"),
    N_("%s has declared no conflict of interest with org %s (%s)"),
    N_("%s has declared a conflict of interest (回避) with org %s (%s): %s"),
    N_("no other project of %s has a title similar to \"%s\" (threshold %s)"),
    N_("possible duplicate application: %s \"%s\" (org %s, plan %s) has title similarity %s "
       ">= %s, and %s more"),
    N_("possible duplicate application: %s \"%s\" (org %s, plan %s) has title similarity %s "
       ">= %s"),
    N_("leader %s of org %s has %s other active project(s), under the limit of %s"),
    N_("leader %s of org %s already has %s active project(s), the limit is %s: %s"),
    N_("org %s (%s) has no overdue unclosed project on %s"),
    N_("org %s (%s) has %s overdue unclosed project(s) (应结未结): %s"),
    N_("org %s (%s) has a valid unified social credit code"),
    N_("org %s (%s) has an invalid unified social credit code: %s"),
};

/* Parts the server puts into a message as one parameter (what a lock wait waited for, who
 * held it): translated in the parameters of a matched template only. */
static const char *const fragments[] = {
    N_("plan year %s"),
    N_("organisation %s"),
    N_("project leader %s"),
    N_("the survey imports of year %s"),
    N_("workflow %s"),
    N_("role %s (%s, pid %s)"),
    N_("role %s (%s, pid %s, in a transaction since %s)"),
};

#define MAX_PARAMS 8

typedef struct param {
    const char *at;
    size_t len;
} param;

/* Does text match tpl from here on? Each %s takes the shortest non-empty part that lets
 * the rest match. */
static bool match(const char *tpl, const char *text, param *ps, int k)
{
    for (;;) {
        if (tpl[0] == '%' && tpl[1] == 's') {
            if (k >= MAX_PARAMS)
                return false;
            for (size_t n = 1; text[n - 1]; n++) {
                if (match(tpl + 2, text + n, ps, k + 1)) {
                    ps[k].at = text;
                    ps[k].len = n;
                    return true;
                }
            }
            return false;
        }
        if (*tpl == '\0')
            return *text == '\0';
        if (*tpl != *text)
            return false;
        tpl++;
        text++;
    }
}

static int count_params(const char *tpl)
{
    int n = 0;
    for (const char *p = tpl; (p = strstr(p, "%s")); p += 2)
        n++;
    return n;
}

static char *translate(const char *text, const char *const *list, size_t n_list, bool deep);

/* Parameter i, translated when deep as a fragment or a message of its own (the summary in
 * "check %s failed: %s"). */
static void put_param(stpm_strbuf *sb, const param *p, bool deep)
{
    char *t = NULL, *s = deep ? stpm_strndup(p->at, p->len) : NULL;
    if (s && !(t = translate(s, fragments, sizeof(fragments) / sizeof(fragments[0]), false)))
        t = translate(s, templates, sizeof(templates) / sizeof(templates[0]), false);
    if (t)
        stpm_strbuf_puts(sb, t);
    else
        stpm_strbuf_putn(sb, p->at, p->len);
    free(t);
    free(s);
}

/* The translation with the parameters put in: %s takes the next one, %N$s the Nth. */
static char *fill(const char *tr, const param *ps, int n, bool deep)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int next = 0;
    for (const char *p = tr; *p;) {
        if (p[0] == '%' && p[1] == '%') {
            stpm_strbuf_putc(&sb, '%');
            p += 2;
        } else if (p[0] == '%' && p[1] == 's') {
            if (next < n)
                put_param(&sb, &ps[next], deep);
            next++;
            p += 2;
        } else if (p[0] == '%' && p[1] >= '1' && p[1] <= '9' && p[2] == '$' && p[3] == 's') {
            int i = p[1] - '1';
            if (i < n)
                put_param(&sb, &ps[i], deep);
            p += 4;
        } else {
            stpm_strbuf_putc(&sb, *p++);
        }
    }
    return stpm_strbuf_detach(&sb);
}

/* text by the first template of list it matches, else NULL. */
static char *translate(const char *text, const char *const *list, size_t n_list, bool deep)
{
    param ps[MAX_PARAMS];
    for (size_t i = 0; i < n_list; i++) {
        const char *tpl = list[i];
        const char *tr = _(tpl);
        if (tr != tpl && match(tpl, text, ps, 0))
            return fill(tr, ps, count_params(tpl), deep);
    }
    return NULL;
}

char *stpm_server_text(const char *text)
{
    if (!text)
        return NULL;
    /* a message is short; a long text (the evidence of a check, say) is no template's, and
     * the matching of several %s would take time over it */
    if (strlen(text) > 1000)
        return stpm_strdup(text);
    char *t = translate(text, templates, sizeof(templates) / sizeof(templates[0]), true);
    return t ? t : stpm_strdup(text);
}
