#!/usr/bin/python3
"""The survey importer a contractor would write (issue 11, item 4): the peer of
`stpm survey import` in tests/bench/bench_import.sh.

Python 3 + the csv module + psycopg2 (psycopg2.extras.execute_values), its own schema
(peer) in its own database. It does the same work as stpm: reads the CSV (UTF-8 with or
without BOM, the Chinese or English header), validates every row first (required values,
the USCC's check character per GB 32100-2015, amounts as exact decimals not below zero,
是/否, maturity 1-9, no repeated (USCC, normalised title)) and, when all are good, in one
transaction upserts the organisations (by USCC, the last row wins), their figures of the
year and the candidates (by year, organisation, normalised title; unchanged rows are not
rewritten), records the run and prints the counts. Any bad row: every error as
FILE:ROW:COLUMN, nothing written, exit 5.

    peer_import.py setup DSN               the schema (outside the timing, as `stpm db migrate`)
    peer_import.py import DSN FILE YEAR    one import

Needs Debian's python3-psycopg2 (run by /usr/bin/python3).
"""
import csv
import decimal
import sys
import unicodedata

import psycopg2
import psycopg2.extras

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS peer;
CREATE TABLE peer.orgs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    uscc char(18) NOT NULL UNIQUE,
    name text NOT NULL CHECK (name <> ''),
    town text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE peer.org_figures (
    org_id uuid NOT NULL REFERENCES peer.orgs(id),
    survey_year integer NOT NULL CHECK (survey_year BETWEEN 1990 AND 2100),
    rd_spend numeric(18,4),
    revenue numeric(18,4),
    high_tech boolean,
    PRIMARY KEY (org_id, survey_year)
);
CREATE TABLE peer.survey_imports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_year integer NOT NULL,
    file_name text NOT NULL,
    rows integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    imported_by text NOT NULL DEFAULT session_user
);
CREATE TABLE peer.reserve_entries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_year integer NOT NULL,
    org_id uuid NOT NULL REFERENCES peer.orgs(id),
    title text NOT NULL,
    title_norm text COLLATE "C" NOT NULL,
    field text,
    target_plan text,
    leader text,
    planned_investment numeric(18,4),
    requested_funding numeric(18,4),
    rd_spend numeric(18,4),
    revenue numeric(18,4),
    high_tech boolean,
    partner text,
    maturity integer CHECK (maturity BETWEEN 1 AND 9),
    notes text,
    import_id uuid NOT NULL REFERENCES peer.survey_imports(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (survey_year, org_id, title_norm)
);
"""

HEADERS = {
    "企业名称": "org_name", "统一社会信用代码": "uscc", "所属板块": "town",
    "项目名称": "title", "技术领域": "field", "拟申报计划": "target_plan",
    "项目负责人": "leader", "预计总投入（万元）": "planned_investment",
    "申请资助（万元）": "requested_funding", "研发投入（万元）": "rd_spend",
    "营业收入（万元）": "revenue", "是否高新技术企业": "high_tech",
    "产学研合作单位": "partner", "技术成熟度": "maturity", "备注": "notes",
}
KEYS = list(dict.fromkeys(HEADERS.values()))
REQUIRED = ("org_name", "uscc", "title")
AMOUNTS = ("planned_investment", "requested_funding", "rd_spend", "revenue")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
YES = {"是": True, "yes": True, "y": True, "true": True, "1": True,
       "否": False, "no": False, "n": False, "false": False, "0": False}
PAGE = 1000


def uscc_error(code):
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return f'invalid unified social credit code "{code}"'
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(code, USCC_WEIGHTS))
    want = USCC_ALPHABET[(31 - s % 31) % 31]
    if code[17] != want:
        return f'invalid unified social credit code "{code}": check character is ' \
               f"'{code[17]}', expected '{want}'"
    return None


def title_norm(title):
    return "".join(unicodedata.normalize("NFKC", title).lower().split())


def parse(path):
    """Every row as a dict of typed values, or the list of errors."""
    rows, errors, seen = [], [], {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None) or []
        cols = [HEADERS.get(h.strip(), h.strip() if h.strip() in KEYS else None) for h in header]
        for k in REQUIRED:
            if k not in cols:
                errors.append(f"{path}:1: missing column {k}")
        if errors:
            return None, errors
        for n, rec in enumerate(reader, 2):
            r = {k: None for k in KEYS}
            for c, v in zip(cols, rec):
                if c:
                    v = v.strip()
                    r[c] = v if v else None
            for i, k in enumerate(cols):
                if k in REQUIRED and not r[k]:
                    errors.append(f"{path}:{n}:{i + 1}: {k} must not be empty")
            if r["uscc"]:
                r["uscc"] = unicodedata.normalize("NFKC", r["uscc"]).upper()
                e = uscc_error(r["uscc"])
                if e:
                    errors.append(f"{path}:{n}:{cols.index('uscc') + 1}: {e}")
            for k in AMOUNTS:
                if r[k] is not None:
                    try:
                        d = decimal.Decimal(r[k].replace(",", ""))
                        if d < 0 or not d.is_finite():
                            raise decimal.InvalidOperation
                        r[k] = d
                    except decimal.InvalidOperation:
                        errors.append(f"{path}:{n}:{cols.index(k) + 1}: invalid amount {r[k]!r}")
            if r["high_tech"] is not None:
                v = YES.get(r["high_tech"].lower())
                if v is None:
                    errors.append(f"{path}:{n}:{cols.index('high_tech') + 1}: "
                                  f"invalid yes/no value {r['high_tech']!r}")
                r["high_tech"] = v
            if r["maturity"] is not None:
                try:
                    m = int(r["maturity"])
                    if not 1 <= m <= 9:
                        raise ValueError
                    r["maturity"] = m
                except ValueError:
                    errors.append(f"{path}:{n}:{cols.index('maturity') + 1}: "
                                  f"invalid maturity {r['maturity']!r}")
            if r["title"] and r["uscc"]:
                r["title_norm"] = title_norm(r["title"])
                key = (r["uscc"], r["title_norm"])
                if key in seen:
                    errors.append(f"{path}:{n}:{cols.index('title') + 1}: "
                                  f"the same project as row {seen[key]}")
                seen[key] = n
            rows.append(r)
    return rows, errors


def run_import(dsn, path, year):
    rows, errors = parse(path)
    if errors:
        for e in errors:
            print(e, file=sys.stderr)
        return 5
    orgs, figures = {}, {}
    for r in rows:  # the last row of an organisation wins
        orgs[r["uscc"]] = (r["uscc"], r["org_name"], r["town"])
        if r["rd_spend"] is not None or r["revenue"] is not None or r["high_tech"] is not None:
            figures[r["uscc"]] = (r["rd_spend"], r["revenue"], r["high_tech"])
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            ids = {}
            got = psycopg2.extras.execute_values(cur, """
                INSERT INTO peer.orgs AS o (uscc, name, town) VALUES %s
                ON CONFLICT (uscc) DO UPDATE SET name = EXCLUDED.name, town = EXCLUDED.town,
                    updated_at = now()
                WHERE (o.name, o.town) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.town)
                RETURNING o.uscc, o.id, (o.xmax = 0)""", list(orgs.values()),
                page_size=PAGE, fetch=True)
            orgs_new = sum(1 for g in got if g[2])
            orgs_updated = len(got) - orgs_new
            ids = {u: i for u, i, _ in got}
            missing = [u for u in orgs if u not in ids]  # unchanged: not returned
            if missing:
                cur.execute("SELECT uscc, id FROM peer.orgs WHERE uscc = ANY(%s)", (missing,))
                ids.update(dict(cur.fetchall()))
            got = psycopg2.extras.execute_values(cur, """
                INSERT INTO peer.org_figures AS f (org_id, survey_year, rd_spend, revenue,
                    high_tech) VALUES %s
                ON CONFLICT (org_id, survey_year) DO UPDATE SET rd_spend = EXCLUDED.rd_spend,
                    revenue = EXCLUDED.revenue, high_tech = EXCLUDED.high_tech
                WHERE (f.rd_spend, f.revenue, f.high_tech)
                    IS DISTINCT FROM (EXCLUDED.rd_spend, EXCLUDED.revenue, EXCLUDED.high_tech)
                RETURNING 1""",
                [(ids[u], year) + v for u, v in figures.items()], page_size=PAGE, fetch=True)
            figures_changed = len(got)
            cur.execute("INSERT INTO peer.survey_imports (survey_year, file_name, rows) "
                        "VALUES (%s, %s, %s) RETURNING id", (year, path, len(rows)))
            import_id = cur.fetchone()[0]
            got = psycopg2.extras.execute_values(cur, """
                INSERT INTO peer.reserve_entries AS e (survey_year, org_id, title, title_norm,
                    field, target_plan, leader, planned_investment, requested_funding,
                    rd_spend, revenue, high_tech, partner, maturity, notes, import_id)
                VALUES %s
                ON CONFLICT (survey_year, org_id, title_norm) DO UPDATE SET
                    title = EXCLUDED.title, field = EXCLUDED.field,
                    target_plan = EXCLUDED.target_plan, leader = EXCLUDED.leader,
                    planned_investment = EXCLUDED.planned_investment,
                    requested_funding = EXCLUDED.requested_funding,
                    rd_spend = EXCLUDED.rd_spend, revenue = EXCLUDED.revenue,
                    high_tech = EXCLUDED.high_tech, partner = EXCLUDED.partner,
                    maturity = EXCLUDED.maturity, notes = EXCLUDED.notes,
                    import_id = EXCLUDED.import_id, updated_at = now()
                WHERE (e.title, e.field, e.target_plan, e.leader, e.planned_investment,
                       e.requested_funding, e.rd_spend, e.revenue, e.high_tech, e.partner,
                       e.maturity, e.notes)
                    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.field, EXCLUDED.target_plan,
                       EXCLUDED.leader, EXCLUDED.planned_investment,
                       EXCLUDED.requested_funding, EXCLUDED.rd_spend, EXCLUDED.revenue,
                       EXCLUDED.high_tech, EXCLUDED.partner, EXCLUDED.maturity,
                       EXCLUDED.notes)
                RETURNING (e.xmax = 0)""",
                [(year, ids[r["uscc"]], r["title"], r["title_norm"], r["field"],
                  r["target_plan"], r["leader"], r["planned_investment"],
                  r["requested_funding"], r["rd_spend"], r["revenue"], r["high_tech"],
                  r["partner"], r["maturity"], r["notes"], import_id) for r in rows],
                template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                page_size=PAGE, fetch=True)
            new = sum(1 for g in got if g[0])
            updated = len(got) - new
    finally:
        conn.close()
    print(f"{path}: {len(rows)} candidates for {year}: {new} new, {updated} updated, "
          f"{len(rows) - new - updated} unchanged")
    print(f"organisations: {orgs_new} new, {orgs_updated} updated; "
          f"figures of {year}: {figures_changed} changed")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "setup":
        with psycopg2.connect(argv[2]) as conn, conn.cursor() as cur:
            cur.execute(SCHEMA)
        return 0
    if len(argv) == 5 and argv[1] == "import":
        return run_import(argv[2], argv[3], int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
