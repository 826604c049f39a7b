#!/usr/bin/env bash
# The C engine and the server decide alike (issue 8: "the C engine stays for check, why and
# dry runs, kept equal to the server"). On the guided tour's data — every shipped workflow,
# projects in every state, a blacklisted organisation, documents attached and missing —
# every transition out of every project's state is decided twice, as of several dates:
# by `stpm project why` (the C engine, with the integrity checks' SQL) and by the server's
# stpm.project_advance in a transaction that is rolled back. Both must say allowed or
# blocked alike, with the same reasons (kind and message) in the same order.
. "$(dirname "$0")/lib.sh"
need_db
keep_going
DB=$(fresh_db whysrv)
run "$STPM" --db "$DB" demo
expect_rc 0 "setup: the guided tour fills the database"
cd "$TMP"

# More projects after the tour: promoted, applied with and without what admission needs.
echo 申报书 >form.txt
echo 廉政承诺书 >commitment.txt
i=0
for e in $(psql "$DB" -qAtX -c "SELECT left(id::text, 8) FROM stpm.reserve_entries
                                 WHERE project_id IS NULL ORDER BY title LIMIT 6"); do
    i=$((i + 1))
    run "$STPM" --db "$DB" --today 2022-07-01 reserve promote "$e" --plan PKRD --year 2022
    expect_rc 0 "setup: promote candidate $i"
    code=$(psql "$DB" -qAtX -c "SELECT p.code FROM stpm.projects p JOIN stpm.reserve_entries r ON r.project_id = p.id WHERE left(r.id::text, 8) = '$e'")
    if [ $((i % 3)) -ne 0 ]; then
        run "$STPM" --db "$DB" --today 2022-07-04 project advance "$code" apply \
            --set self_raised_funds=$((100 * i)) --set core_technology=新材料 --attach application_form=form.txt
        expect_rc 0 "setup: apply $code"
    fi
    if [ $((i % 3)) -eq 1 ]; then
        run "$STPM" --db "$DB" --today 2022-07-05 project attach "$code" integrity_commitment commitment.txt
        expect_rc 0 "setup: the commitment of $code"
    fi
done

# Each project as of its last event's date, and as of later days.
psql "$DB" -qAtX -F ' ' -c "SELECT p.code, max(e.on_date) FROM stpm.projects p
    JOIN stpm.events e ON e.project_id = p.id GROUP BY p.code ORDER BY p.code" >cases
for d in 2022-07-06 2023-01-10 2025-06-30; do awk -v d=$d '{print $1, d}' cases; done >>cases.more
cat cases.more >>cases
n=0
: >c.jsonl
: >s.jsonl
while read -r code day; do
    "$STPM" --db "$DB" --today "$day" --format json project why "$code" >why.json 2>why.err ||
        { fail "project why $code as of $day" "$(cat why.err)"; continue; }
    python3 - "$code" "$day" why.json >>c.jsonl <<'PY'
import json, sys
code, day, path = sys.argv[1:]
w = json.load(open(path))
for t in w["transitions"]:
    print(json.dumps({"case": f"{code} {day} {t['transition']}", "allowed": t["allowed"],
                      "reasons": [[r["kind"], r["message"]] for r in t["reasons"]]},
                     ensure_ascii=False, sort_keys=True))
PY
    for t in $(python3 -c 'import json,sys; print(" ".join(t["transition"] for t in json.load(open("why.json"))["transitions"]))'); do
        r=$(psql "$DB" -qAtX -c "BEGIN" -c "SELECT stpm.project_advance('$code', '$t', '$day', p_report => true)" -c "ROLLBACK" 2>&1)
        python3 - "$code" "$day" "$t" "$r" >>s.jsonl <<'PY'
import json, sys
code, day, t, out = sys.argv[1:]
case = f"{code} {day} {t}"
try:
    j = json.loads(out)
    print(json.dumps({"case": case, "allowed": j["allowed"],
                      "reasons": [[b["kind"], b["message"]] for b in j["blocks"]]},
                     ensure_ascii=False, sort_keys=True))
except ValueError:
    print(json.dumps({"case": case, "error": out}, ensure_ascii=False, sort_keys=True))
PY
        n=$((n + 1))
    done
done <cases

if [ "$n" -ge 40 ]; then pass "$n decisions of the tour's projects compared"; else fail "enough decisions compared" "only $n"; fi
diffs=$(python3 - c.jsonl s.jsonl <<'PY'
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
s = {j["case"]: j for j in map(json.loads, open(sys.argv[2]))}
bad = [f"{x['case']}: C {x} / server {s.get(x['case'])}" for x in c if s.get(x["case"]) != x]
print("\n".join(bad[:10]))
PY
)
is "$diffs" "" "the C engine (project why) and the server decide every transition alike"
allowed=$(grep -c '"allowed": true' s.jsonl)
refused=$(grep -c '"allowed": false' s.jsonl)
if [ "$allowed" -gt 0 ] && [ "$refused" -gt 0 ]; then
    pass "both kinds of decision occur ($allowed allowed, $refused refused)"
else
    fail "both kinds of decision occur" "allowed $allowed, refused $refused"
fi
is "$(psql "$DB" -qAtX -c "SELECT count(*) FROM stpm.events WHERE at > now() - interval '1 hour' AND kind IN ('transition', 'refused') AND on_date > '2022-07-05'")" "0" \
    "the server's decisions were rolled back"
drop_db "$DB"
done_testing
