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
#   or a roff comment line (.\" doc-examples: empty): then from an empty, migrated one.
#   A marker starts a new database for the examples after it ("doc-examples: demo" one
#   with the tour's data), so that one file can hold examples that need different starts.
#   The tour's data is made once, by `stpm demo`, and copied (CREATE DATABASE ... TEMPLATE).
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
# one line per example: file, line, file#section, start, exit, command
python3 -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    print("\t".join([e["file"], str(e["line"]), "%s#%d" % (e["file"], e["section"]), e["start"],
                     str(e["exit"]), e["command"]]))' "$examples" >"$TMP/examples.tsv"
n=$(wc -l <"$TMP/examples.tsv")
if [ "$n" -ge 20 ]; then pass "$n examples found"; else fail "at least 20 examples found" "found $n"; fi

mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$STPM" >"$TMP/bin/stpm"
chmod +x "$TMP/bin/stpm"

prev=""
DB=""
TOUR=""
dbs=()
trap 'for d in "${dbs[@]}"; do drop_db "$d"; done; rm -rf "$TMP"' EXIT
# new_db START: $DB is a new database with the tour's data (START=demo) or an empty one.
new_db() {
    if [ "$1" = demo ] && [ -z "$TOUR" ]; then
        TOUR=$(fresh_db tour)
        dbs+=("$TOUR")
        run "$STPM" --db "$TOUR" demo
        expect_rc 0 "the tour's data is prepared"
    fi
    DB=$(fresh_db docs)
    dbs+=("$DB")
    if [ "$1" = demo ]; then
        psql "$STPM_TEST_DB" -qAtX -v ON_ERROR_STOP=1 -c "DROP DATABASE ${DB##*dbname=}" \
            -c "CREATE DATABASE ${DB##*dbname=} TEMPLATE ${TOUR##*dbname=}" >/dev/null
    else
        run "$STPM" --db "$DB" db migrate
        expect_rc 0 "$2: an empty database is prepared"
    fi
}
k=0
while IFS=$'\t' read -r file line section start want cmd <&3; do
    if [ "$section" != "$prev" ]; then
        prev=$section
        new_db "$start" "$file:$line"
        W="$TMP/w$k"
        mkdir -p "$W"
        ln -s "$SRC/workflows" "$SRC/docs" "$SRC/data" "$W/"
        cp "$SRC"/docs/examples/* "$W/" 2>/dev/null
    fi
    k=$((k + 1))
    for p in $(grep -o '[^ =]*\.pdf' <<<"$cmd"); do
        [ -e "$W/$p" ] || printf '%%PDF-1.4 placeholder %s\n' "$p" >"$W/$p"
    done
    run env -C "$W" HOME="$W" STPM_DB="$DB" PASSWORD=doc-example-pw PATH="$TMP/bin:$PATH" bash -c "$cmd"
    if [ "$RC" -eq "$want" ]; then
        pass "$file:$line exits $want: $cmd"
    else
        fail "$file:$line exits $want: $cmd" "got exit $RC" "stdout: $OUT" "stderr: $ERR"
    fi
done 3<"$TMP/examples.tsv"
done_testing
