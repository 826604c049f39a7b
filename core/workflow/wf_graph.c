/* A workflow as a picture: Graphviz DOT or Mermaid (stpm workflow graph). */
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "workflow/wf_internal.h"

/* Inside a DOT double-quoted string: escape the quote and the backslash. */
static void dot_str(stpm_strbuf *sb, const char *s)
{
    stpm_strbuf_putc(sb, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            stpm_strbuf_putc(sb, '\\');
        if (*s == '\n')
            stpm_strbuf_puts(sb, "\\n");
        else
            stpm_strbuf_putc(sb, *s);
    }
    stpm_strbuf_putc(sb, '"');
}

/* Mermaid labels: no quotes, colons, semicolons or line breaks; replace them. */
static void mermaid_text(stpm_strbuf *sb, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == '"' || c == ':' || c == ';' || c == '\n' || c == '\r' || c == '#' || c == '<' ||
            c == '>' || c == '{' || c == '}')
            c = ' ';
        stpm_strbuf_putc(sb, c);
    }
}

static const stpm_wf_state *timer_of(const stpm_workflow *wf, const stpm_wf_transition *t,
                                     const char *from)
{
    const stpm_wf_state *s = stpm_workflow_find_state(wf, from);
    if (s && s->has_timeout && strcmp(s->timeout_transition, t->name) == 0)
        return s;
    return NULL;
}

static void graph_dot(const stpm_workflow *wf, stpm_strbuf *sb)
{
    char buf[24];
    stpm_strbuf_puts(sb, "digraph ");
    dot_str(sb, wf->name);
    stpm_strbuf_puts(sb, " {\n  graph [labelloc=t, label=");
    char *title = stpm_asprintf("%s (%s v%d)", wf->title, wf->name, wf->version);
    dot_str(sb, title ? title : wf->name);
    free(title);
    stpm_strbuf_puts(sb, "];\n  node [shape=box, style=rounded];\n"
                         "  __start [shape=point, label=\"\"];\n  __start -> ");
    dot_str(sb, wf->initial);
    stpm_strbuf_puts(sb, ";\n");
    for (size_t i = 0; i < wf->n_states; i++) {
        const stpm_wf_state *s = &wf->states[i];
        stpm_strbuf_puts(sb, "  ");
        dot_str(sb, s->name);
        stpm_strbuf_puts(sb, " [label=");
        char *label = stpm_asprintf("%s\n%s", s->label, s->name);
        dot_str(sb, label ? label : s->name);
        free(label);
        if (s->final)
            stpm_strbuf_puts(sb, ", peripheries=2");
        if (s->closed)
            stpm_strbuf_puts(sb, ", style=\"rounded,filled\", fillcolor=lightgrey");
        stpm_strbuf_puts(sb, "];\n");
    }
    for (size_t i = 0; i < wf->n_transitions; i++) {
        const stpm_wf_transition *t = &wf->transitions[i];
        for (size_t k = 0; k < t->n_from; k++) {
            const stpm_wf_state *timer = timer_of(wf, t, t->from[k]);
            stpm_strbuf_puts(sb, "  ");
            dot_str(sb, t->from[k]);
            stpm_strbuf_puts(sb, " -> ");
            dot_str(sb, t->to);
            stpm_strbuf_puts(sb, " [label=");
            char *label = timer ? stpm_asprintf("%s%s%s\n(%s)", t->label ? t->label : "",
                                                t->label ? "\n" : "", t->name,
                                                stpm_wf_duration_format(timer->timeout_after, buf))
                                : stpm_asprintf("%s%s%s", t->label ? t->label : "",
                                                t->label ? "\n" : "", t->name);
            dot_str(sb, label ? label : t->name);
            free(label);
            if (timer)
                stpm_strbuf_puts(sb, ", style=dashed");
            stpm_strbuf_puts(sb, "];\n");
        }
    }
    stpm_strbuf_puts(sb, "}\n");
}

static void graph_mermaid(const stpm_workflow *wf, stpm_strbuf *sb)
{
    char buf[24];
    stpm_strbuf_puts(sb, "---\ntitle: ");
    mermaid_text(sb, wf->title);
    stpm_strbuf_printf(sb, " (%s v%d)\n---\nstateDiagram-v2\n", wf->name, wf->version);
    for (size_t i = 0; i < wf->n_states; i++) {
        const stpm_wf_state *s = &wf->states[i];
        stpm_strbuf_puts(sb, "    state \"");
        mermaid_text(sb, s->label);
        stpm_strbuf_printf(sb, "\" as %s\n", s->name);
    }
    stpm_strbuf_printf(sb, "    [*] --> %s\n", wf->initial);
    for (size_t i = 0; i < wf->n_transitions; i++) {
        const stpm_wf_transition *t = &wf->transitions[i];
        for (size_t k = 0; k < t->n_from; k++) {
            const stpm_wf_state *timer = timer_of(wf, t, t->from[k]);
            stpm_strbuf_printf(sb, "    %s --> %s : ", t->from[k], t->to);
            if (t->label) {
                mermaid_text(sb, t->label);
                stpm_strbuf_putc(sb, ' ');
            }
            stpm_strbuf_puts(sb, t->name);
            if (timer)
                stpm_strbuf_printf(sb, " (timer %s)",
                                   stpm_wf_duration_format(timer->timeout_after, buf));
            stpm_strbuf_putc(sb, '\n');
        }
    }
    for (size_t i = 0; i < wf->n_states; i++)
        if (wf->states[i].final)
            stpm_strbuf_printf(sb, "    %s --> [*]\n", wf->states[i].name);
    for (size_t i = 0; i < wf->n_states; i++)
        if (wf->states[i].closed)
            stpm_strbuf_printf(sb, "    class %s closed\n", wf->states[i].name);
    stpm_strbuf_puts(sb, "    classDef closed fill:#ddd\n");
}

int stpm_workflow_graph(const stpm_workflow *wf, stpm_graph_format format, char **out,
                        stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    *out = NULL;
    if (format == STPM_GRAPH_MERMAID)
        graph_mermaid(wf, &sb);
    else
        graph_dot(wf, &sb);
    if (sb.oom) {
        stpm_strbuf_free(&sb);
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    *out = stpm_strbuf_detach(&sb);
    return *out ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}
