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
    contains "$OUT" "$f: ok (workflow $(basename "$f" .yaml) version 1," "$(basename "$f") ok line"
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
