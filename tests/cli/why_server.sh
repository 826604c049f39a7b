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
# The C engine's decisions: one `project why` per case. Then, in one pass, the decisions
# read from them (c.jsonl) and one psql script that asks the server for each transition,
# each in a transaction rolled back (few processes: under load, and under the sanitizers,
# starting a python or a psql per decision made this test take minutes).
k=0
: >whys
while read -r code day; do
    k=$((k + 1))
    "$STPM" --db "$DB" --today "$day" --format json project why "$code" >"why.$k.json" 2>why.err ||
        { fail "project why $code as of $day" "$(cat why.err)"; continue; }
    printf '%s %s %s\n' "$k" "$code" "$day" >>whys
done <cases
python3 - whys c.jsonl calls.sql calls.json <<'PY'
import json, sys
whys, c_out, sql_out, calls_out = sys.argv[1:]
c, sql, calls = open(c_out, "w"), open(sql_out, "w"), []
lineno = 0
def emit(line):
    global lineno
    sql.write(line + "\n")
    lineno += 1
for l in open(whys):
    k, code, day = l.split()
    w = json.load(open(f"why.{k}.json"))
    for t in w["transitions"]:
        case = f"{code} {day} {t['transition']}"
        print(json.dumps({"case": case, "allowed": t["allowed"],
                          "reasons": [[r["kind"], r["message"]] for r in t["reasons"]]},
                         ensure_ascii=False, sort_keys=True), file=c)
        n = len(calls)
        emit(f"\\o s.{n}.out")
        emit("BEGIN;")
        emit(f"SELECT stpm.project_advance('{code}', '{t['transition']}', '{day}', p_report => true);")
        calls.append({"case": case, "line": lineno})
        emit("ROLLBACK;")
json.dump(calls, open(calls_out, "w"))
PY
psql "$DB" -qAtX -f calls.sql 2>calls.err
python3 - calls.json calls.err s.jsonl <<'PY'
import json, re, sys
calls, errs, out = json.load(open(sys.argv[1])), {}, open(sys.argv[3], "w")
for l in open(sys.argv[2]):
    m = re.match(r"psql:[^:]*:(\d+): (.*)", l)
    if m:
        errs.setdefault(int(m.group(1)), []).append(m.group(2))
for n, call in enumerate(calls):
    text = open(f"s.{n}.out").read().strip()
    try:
        j = json.loads(text)
        r = {"case": call["case"], "allowed": j["allowed"],
             "reasons": [[b["kind"], b["message"]] for b in j["blocks"]]}
    except ValueError:
        r = {"case": call["case"], "error": " ".join(errs.get(call["line"], [text]))}
    print(json.dumps(r, ensure_ascii=False, sort_keys=True), file=out)
PY
n=$(wc -l <s.jsonl)

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
