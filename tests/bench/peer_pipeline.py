#!/usr/bin/python3
"""The peer a contractor would write for municipal_nantong (issue 8, "Figures").

Python 3 + psycopg2 + the `transitions` state machine library, its own schema in its own
database. One transaction per transition: SELECT ... FOR UPDATE of the project (with the
documents the transition requires), for admit the three checks a careful contractor writes
by hand (credit blacklist, leader limit, duplicate title by pg_trgm similarity), the
guard, the UPDATE, and an event row on the project's SHA-256 hash chain (the previous
hash read from the last event).

    peer_pipeline.py setup DSN N            schema and data (the volume of bench_pipeline setup)
    peer_pipeline.py run DSN STATE TRANSITION TODAY
                                            prints "peer TRANSITION projects seconds per_second"

Needs the Debian packages python3-psycopg2 and python3-transitions (run by /usr/bin/python3).
"""
import datetime
import hashlib
import json
import os
import sys
import time

import psycopg2
import psycopg2.extras
from transitions import Machine, MachineError

STATES = ["reserve", "applied", "admitted", "publicized", "approved", "in_progress",
          "rectifying", "accepting", "accepted", "terminated", "rejected"]
TRANSITIONS = [
    {"trigger": "apply", "source": "reserve", "dest": "applied"},
    {"trigger": "admit", "source": "applied", "dest": "admitted", "conditions": "integrity_ok"},
    {"trigger": "publicize", "source": "admitted", "dest": "publicized",
     "conditions": "has_amount_approved"},
    {"trigger": "approve", "source": "publicized", "dest": "approved",
     "conditions": "publicity_over"},
    {"trigger": "start", "source": "approved", "dest": "in_progress"},
    {"trigger": "submit_acceptance", "source": "in_progress", "dest": "accepting",
     "conditions": "within_due"},
    {"trigger": "accept", "source": "accepting", "dest": "accepted",
     "conditions": "within_acceptance_due"},
    {"trigger": "reject", "source": ["reserve", "applied", "admitted"], "dest": "rejected"},
    {"trigger": "terminate", "source": ["approved", "in_progress", "rectifying", "accepting"],
     "dest": "terminated"},
]
# The document each transition requires (the workflow's `require: documents`).
REQUIRED_DOC = {"apply": "application_form", "admit": "integrity_commitment",
                "start": "task_book", "submit_acceptance": "acceptance_report"}
LEADER_MAX = 2
SIMILARITY = 0.8

# The titles, as bench_pipeline.c's make_title has them (BENCH_TITLES: bureau or stress).
SCENES = ["新能源汽车", "海洋工程", "轨道交通", "航空航天", "风力发电", "光伏发电", "智能电网",
          "高端装备", "现代农业", "食品加工", "生物医药", "医疗器械", "集成电路", "半导体照明",
          "船舶制造", "纺织服装", "精细化工", "节能环保", "建筑工程", "冷链物流", "畜禽养殖",
          "水产养殖", "家用电器", "工程机械", "数控机床", "电力电子", "通信网络", "安防监控",
          "仓储物流", "污水处理", "固废利用", "氢能储运"]
QUALITIES = ["高性能", "智能化", "低能耗", "高精度", "绿色", "大尺寸", "耐高温", "轻量化",
             "高可靠", "长寿命", "低成本", "高效", "柔性", "模块化", "超薄", "耐腐蚀", "高强度",
             "微型", "数字化", "无人化"]
OBJECTS = ["轴承钢球", "绞车系统", "复合材料", "燃料电池电堆", "锂电池隔膜", "伺服电机",
           "环氧树脂", "检测装备", "生物饲料", "功率器件", "工业机器人", "酶制剂",
           "偏航变桨轴承", "防火玻纤布", "预浸料", "减速器", "传感器", "控制器", "驱动芯片",
           "光纤光栅", "碳纤维", "石墨烯薄膜", "陶瓷基板", "液压泵", "变频器", "逆变器",
           "储能电池", "电解槽", "膜电极", "催化剂", "涂料", "胶粘剂", "密封件", "齿轮箱",
           "电缆", "光模块", "激光器", "显示面板", "滤波器", "天线", "清洗剂", "疫苗",
           "诊断试剂", "中间体", "植保无人机", "收获机械", "温室系统", "灌溉设备",
           "饲料添加剂", "益生菌", "保鲜包装", "焊接机器人", "视觉检测系统", "叶片", "塔筒",
           "铸锻件", "钢丝绳", "紧固件", "阀门", "泵体"]
WORKS = ["关键技术研发", "研制及产业化", "工艺开发", "集成应用示范", "研制", "研发",
         "开发与应用", "关键技术研究", "产业化", "制备技术研究", "设计与制造", "性能提升",
         "国产化替代研究", "智能制造", "检测方法研究"]

WORDS = [
    "adaptive", "biomass", "catalytic", "digital", "electric", "fibre", "graphene",
    "hydrogen", "imaging", "jet", "kinetic", "laser", "marine", "nano",
    "optical", "polymer", "quantum", "robotic", "sensor", "thermal", "ultrasonic",
    "vaccine", "wireless", "xenon", "yeast", "zeolite", "alloy", "battery",
    "ceramic", "drone", "enzyme", "fuel", "genome", "harbour", "inverter",
    "joint", "kiln", "lithium", "membrane", "network", "offshore", "photonic",
    "quartz", "radar", "silicon", "textile", "urban", "valve", "welding",
    "xylem", "yarn", "zinc", "antenna", "bearing", "coating", "diesel",
    "engine", "filter", "gearbox", "hull", "insulin", "jacket", "keel",
    "logistics",
]


def stress_title(i):
    """bench_pipeline.c's stress titles."""
    h = (i * 2654435761) & 0xFFFFFFFF
    g = (((i * 40503 + 12345) & 0xFFFFFFFF) * 2246822519) & 0xFFFFFFFF
    t = " ".join(WORDS[x] for x in (h >> 26, (h >> 20) & 63, (h >> 14) & 63,
                                     (h >> 8) & 63, (h >> 2) & 63,
                                     g >> 26, (g >> 20) & 63, (g >> 14) & 63)) + " "
    k = i
    while True:
        t += chr(ord("a") + k % 26)
        if k < 26:
            break
        k //= 26
    return t


def make_title(i):
    """The same titles as bench_pipeline.c's make_title."""
    if os.environ.get("BENCH_TITLES") == "stress":
        return stress_title(i)
    c = i * 7919 % 1728000
    a, q = SCENES[c % 32], QUALITIES[c // 32 % 20]
    o, w = OBJECTS[c // 640 % 60], WORKS[c // 38400 % 15]
    if c // 576000 == 0:
        return "面向%s的%s%s%s" % (a, q, o, w)
    if c // 576000 == 1:
        return "%s用%s%s%s" % (a, q, o, w)
    return "%s%s%s及其在%s中的应用" % (q, o, w, a)


def add_months(d, n):
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    last = [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][m - 1]
    return datetime.date(y, m, min(d.day, last))


def add_workdays(d, n):
    """Working days as a contractor writes them: Monday to Friday, no holiday calendar."""
    while n > 0:
        d += datetime.timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


SCHEMA = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE orgs (id serial PRIMARY KEY, uscc char(18) NOT NULL UNIQUE, name text NOT NULL,
  town text);
CREATE TABLE blacklist (id serial PRIMARY KEY, uscc char(18) NOT NULL, reason text NOT NULL,
  valid_from date NOT NULL, valid_until date);
CREATE INDEX ON blacklist (uscc);
CREATE TABLE leaders (id serial PRIMARY KEY, org_id int NOT NULL REFERENCES orgs,
  name text NOT NULL, UNIQUE (org_id, name));
CREATE TABLE projects (id serial PRIMARY KEY, code text NOT NULL UNIQUE, title text NOT NULL,
  year int NOT NULL, org_id int NOT NULL REFERENCES orgs, leader_id int NOT NULL REFERENCES leaders,
  state text NOT NULL, state_since date NOT NULL, amount_requested numeric(14,2),
  amount_approved numeric(14,2), start_date date, due_date date, task_book_due date,
  acceptance_due date, closed_date date, extensions int NOT NULL DEFAULT 0,
  row_version int NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON projects USING gin (title gin_trgm_ops);
CREATE INDEX ON projects (leader_id);
CREATE INDEX ON projects (state);
CREATE TABLE documents (id serial PRIMARY KEY, project_id int NOT NULL REFERENCES projects,
  kind text NOT NULL, file_name text NOT NULL, sha256 char(64) NOT NULL, content bytea NOT NULL,
  attached_at timestamptz NOT NULL DEFAULT now(), UNIQUE (project_id, kind, sha256));
CREATE TABLE events (id bigserial PRIMARY KEY, project_id int NOT NULL REFERENCES projects,
  seq int NOT NULL, on_date date NOT NULL, actor text NOT NULL DEFAULT session_user,
  kind text NOT NULL, transition text, from_state text, to_state text, data jsonb NOT NULL,
  prev_hash char(64), hash char(64) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, seq));
"""


def event_hash(prev, project_id, seq, on_date, kind, transition, frm, to, data):
    body = json.dumps([prev, project_id, seq, on_date, kind, transition, frm, to, data],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def uscc(k):
    # The peer keeps codes as given; they need not pass GB 32100 here.
    return "91320600%08d%s" % ((10000000 + k) % 100000000, "XX")


def setup(dsn, n):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    cur.execute("SET synchronous_commit = off")  # setting up is not measured
    cur.execute(SCHEMA)
    n_orgs = max(n // 4, 1)
    day = datetime.date(2026, 1, 2)
    psycopg2.extras.execute_values(
        cur, "INSERT INTO orgs (uscc, name, town) VALUES %s",
        [(uscc(k), "基准单位%05d" % k, "崇川区" if k % 2 else "通州区") for k in range(n_orgs + 1)])
    cur.execute("INSERT INTO blacklist (uscc, reason, valid_from) VALUES (%s, %s, %s)",
                (uscc(n_orgs), "基准：失信记录", day))
    cur.execute("SELECT id FROM orgs ORDER BY uscc")
    org_ids = [r[0] for r in cur.fetchall()]
    psycopg2.extras.execute_values(
        cur, "INSERT INTO leaders (org_id, name) VALUES %s",
        [(org_ids[(i - 1) % n_orgs], "负责人%06d" % i) for i in range(1, n + 1)])
    cur.execute("SELECT id FROM leaders ORDER BY name")
    leader_ids = [r[0] for r in cur.fetchall()]
    psycopg2.extras.execute_values(
        cur, "INSERT INTO projects (code, title, year, org_id, leader_id, state, state_since,"
             " amount_requested, amount_approved) VALUES %s",
        [("2026-NTKJ-%04d" % i, make_title(i), 2026, org_ids[(i - 1) % n_orgs],
          leader_ids[i - 1], "reserve", day, "%d.%02d" % (50 + i % 200, i % 100),
          "%d.00" % (30 + i % 150)) for i in range(1, n + 1)])
    cur.execute("SELECT id, code FROM projects ORDER BY code")
    projects = cur.fetchall()
    docs = []
    for pid, _ in projects:
        for kind in ("application_form", "integrity_commitment", "task_book",
                     "acceptance_report"):
            content = ("bench %s\n" % kind).encode()
            docs.append((pid, kind, kind + ".txt", hashlib.sha256(content).hexdigest(),
                         psycopg2.Binary(content)))
    psycopg2.extras.execute_values(
        cur, "INSERT INTO documents (project_id, kind, file_name, sha256, content) VALUES %s",
        docs, page_size=1000)
    events = []
    for pid, code in projects:
        data = {"code": code}
        h = event_hash(None, pid, 1, str(day), "create", None, None, "reserve", data)
        events.append((pid, 1, day, "create", None, None, "reserve", json.dumps(data), None, h))
    psycopg2.extras.execute_values(
        cur, "INSERT INTO events (project_id, seq, on_date, kind, transition, from_state,"
             " to_state, data, prev_hash, hash) VALUES %s", events, page_size=1000)
    conn.commit()
    cur.execute("ANALYZE")
    conn.commit()
    conn.close()


class Project:
    """One project row as the state machine's model; the checks query through cur."""

    def __init__(self, cur, row, today):
        (self.id, self.code, self.title, self.year, self.org_id, self.leader_id,
         self.row_state, self.amount_approved, self.due_date, self.acceptance_due,
         self.state_since, self.has_doc) = row
        self.cur = cur
        self.today = today
        self.failed = []

    # --- the checks of 廉政准入 (admit), each one query ---
    def integrity_ok(self):
        c = self.cur
        c.execute("SELECT count(*) FROM blacklist b JOIN orgs o ON o.uscc = b.uscc"
                  " WHERE o.id = %s AND b.valid_from <= %s"
                  " AND (b.valid_until IS NULL OR b.valid_until >= %s)",
                  (self.org_id, self.today, self.today))
        if c.fetchone()[0]:
            self.failed.append("credit_clean")
        c.execute("SELECT count(*) FROM projects WHERE leader_id = %s AND id <> %s"
                  " AND closed_date IS NULL AND state NOT IN"
                  " ('reserve', 'rejected', 'terminated', 'accepted')",
                  (self.leader_id, self.id))
        if c.fetchone()[0] >= LEADER_MAX:
            self.failed.append("leader_limit")
        c.execute("SELECT code, similarity(title, %s) FROM projects"
                  " WHERE title %% %s AND year = %s AND id <> %s"
                  " AND state NOT IN ('rejected', 'terminated')"
                  " AND similarity(title, %s) >= %s LIMIT 1",
                  (self.title, self.title, self.year, self.id, self.title, SIMILARITY))
        if c.fetchone():
            self.failed.append("no_duplicate")
        return not self.failed

    def has_amount_approved(self):
        return self.amount_approved is not None

    def publicity_over(self):
        return self.today >= add_workdays(self.state_since, 5)

    def within_due(self):
        return self.due_date is not None and self.today <= add_months(self.due_date, 6)

    def within_acceptance_due(self):
        return self.acceptance_due is not None and self.today <= self.acceptance_due


def changes_for(tr, p, today):
    if tr == "approve":
        return {"start_date": today, "due_date": add_months(today, 24), "extensions": 0,
                "task_book_due": add_workdays(today, 20)}
    if tr == "submit_acceptance":
        return {"acceptance_due": add_months(p.due_date, 6)}
    if tr == "accept":
        return {"closed_date": today}
    return {}


def run(dsn, state, tr, today):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    cur.execute("SET pg_trgm.similarity_threshold = %s", (SIMILARITY,))
    conn.commit()
    machine = Machine(model=None, states=STATES, transitions=TRANSITIONS, initial=None,
                      auto_transitions=False)
    cur.execute("SELECT code FROM projects WHERE state = %s ORDER BY code", (state,))
    codes = [r[0] for r in cur.fetchall()]
    conn.commit()
    doc = REQUIRED_DOC.get(tr)
    t0 = time.monotonic()
    for code in codes:
        cur.execute("SELECT p.id, p.code, p.title, p.year, p.org_id, p.leader_id, p.state,"
                    " p.amount_approved, p.due_date, p.acceptance_due, p.state_since,"
                    " %s IS NULL OR EXISTS (SELECT 1 FROM documents d"
                    "  WHERE d.project_id = p.id AND d.kind = %s)"
                    " FROM projects p WHERE p.code = %s FOR UPDATE OF p", (doc, doc, code))
        p = Project(cur, cur.fetchone(), today)
        if not p.has_doc:
            raise SystemExit("peer: %s: %s lacks the document %s" % (tr, code, doc))
        machine.add_model(p, initial=p.row_state)
        try:
            if not p.trigger(tr):
                raise SystemExit("peer: %s refused for %s: %s" % (tr, code, p.failed or "guard"))
        except MachineError as e:
            raise SystemExit("peer: %s: %s" % (code, e))
        machine.remove_model(p)
        ch = changes_for(tr, p, today)
        sets = "".join(", %s = %%(%s)s" % (k, k) for k in ch)
        cur.execute("UPDATE projects SET state = %(state)s, state_since = %(today)s,"
                    " row_version = row_version + 1, updated_at = now()" + sets +
                    " WHERE id = %(id)s", dict(ch, state=p.state, today=today, id=p.id))
        cur.execute("SELECT seq, hash FROM events WHERE project_id = %s"
                    " ORDER BY seq DESC LIMIT 1", (p.id,))
        seq, prev = cur.fetchone()
        data = {"set": {k: str(v) for k, v in ch.items()}, "failed": p.failed}
        h = event_hash(prev, p.id, seq + 1, str(today), "transition", tr, p.row_state,
                       p.state, data)
        cur.execute("INSERT INTO events (project_id, seq, on_date, kind, transition, from_state,"
                    " to_state, data, prev_hash, hash)"
                    " VALUES (%s, %s, %s, 'transition', %s, %s, %s, %s, %s, %s)",
                    (p.id, seq + 1, today, tr, p.row_state, p.state, json.dumps(data), prev, h))
        conn.commit()
    t = time.monotonic() - t0
    conn.close()
    if not codes:
        raise SystemExit("peer: no project in state %s" % state)
    print("peer %s %d %.3f %.1f" % (tr, len(codes), t, len(codes) / t))


def main(argv):
    if len(argv) == 4 and argv[1] == "setup":
        setup(argv[2], int(argv[3]))
    elif len(argv) == 6 and argv[1] == "run":
        run(argv[2], argv[3], argv[4], datetime.date.fromisoformat(argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
