#!/usr/bin/env bash
# Every example of the documentation runs (issue 10, item 4): a wrong example fails the suite.
#
# The convention (docs/README.md says it too):
# - An example is a line of README.md, docs/*.md or docs/stpm.1 that starts with "$ stpm "
#   (after indentation); a line ending in "\" goes on on the next one. Lines without the
#   "$ " prompt (synopses, sketches) are not run. In the man page, roff's \- \e \(aq are
#   read as - \ '.
# - It must exit 0, unless it ends with a comment "# exit N": then it must exit N.
# - The examples of one file run in their order on a database of their own. A file starts
#   from the guided tour's data (`stpm demo` on the database) unless it holds the marker
#   "doc-examples: empty" at the start of an HTML comment line (<!-- doc-examples: empty -->)
#   or a roff comment line: then from an empty, migrated one.
# - They run in a scratch directory holding the source tree's workflows/, data/ and docs/,
#   the files of docs/examples/, and a small placeholder for every *.pdf the line names;
#   HOME is that directory, STPM_DB names the database, PASSWORD holds a password for the
#   examples that make users, and `stpm` is the binary under test.
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going

examples="$TMP/examples.json"
python3 "$(dirname "$0")/doc_examples.py" "$SRC" >"$examples" || {
    fail "the examples can be extracted"
    done_testing
    exit 1
}
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$examples")
if [ "$n" -ge 20 ]; then pass "$n examples found"; else fail "at least 20 examples found" "found $n"; fi

mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$STPM" >"$TMP/bin/stpm"
chmod +x "$TMP/bin/stpm"

prev=""
DB=""
dbs=()
trap 'for d in "${dbs[@]}"; do drop_db "$d"; done; rm -rf "$TMP"' EXIT
for ((k = 0; k < n; k++)); do
    IFS=$'\t' read -r file line start want cmd < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))[int(sys.argv[2])]
print("\t".join([e["file"], str(e["line"]), e["start"], str(e["exit"]), e["command"]]))' "$examples" "$k")
    if [ "$file" != "$prev" ]; then
        prev=$file
        DB=$(fresh_db docs)
        dbs+=("$DB")
        W="$TMP/w$k"
        mkdir -p "$W"
        ln -s "$SRC/workflows" "$SRC/docs" "$SRC/data" "$W/"
        cp "$SRC"/docs/examples/* "$W/" 2>/dev/null
        if [ "$start" = demo ]; then
            run "$STPM" --db "$DB" demo
            expect_rc 0 "$file: the tour's data is prepared"
        else
            run "$STPM" --db "$DB" db migrate
            expect_rc 0 "$file: an empty database is prepared"
        fi
    fi
    for p in $(grep -o '[^ =]*\.pdf' <<<"$cmd"); do
        [ -e "$W/$p" ] || printf '%%PDF-1.4 placeholder %s\n' "$p" >"$W/$p"
    done
    run env -C "$W" HOME="$W" STPM_DB="$DB" PASSWORD=doc-example-pw PATH="$TMP/bin:$PATH" bash -c "$cmd"
    if [ "$RC" -eq "$want" ]; then
        pass "$file:$line exits $want: $cmd"
    else
        fail "$file:$line exits $want: $cmd" "got exit $RC" "stdout: $OUT" "stderr: $ERR"
    fi
done
done_testing
