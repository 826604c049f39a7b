#!/usr/bin/env bash
# Bulk forms (issue 13 item 4): `reserve promote --where | --from` and
# `project attach --from DIR | MANIFEST`. Each with --dry-run (the same outcomes, nothing
# written), one outcome line per item, each item atomic (a bad one does not stop the
# others), and the exit status of `project advance --where`: 0 when every item is ok, 3
# when one was refused, 4 for a conflict, 1 for an error.
. "$(dirname "$0")/lib.sh"
need_db
cd "$TMP"
q() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }

cat >pool.csv <<'CSV'
org_name,uscc,town,title,field,target_plan,leader,planned_investment,requested_funding,rd_spend,revenue,high_tech,partner,maturity,notes
江苏汤臣汽车零部件有限公司,91320682053181941N,城北街道,候选甲 轻量化底盘,高端装备,如皋市科技计划,张伟,500,50,300,10000,是,南通大学,5,
南通华泰化工有限公司,91320682120538710X,长江镇,候选乙 绿色催化工艺,新材料,如皋市科技计划,李娜,1200,400,100,3000,否,,9,
如皋市华宇光电科技有限公司,91320682251976788G,如皋经济技术开发区,候选丙 高精度光电模组,电子信息,如皋市科技计划,王强,200,100,600,10000,是,东南大学,3,
南通金鑫生物科技有限公司,91320682550879996M,九华镇,候选丁 生物酶制剂,生物医药,如皋市科技计划,赵敏,500,40,300,10000,是,江南大学,5,
南通金鑫生物科技有限公司,91320682550879996M,九华镇,候选戊 酶法合成,生物医药,南通市科技计划,赵敏,100,10,300,10000,是,江南大学,5,
CSV

db=$(fresh_db bulk)
run "$STPM" --db "$db" survey import pool.csv --year 2020
expect_rc 0 "the survey imports"
run "$STPM" --db "$db" workflow load "$STPM_SOURCE_ROOT/workflows/county_rugao.yaml"
expect_rc 0 "the Rugao workflow loads"
q "$db" "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('RGKJ', '如皋市科技计划', 'county', 'county_rugao')"
counts() { q "$db" "SELECT (SELECT count(*) FROM stpm.projects) || ' ' || (SELECT count(*) FROM stpm.events) || ' ' || (SELECT count(*) FROM stpm.reserve_entries WHERE project_id IS NOT NULL) || ' ' || (SELECT count(*) FROM stpm.documents)"; }
# A candidate without a leader (a survey requires one; entries imported before it did
# may have none): promoting it is refused, on its own.
q "$db" "UPDATE stpm.reserve_entries SET leader = NULL WHERE title LIKE '候选丙%'"
before=$(counts)

# -- reserve promote --where
run "$STPM" --db "$db" --today 2020-11-02 --format csv reserve promote --where 'year=2020 target_plan=RGKJ' --plan RGKJ --dry-run
expect_rc 3 "dry run: one candidate names no leader, so exit 3"
OUT=$(tr -d '\r' <<<"$OUT")
is "$(cut -d, -f3,4,5 <<<"$OUT")" "title,project,outcome
候选乙 绿色催化工艺,2020-RGKJ-0001,ok
候选丁 生物酶制剂,2020-RGKJ-0002,ok
候选丙 高精度光电模组,,refused
候选甲 轻量化底盘,2020-RGKJ-0003,ok" "dry run: one line per candidate, by organisation, with the code each would get"
contains "$OUT" "names no project leader" "the refused one says why"
is "$(counts)" "$before" "the dry run wrote nothing"

run "$STPM" --db "$db" --today 2020-11-02 reserve promote --where 'year=2020 target_plan=RGKJ' --plan RGKJ
expect_rc 3 "one refused entry: exit 3"
contains "$OUT" "4 entries: 3 promoted, 1 refused, 0 conflict, 0 error" "the counts"
is "$(q "$db" "SELECT string_agg(p.code || ' ' || p.title || ' ' || coalesce(p.amount_requested::text, '-'), '; ' ORDER BY p.code) FROM stpm.projects p JOIN stpm.reserve_entries r ON r.project_id = p.id AND p.reserve_entry_id = r.id")" \
    "2020-RGKJ-0001 候选乙 绿色催化工艺 400.0000; 2020-RGKJ-0002 候选丁 生物酶制剂 40.0000; 2020-RGKJ-0003 候选甲 轻量化底盘 50.0000" \
    "the others were promoted, linked both ways, with their requested funding"
is "$(q "$db" "SELECT count(*) FROM stpm.events WHERE kind = 'create'")" "3" "one create event each"
run "$STPM" --db "$db" --today 2020-11-02 reserve promote --where 'year=2020 target_plan=RGKJ' --plan RGKJ --leader 王强
expect_rc 0 "again with a leader: only the one left is selected"
contains "$OUT" "1 entries: 1 promoted" "promoted entries are not selected again"
run "$STPM" --db "$db" reserve promote --where 'year=2020 target_plan=RGKJ' --plan RGKJ
expect_rc 0 "nothing left: exit 0"
contains "$OUT" "0 entries" "and says so"

# -- --where keys
run "$STPM" --db "$db" reserve promote --where 'colour=red' --plan RGKJ
expect_rc 2 "an unknown key exits 2"
contains "$ERR" 'unknown key "colour"' "naming the key"
contains "$ERR" "year, town, field, target_plan, org, min_score and top" "and listing the keys"
run "$STPM" --db "$db" reserve promote --where 'top=3' --plan RGKJ
expect_rc 2 "top needs year"
run "$STPM" --db "$db" reserve promote --where '' --plan RGKJ
expect_rc 2 "an empty --where exits 2"
run "$STPM" --db "$db" reserve promote --where 'year=2020' --plan NOPE
expect_rc 6 "an unknown plan exits 6 before anything"
run "$STPM" --db "$db" reserve promote --where 'year=2020' --from x --plan RGKJ
expect_rc 2 "--where and --from together exit 2"

# -- --from FILE, and ranking keys
q "$db" "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('NTKJ', '南通市科技计划', 'municipal', 'county_rugao')"
wu=$(q "$db" "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选戊%'")
jia=$(q "$db" "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选甲%'")
printf '# the city plan\n%s\n\nzz\n%s   # promoted already\nffffff00\n' "$wu" "$jia" >entries.txt
before=$(counts)
run "$STPM" --db "$db" --today 2020-11-03 --format csv reserve promote --from entries.txt --plan NTKJ --dry-run
expect_rc 3 "dry run from a file: refusals exit 3"
is "$(counts)" "$before" "the dry run wrote nothing"
OUT=$(tr -d '\r' <<<"$OUT")
is "$(cut -d, -f1,5 <<<"$OUT" | tail -n +2 | tr '\n' ' ')" "$wu,ok zz,refused $jia,refused ffffff00,refused " \
    "one line per line of the file, in order"
contains "$OUT" "promoted already, into project 2020-RGKJ-0003" "a promoted entry names its project"
contains "$OUT" 'invalid reserve entry ""zz""' "a malformed id is refused on its own"
contains "$OUT" "reserve entry ffffff00 does not exist" "an unknown id is refused on its own"
run "$STPM" --db "$db" --today 2020-11-03 reserve promote --from entries.txt --plan NTKJ
expect_rc 3 "the refusals do not stop the good entry"
is "$(q "$db" "SELECT code FROM stpm.projects WHERE title LIKE '候选戊%'")" "2020-NTKJ-0001" "it was promoted"
printf '\n# nothing\n' >empty.txt
run "$STPM" --db "$db" reserve promote --from empty.txt --plan NTKJ
expect_rc 5 "a file naming no entry exits 5"
mkfifo fifo
run timeout 10 "$STPM" --db "$db" reserve promote --from fifo --plan NTKJ
expect_rc 5 "a FIFO is refused, not waited for"

# -- project attach --from DIR
mkdir docs
printf 'task book one' >docs/2020-RGKJ-0001-task_book.pdf
printf 'form two' >docs/2020-RGKJ-0002-application_form.pdf
printf 'x' >docs/2020-RGKJ-0002-selfie.jpg
printf 'y' >docs/readme.txt
printf 'z' >docs/2099-NONE-0001-task_book.pdf
mkdir docs/2020-RGKJ-0003-task_book.d
printf 'hidden' >docs/.DS_Store
before=$(counts)
run "$STPM" --db "$db" --today 2020-11-04 --format csv project attach --from docs --dry-run
expect_rc 3 "dry run: refused files exit 3"
is "$(counts)" "$before" "the dry run wrote nothing"
OUT=$(tr -d '\r' <<<"$OUT")
is "$(cut -d, -f1,5 <<<"$OUT" | tail -n +2 | tr '\n' ' ')" \
    "2020-RGKJ-0001-task_book.pdf,ok 2020-RGKJ-0002-application_form.pdf,ok 2020-RGKJ-0002-selfie.jpg,refused 2020-RGKJ-0003-task_book.d,refused 2099-NONE-0001-task_book.pdf,refused readme.txt,refused " \
    "one line per file, by name, hidden files skipped"
contains "$OUT" "The declared kinds are: application_form" "an undeclared kind lists the declared ones"
contains "$OUT" "2020-RGKJ-0003-task_book.d\"\": it is a directory" "a directory is refused"
contains "$OUT" "project 2099-NONE-0001 does not exist" "an unknown project is refused"
contains "$OUT" "is not CODE-KIND.ext" "a file named otherwise is refused"
run "$STPM" --db "$db" --today 2020-11-04 project attach --from docs
expect_rc 3 "the refused files do not stop the others"
contains "$OUT" "6 files: 2 attached, 0 unchanged, 4 refused, 0 conflict, 0 error" "the counts"
is "$(q "$db" "SELECT string_agg(p.code || ' ' || d.kind || ' ' || d.file_name || ' ' || d.size, '; ' ORDER BY p.code) FROM stpm.documents d JOIN stpm.projects p ON p.id = d.project_id")" \
    "2020-RGKJ-0001 task_book 2020-RGKJ-0001-task_book.pdf 13; 2020-RGKJ-0002 application_form 2020-RGKJ-0002-application_form.pdf 8" \
    "the two documents are stored"
is "$(q "$db" "SELECT count(*) FROM stpm.events WHERE kind = 'attach'")" "2" "with one attach event each"

# -- a manifest
printf 'form two' >same.pdf
printf 'commitment' >c.pdf
cat >manifest.csv <<'CSV'
code,kind,file
2020-RGKJ-0002,application_form,same.pdf
2020-RGKJ-0003,integrity_commitment,c.pdf
2020-RGKJ-0003,integrity_commitment,missing.pdf
2020-RGKJ-0001,,c.pdf
CSV
run "$STPM" --db "$db" --today 2020-11-04 --format csv project attach --from manifest.csv
expect_rc 3 "manifest: refused rows exit 3"
OUT=$(tr -d '\r' <<<"$OUT")
is "$(cut -d, -f1,5 <<<"$OUT" | tail -n +2 | tr '\n' ' ')" \
    "same.pdf,ok c.pdf,ok missing.pdf,refused c.pdf,refused " \
    "one line per row of the manifest"
contains "$OUT" "attached already, unchanged" "the same content twice is one document"
contains "$OUT" 'cannot open document ""missing.pdf""' "a missing file is refused on its own"
contains "$OUT" "manifest.csv:5: empty kind" "an empty kind names the row"
is "$(q "$db" "SELECT count(*) FROM stpm.documents")" "3" "one more document"
printf 'kind,file\n' >bad.csv
run "$STPM" --db "$db" project attach --from bad.csv
expect_rc 5 "a manifest without a code column exits 5"
contains "$ERR" "no column code" "and says which"
run "$STPM" --db "$db" project attach --from nowhere
expect_rc 6 "a missing DIR exits 6"
run "$STPM" --db "$db" project attach X Y Z --dry-run
expect_rc 2 "--dry-run is for --from"

drop_db "$db"
done_testing
