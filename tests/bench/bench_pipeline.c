/*
 * The lifecycle pipeline benchmark (issue 8, "Figures"), run by tests/bench/pipeline.sh on
 * a throwaway cluster with durable settings. Everything goes through libstpm's public API:
 *
 *   setup CONNINFO N YAML DOCDIR PLANS
 *       load the workflow YAML, add the plans PLANS (comma-separated codes; municipal,
 *       funded; projects go to them in turn), N/4 organisations with
 *       valid USCCs (and one blacklisted organisation without projects), N projects with
 *       one leader each, distinct titles, amounts, and the documents the pipeline needs
 *       (application_form, integrity_commitment, task_book, acceptance_report from
 *       DOCDIR), all dated 2026-01-02.
 *   one CONNINFO YEAR STATE TRANSITION TODAY
 *       take TRANSITION on every project of YEAR in STATE, one stpm_project_advance call
 *       (one transaction) each, in code order.
 *   bulk CONNINFO YEAR STATE TRANSITION TODAY
 *       the same in one stpm_project_advance_where call.
 *
 * one and bulk print "MODE TRANSITION projects seconds per_second"; any project not
 * advanced is an error (exit 1), so a run only reports rates for work actually done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stpm/org.h"
#include "stpm/plan.h"
#include "stpm/project.h"
#include "stpm/uscc.h"
#include "stpm/wfstore.h"
#include "stpm/workflow.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, stpm_error *err)
{
    fprintf(stderr, "bench_pipeline: %s: %s\n%s\n", what, err->message ? err->message : "?",
            err->detail ? err->detail : "");
    return 1;
}

/* The shared generators of titles (the peer has the same ones in peer_pipeline.py), chosen
 * by BENCH_TITLES. Neither gives two titles anywhere near the 0.8 trigram similarity of
 * no_duplicate, so every admission passes.
 *
 * bureau (the default): Chinese titles in the bureau's own shape, written without spaces
 * as in its report ("风力发电偏航变桨轴承用钢材材料研发"): an application, a quality, an
 * object and the work, in one of three phrasings; i picks a distinct combination of the
 * 1,728,000 (7919 is prime to their count). pg_trgm reads such a title as one word, so
 * the trigrams across the joins of its parts are rare, as in real titles.
 *
 * stress: eight English words out of 64 chosen by two hashes of i, then i spelled in
 * letters. Every trigram but those of the last word is shared by an eighth of all titles:
 * the worst case for the trigram index (every probe merges long posting lists). */
static const char *const scenes[32] = {
    "新能源汽车", "海洋工程", "轨道交通", "航空航天", "风力发电", "光伏发电", "智能电网",
    "高端装备",   "现代农业", "食品加工", "生物医药", "医疗器械", "集成电路", "半导体照明",
    "船舶制造",   "纺织服装", "精细化工", "节能环保", "建筑工程", "冷链物流", "畜禽养殖",
    "水产养殖",   "家用电器", "工程机械", "数控机床", "电力电子", "通信网络", "安防监控",
    "仓储物流",   "污水处理", "固废利用", "氢能储运"};
static const char *const qualities[20] = {"高性能", "智能化", "低能耗", "高精度", "绿色",
                                          "大尺寸", "耐高温", "轻量化", "高可靠", "长寿命",
                                          "低成本", "高效",   "柔性",   "模块化", "超薄",
                                          "耐腐蚀", "高强度", "微型",   "数字化", "无人化"};
static const char *const objects[60] = {
    "轴承钢球",     "绞车系统",   "复合材料",   "燃料电池电堆", "锂电池隔膜",   "伺服电机",
    "环氧树脂",     "检测装备",   "生物饲料",   "功率器件",     "工业机器人",   "酶制剂",
    "偏航变桨轴承", "防火玻纤布", "预浸料",     "减速器",       "传感器",       "控制器",
    "驱动芯片",     "光纤光栅",   "碳纤维",     "石墨烯薄膜",   "陶瓷基板",     "液压泵",
    "变频器",       "逆变器",     "储能电池",   "电解槽",       "膜电极",       "催化剂",
    "涂料",         "胶粘剂",     "密封件",     "齿轮箱",       "电缆",         "光模块",
    "激光器",       "显示面板",   "滤波器",     "天线",         "清洗剂",       "疫苗",
    "诊断试剂",     "中间体",     "植保无人机", "收获机械",     "温室系统",     "灌溉设备",
    "饲料添加剂",   "益生菌",     "保鲜包装",   "焊接机器人",   "视觉检测系统", "叶片",
    "塔筒",         "铸锻件",     "钢丝绳",     "紧固件",       "阀门",         "泵体"};
static const char *const works[15] = {
    "关键技术研发", "研制及产业化", "工艺开发",       "集成应用示范", "研制",
    "研发",         "开发与应用",   "关键技术研究",   "产业化",       "制备技术研究",
    "设计与制造",   "性能提升",     "国产化替代研究", "智能制造",     "检测方法研究"};

static const char *const words[64] = {
    "adaptive",  "biomass",  "catalytic", "digital",  "electric", "fibre",    "graphene",
    "hydrogen",  "imaging",  "jet",       "kinetic",  "laser",    "marine",   "nano",
    "optical",   "polymer",  "quantum",   "robotic",  "sensor",   "thermal",  "ultrasonic",
    "vaccine",   "wireless", "xenon",     "yeast",    "zeolite",  "alloy",    "battery",
    "ceramic",   "drone",    "enzyme",    "fuel",     "genome",   "harbour",  "inverter",
    "joint",     "kiln",     "lithium",   "membrane", "network",  "offshore", "photonic",
    "quartz",    "radar",    "silicon",   "textile",  "urban",    "valve",    "welding",
    "xylem",     "yarn",     "zinc",      "antenna",  "bearing",  "coating",  "diesel",
    "engine",    "filter",   "gearbox",   "hull",     "insulin",  "jacket",   "keel",
    "logistics",
};

static void make_title(int i, char *buf, size_t len)
{
    const char *kind = getenv("BENCH_TITLES");
    if (!kind || strcmp(kind, "stress") != 0) {
        long long c = (long long)i * 7919 % 1728000;
        const char *a = scenes[c % 32], *q = qualities[c / 32 % 20], *o = objects[c / 640 % 60],
                   *w = works[c / 38400 % 15];
        if (c / 576000 == 0)
            snprintf(buf, len, "面向%s的%s%s%s", a, q, o, w);
        else if (c / 576000 == 1)
            snprintf(buf, len, "%s用%s%s%s", a, q, o, w);
        else
            snprintf(buf, len, "%s%s%s及其在%s中的应用", q, o, w, a);
        return;
    }
    unsigned h = (unsigned)i * 2654435761u, g = ((unsigned)i * 40503u + 12345u) * 2246822519u;
    int n = snprintf(buf, len, "%s %s %s %s %s %s %s %s ", words[h >> 26], words[(h >> 20) & 63],
                     words[(h >> 14) & 63], words[(h >> 8) & 63], words[(h >> 2) & 63],
                     words[g >> 26], words[(g >> 20) & 63], words[(g >> 14) & 63]);
    for (int k = i; n < (int)len - 1; k /= 26) { /* i in letters, least significant first */
        buf[n++] = (char)('a' + k % 26);
        if (k < 26)
            break;
    }
    buf[n] = '\0';
}

static void make_uscc(int i, char out[19])
{
    char s16[24];
    snprintf(s16, sizeof(s16), "91320600%08d", (10000000 + i) % 100000000);
    stpm_uscc_complete(s16, out);
}

#define MAX_PLANS 16

static int setup(stpm_db *db, int n, const char *yaml, const char *docdir, const char *plans)
{
    char plan[MAX_PLANS][17];
    int n_plans = 0;
    for (const char *t = plans; *t && n_plans < MAX_PLANS;) {
        size_t len = strcspn(t, ",");
        snprintf(plan[n_plans++], sizeof(plan[0]), "%.*s", (int)(len < 16 ? len : 16), t);
        t += len + (t[len] == ',');
    }
    stpm_error err = STPM_ERROR_INIT;
    stpm_date day;
    stpm_date_parse("2026-01-02", &day);
    stpm_workflow *wf = NULL;
    if (stpm_workflow_load_file(&wf, yaml, &err) < 0)
        return fail("workflow load", &err);
    if (stpm_wfstore_put(db, wf, NULL, &err) < 0)
        return fail("workflow load", &err);
    for (int k = 0; k < n_plans; k++) {
        char name[320];
        snprintf(name, sizeof(name), "南通市科技计划（基准 %s）", plan[k]);
        stpm_plan_spec ps = STPM_PLAN_SPEC_INIT;
        ps.code = plan[k];
        ps.name = name;
        ps.level = "municipal";
        ps.workflow = stpm_workflow_name(wf);
        ps.funded = true;
        if (stpm_plan_add(db, &ps, day, &err) < 0)
            return fail("plan add", &err);
    }
    stpm_workflow_free(wf);

    int n_orgs = n / 4 > 0 ? n / 4 : 1;
    char uscc[19];
    for (int k = 0; k <= n_orgs; k++) {
        char name[64];
        snprintf(name, sizeof(name), "基准单位%05d", k);
        make_uscc(k, uscc);
        stpm_org_spec os = STPM_ORG_SPEC_INIT;
        os.uscc = uscc;
        os.name = name;
        os.town = k % 2 ? "崇川区" : "通州区";
        char norm[19];
        if (stpm_org_add(db, &os, day, norm, &err) < 0)
            return fail("org add", &err);
    }
    /* Organisation n_orgs has no projects and is on the blacklist: credit_clean looks. */
    if (stpm_org_blacklist(db, uscc, "基准：失信记录", day, NULL, day, &err) < 0)
        return fail("org blacklist", &err);

    static const char *const kinds[] = {"application_form", "integrity_commitment", "task_book",
                                        "acceptance_report"};
    char path[4][1024];
    for (int d = 0; d < 4; d++)
        snprintf(path[d], sizeof(path[d]), "%s/%s.txt", docdir, kinds[d]);
    for (int i = 1; i <= n; i++) {
        char title[160], leader[32], req[48], org[19];
        make_title(i, title, sizeof(title));
        snprintf(leader, sizeof(leader), "负责人%06d", i);
        snprintf(req, sizeof(req), "amount_requested=%d.%02d", 50 + i % 200, i % 100);
        make_uscc((i - 1) % n_orgs, org);
        const char *sets[] = {req};
        stpm_project_new pn = STPM_PROJECT_NEW_INIT;
        pn.plan = plan[(i - 1) % n_plans];
        pn.org = org;
        pn.title = title;
        pn.leader = leader;
        pn.year = 2026;
        pn.sets = sets;
        pn.n_sets = 1;
        pn.today = day;
        char *code = NULL;
        if (stpm_project_create(db, &pn, &code, &err) < 0)
            return fail("project create", &err);
        for (int d = 0; d < 4; d++) {
            if (stpm_project_attach(db, code, kinds[d], path[d], day, NULL, NULL, &err) < 0) {
                free(code);
                return fail("project attach", &err);
            }
        }
        free(code);
    }
    return 0;
}

static stpm_project_filter filter_for(const char *year, const char *state)
{
    stpm_project_filter f = STPM_PROJECT_FILTER_INIT;
    f.year = atoi(year);
    f.state = strdup(state);
    return f;
}

static int one(stpm_db *db, const char *year, const char *state, const char *tr, stpm_date today)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_project_filter f = filter_for(year, state);
    stpm_rows *rows = NULL;
    int rc = stpm_project_list(db, &f, today, &rows, &err);
    stpm_project_filter_clear(&f);
    if (rc < 0)
        return fail("project list", &err);
    size_t n = stpm_rows_count(rows);
    stpm_advance_options ao = STPM_ADVANCE_OPTIONS_INIT;
    ao.today = today;
    double t0 = now();
    /* publicize takes the approved amount (its one `input:`), each project its own. */
    bool amounts = strcmp(tr, "publicize") == 0;
    for (size_t i = 0; i < n; i++) {
        const char *code = stpm_rows_value(rows, i, 0);
        char appr[48];
        const char *sets[] = {appr};
        snprintf(appr, sizeof(appr), "amount_approved=%zu.00", 30 + i % 150);
        ao.sets = amounts ? sets : NULL;
        ao.n_sets = amounts ? 1 : 0;
        if (stpm_project_advance(db, code, tr, &ao, NULL, &err) < 0) {
            fprintf(stderr, "bench_pipeline: %s %s:\n", tr, code);
            stpm_rows_free(rows);
            return fail("project advance", &err);
        }
    }
    double t = now() - t0;
    stpm_rows_free(rows);
    if (n == 0) {
        fprintf(stderr, "bench_pipeline: no project of %s in state %s\n", year, state);
        return 1;
    }
    printf("one %s %zu %.3f %.1f\n", tr, n, t, n / t);
    return 0;
}

static int bulk(stpm_db *db, const char *year, const char *state, const char *tr, stpm_date today)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_project_filter f = filter_for(year, state);
    stpm_bulk_report rep = STPM_BULK_REPORT_INIT;
    stpm_advance_options ao = STPM_ADVANCE_OPTIONS_INIT;
    ao.today = today;
    int rc = 0;
    double t0 = now(), t = 0;
    if (strcmp(tr, "publicize") == 0) {
        /* Each project its own approved amount: one stpm_project_advance_each, timed with
         * the listing that a caller of it needs. */
        stpm_rows *rows = NULL;
        if ((rc = stpm_project_list(db, &f, today, &rows, &err)) == 0) {
            size_t n = stpm_rows_count(rows);
            stpm_advance_item *items = calloc(n + 1, sizeof(*items));
            char(*appr)[48] = calloc(n + 1, sizeof(*appr));
            const char **sets = calloc(n + 1, sizeof(*sets));
            if (!items || !appr || !sets) {
                fprintf(stderr, "bench_pipeline: out of memory\n");
                rc = -1;
            }
            for (size_t i = 0; rc == 0 && i < n; i++) {
                snprintf(appr[i], sizeof(appr[i]), "amount_approved=%zu.00", 30 + i % 150);
                sets[i] = appr[i];
                items[i].code = stpm_rows_value(rows, i, 0);
                items[i].sets = &sets[i];
                items[i].n_sets = 1;
            }
            if (rc == 0)
                rc = stpm_project_advance_each(db, items, n, tr, &ao, &rep, &err);
            free(items);
            free(appr);
            free(sets);
        }
        stpm_rows_free(rows);
    } else {
        rc = stpm_project_advance_where(db, &f, tr, &ao, &rep, &err);
    }
    t = now() - t0;
    stpm_project_filter_clear(&f);
    if (rc < 0)
        return fail("project advance --where", &err);
    rc = 0;
    if (rep.n == 0 || rep.n_ok != rep.n) {
        fprintf(stderr, "bench_pipeline: bulk %s: %zu of %zu not ok\n", tr, rep.n - rep.n_ok,
                rep.n);
        for (size_t i = 0, shown = 0; i < rep.n && shown < 5; i++)
            if (rep.items[i].outcome != STPM_OUTCOME_OK) {
                fprintf(stderr, "  %s: %s: %s\n", rep.items[i].code,
                        stpm_outcome_name(rep.items[i].outcome),
                        rep.items[i].message ? rep.items[i].message : "");
                shown++;
            }
        rc = 1;
    }
    printf("bulk %s %zu %.3f %.1f\n", tr, rep.n, t, rep.n / t);
    stpm_bulk_report_clear(&rep);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pipeline setup CONNINFO N YAML DOCDIR PLANS\n"
                        "       bench_pipeline one|bulk CONNINFO YEAR STATE TRANSITION TODAY\n");
        return 2;
    }
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = argv[2];
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_db_open(&db, &o, &err) < 0)
        return fail("connect", &err);
    int rc = 2;
    stpm_date today = 0;
    if (strcmp(argv[1], "setup") == 0 && argc == 7) {
        rc = setup(db, atoi(argv[3]), argv[4], argv[5], argv[6]);
    } else if (argc == 7 && stpm_date_parse(argv[6], &today) < 0) {
        fprintf(stderr, "bench_pipeline: bad date %s\n", argv[6]);
    } else if (strcmp(argv[1], "one") == 0 && argc == 7) {
        rc = one(db, argv[3], argv[4], argv[5], today);
    } else if (strcmp(argv[1], "bulk") == 0 && argc == 7) {
        rc = bulk(db, argv[3], argv[4], argv[5], today);
    } else {
        fprintf(stderr, "bench_pipeline: bad arguments\n");
    }
    stpm_db_free(db);
    return rc;
}
