#!/usr/bin/env bash
# stpm workflow check and graph: the shipped workflows pass, broken files give located
# diagnostics and exit 5, graphs render with Graphviz. No database needed.
. "$(dirname "$0")/lib.sh"
W="$STPM_SOURCE_ROOT/workflows"
D="$STPM_SOURCE_ROOT/tests/data/workflows"

for f in "$W"/*.yaml; do
    [ "$(basename "$f")" = scoring.yaml ] && continue
    run "$STPM" workflow check "$f"
    expect_rc 0 "$(basename "$f") passes workflow check"
    contains "$OUT" "$f: ok (workflow $(basename "$f" .yaml) version 2," "$(basename "$f") ok line"
    is "$ERR" "" "$(basename "$f") has no warnings (the 公示 period waits for its timer)"
done

run "$STPM" workflow check "$W/county_rugao.yaml" "$W/national_key_rd.yaml"
expect_rc 0 "several files at once"
is "$(echo "$OUT" | wc -l)" "2" "one line per file"

run "$STPM" --format json workflow check "$W/county_rugao.yaml"
expect_rc 0 "json output"
contains "$OUT" '"workflow": "county_rugao"' "json names the workflow"

run "$STPM" workflow check "$D/bad_refs.yaml"
expect_rc 5 "a bad file exits 5"
contains "$ERR" "$D/bad_refs.yaml:7:30: due field \"title\" is not a date" "due on a text field, located"
contains "$ERR" "$D/bad_refs.yaml:12:9: unknown state \"aplied\" in to" "unknown state, located"
contains "$ERR" "$D/bad_refs.yaml:18:22: guard: cannot compare integer with text" "type error in a guard, located"
contains "$ERR" "DETAIL: 3 problems found." "every problem in one run"

run "$STPM" workflow check "$D/bad_yaml.yaml" "$W/county_rugao.yaml"
expect_rc 5 "a YAML syntax error exits 5 even with a good file beside it"
contains "$ERR" "$D/bad_yaml.yaml:4:1:" "the syntax error is located"
contains "$OUT" "county_rugao.yaml: ok" "the good file is still checked"

# A timer whose transition can be taken by hand at once: a warning, not an error.
sed '/^    when: today >= state_since + 5wd$/d' "$W/county_rugao.yaml" >"$TMP/no_guard.yaml"
line=$(grep -n 'timeout: {after: 5wd, transition: approve}' "$TMP/no_guard.yaml" | cut -d: -f1)
run "$STPM" workflow check "$TMP/no_guard.yaml"
expect_rc 0 "a timer without a waiting guard still passes (exit 0)"
contains "$OUT" "no_guard.yaml: ok" "and is reported ok"
contains "$ERR" "$TMP/no_guard.yaml:$line:39: warning: the timer of state \"publicized\" takes transition \"approve\" after 5wd" \
    "the warning names the state and the transition, located"
contains "$ERR" 'add "when: today >= state_since + 5wd"' "and suggests the guard"
sed 's/^    when: today >= state_since + 5wd$/    when: amount_approved > 0/' "$W/county_rugao.yaml" >"$TMP/other_guard.yaml"
run "$STPM" workflow check "$TMP/other_guard.yaml"
expect_rc 0 "a guard that does not wait for the timer"
contains "$ERR" "warning: the timer of state \"publicized\"" "warns too"

# The new rules of the format are load errors, located, all at once.
sed -e 's/^    input: \[amount_approved\]$/    input: [amount_approved, due_date]/' \
    -e 's/^      documents: \[task_book\]$/      documents: [task_book, photo]/' \
    -e 's/^      extensions: 0$/      state_since: today/' "$W/county_rugao.yaml" >"$TMP/bad_new.yaml"
inl=$(grep -n 'input: \[amount_approved, due_date\]' "$TMP/bad_new.yaml" | cut -d: -f1)
dl=$(grep -n 'documents: \[task_book, photo\]' "$TMP/bad_new.yaml" | cut -d: -f1)
sl=$(grep -n 'state_since: today' "$TMP/bad_new.yaml" | cut -d: -f1)
run "$STPM" workflow check "$TMP/bad_new.yaml"
expect_rc 5 "inputs, documents and state_since are checked at load"
contains "$ERR" "$TMP/bad_new.yaml:$inl:30: built-in field \"due_date\" cannot be an input" "an input naming a built-in, located"
contains "$ERR" "$TMP/bad_new.yaml:$dl:30: undeclared document kind \"photo\" in require documents (declared: application_form, integrity_commitment, task_book, rectification_report, acceptance_report)" \
    "an undeclared document kind, located, with the declared ones"
contains "$ERR" "$TMP/bad_new.yaml:$sl:7: built-in field \"state_since\" cannot be set" "set: on state_since, located"
contains "$ERR" "DETAIL: 3 problems found." "all three in one run"

run "$STPM" workflow check /nonexistent.yaml
expect_rc 6 "a missing file exits 6"

run "$STPM" workflow check
expect_rc 2 "no file is a usage error"

run "$STPM" workflow frob
expect_rc 2 "an unknown subcommand is a usage error"

if command -v dot >/dev/null 2>&1; then
    for f in "$W"/*.yaml; do
        [ "$(basename "$f")" = scoring.yaml ] && continue
        "$STPM" workflow graph "$f" >"$TMP/g.dot" 2>"$TMP/g.err"
        run dot -Tsvg "$TMP/g.dot" -o "$TMP/g.svg"
        expect_rc 0 "$(basename "$f") renders with dot"
        is "$ERR" "" "dot prints no warnings for $(basename "$f")"
    done
    contains "$(cat "$TMP/g.svg")" "验收通过" "the SVG carries the Chinese labels"
else
    skip "graphviz" "dot not installed"
fi

run "$STPM" workflow graph "$W/national_key_rd.yaml" --as mermaid
expect_rc 0 "mermaid output"
contains "$OUT" "stateDiagram-v2" "mermaid header"
contains "$OUT" 'state "在研" as in_progress' "mermaid Chinese state label"
contains "$OUT" "publicized --> approved : 立项 approve (timer 7wd)" "mermaid timer edge"

run "$STPM" workflow graph "$W/county_rugao.yaml" --format mermaid
expect_rc 0 "--format after graph selects the graph format"
contains "$OUT" "stateDiagram-v2" "--format mermaid works"

run "$STPM" workflow graph "$W/county_rugao.yaml" --as png
expect_rc 2 "an unknown graph format is a usage error"

run "$STPM" workflow graph "$D/bad_refs.yaml"
expect_rc 5 "graph of a bad file exits 5"

done_testing
