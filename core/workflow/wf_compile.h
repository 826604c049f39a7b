/* What the server needs of a workflow version to decide its transitions (migrations
 * 070_rules.sql): the version compiled to JSON when it is loaded. */
#ifndef STPM_WORKFLOW_WF_COMPILE_H
#define STPM_WORKFLOW_WF_COMPILE_H

#include "stpm/workflow.h"

/*
 * Compile wf. *rules is the JSON object stored in stpm.workflow_rules:
 *   {"workflow", "version", "initial",
 *    "fields": {name: {"type", "builtin", "label", "default", "required_in"}},
 *    "documents": {kind: label},
 *    "states": {name: {"final", "closed", "due", "timeout": {"n", "unit", "transition"}}},
 *    "transitions": {name: {"label", "from", "to", "roles", "input",
 *                           "require": {"fields", "documents", "reason"},
 *                           "checks": [{"name", "similarity" | "max"}],
 *                           "when", "when_src", "set": [{"field", "expr", "src"}],
 *                           "fields": {name: {"type", "label"}} of the fields it names,
 *                           "required_before", "required_after", "defaults"}},
 *    "checks": {name: {"ord", "label", "after": {"n", "unit"}, "of", "in",
 *                      "pass", "rectify", "fail"}}}   (only when `checks:` is given)
 * with guards and `set:` expressions as typed syntax trees (workflow/expr_json.h) and
 * values in the expressions' JSON encoding. *states is the array of states in display
 * order that stpm.workflow_states holds. Both malloc'd. 0 or STPM_ERROR.
 */
int stpm_wf_compile(const stpm_workflow *wf, char **rules, char **states, stpm_error *err);

#endif
