/*
 * gen_survey: write N rows of a valid October survey (科技项目调研) as CSV, for benchmarks.
 *
 *   gen_survey N [SEED] > survey.csv
 *
 * The output is deterministic for (N, SEED): UTF-8 without BOM, CRLF, the Chinese header of
 * docs/survey.md, about three candidates per organisation, valid USCCs (check characters
 * computed), distinct keys (USCC, title), a quoted value with a comma in every tenth row.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/uscc.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define PICK(a) (a[rnd() % (sizeof(a) / sizeof(a[0]))])

static const char *const towns[] = {
    "如城街道",   "城南街道", "城北街道", "东陈镇", "丁堰镇",
    "白蒲镇",     "下原镇",   "九华镇",   "石庄镇", "长江镇",
    "吴窑镇",     "江安镇",   "搬经镇",   "磨头镇", "如皋经济技术开发区",
    "如皋高新区",
};
static const char *const fields[] = {"新材料",   "高端装备", "电子信息", "生物医药",
                                     "现代农业", "新能源",   "节能环保", "软件开发"};
static const char *const plans[] = {"省重点研发计划（产业前瞻与关键核心技术）",
                                    "省重点研发计划（现代农业）",
                                    "省国际科技合作计划",
                                    "省科技成果转化专项资金",
                                    "南通市科技计划",
                                    "如皋市科技计划",
                                    "国家重点研发计划"};
static const char *const partners[] = {
    "南京大学",     "东南大学", "江南大学",         "上海大学", "吉林大学", "江苏大学",
    "华东理工大学", "东华大学", "上海应用技术大学", "南通大学", ""};
static const char *const words[] = {"高性能", "智能化", "低能耗", "高精度", "绿色",
                                    "大尺寸", "耐高温", "轻量化", "高可靠"};
static const char *const things[] = {"轴承钢球",   "绞车系统",       "复合材料",   "氢燃料电池电堆",
                                     "锂电池隔膜", "伺服电机",       "环氧树脂",   "检测装备",
                                     "生物饲料",   "功率半导体器件", "工业机器人", "食品酶制剂"};
static const char *const doing[] = {"关键技术研发", "研制及产业化", "工艺开发", "集成应用示范"};
static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "吴",
                                       "周", "徐", "孙", "朱", "马", "胡", "郭", "何"};
static const char *const given[] = {"伟", "敏", "静",   "强",   "磊",   "军",   "洋",   "勇",
                                    "艳", "杰", "建华", "晓东", "海燕", "志刚", "春梅", "国平"};
static const char *const org_words[] = {"力威", "聚星", "恒瑞", "华泰", "鼎盛", "海通",
                                        "皋瑞", "长兴", "金鑫", "瑞丰", "新源", "宏达"};
static const char *const org_kinds[] = {"机械",     "新材料",   "电子科技", "生物科技",
                                        "能源科技", "智能装备", "农业科技"};

static void amount(char *buf, size_t n, unsigned max)
{
    unsigned v = (unsigned)(rnd() % (max * 10));
    snprintf(buf, n, "%u.%u", v / 10, v % 10);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: gen_survey N [SEED]\n");
        return 2;
    }
    long long n = atoll(argv[1]);
    rng_state = argc == 3 ? strtoull(argv[2], NULL, 10) : 2020;
    fputs("企业名称,统一社会信用代码,所属板块,项目名称,技术领域,拟申报计划,项目负责人,"
          "预计总投入（万元）,申请资助（万元）,研发投入（万元）,营业收入（万元）,"
          "是否高新技术企业,产学研合作单位,技术成熟度,备注\r\n",
          stdout);
    const char *town = towns[0];
    char org[128] = "", uscc[STPM_USCC_LEN + 1] = "";
    int high_tech = 0;
    char revenue[32] = "0";
    for (long long i = 0; i < n; i++) {
        long long org_no = i / 3;
        if (i % 3 == 0) {
            char s16[24];
            /* 91 企业, 320682 如皋市, then an 8-digit organisation code body */
            snprintf(s16, sizeof(s16), "91320682%08llu",
                     (unsigned long long)(10000000 + org_no * 7919) % 100000000u);
            if (stpm_uscc_complete(s16, uscc) < 0)
                return 1;
            snprintf(org, sizeof(org), "南通%s%s有限公司%lld", PICK(org_words), PICK(org_kinds),
                     org_no);
            town = PICK(towns);
            high_tech = (int)(rnd() % 2);
            amount(revenue, sizeof(revenue), 50000);
        }
        char planned[32], requested[32], rd[32];
        amount(planned, sizeof(planned), 5000);
        amount(requested, sizeof(requested), 500);
        amount(rd, sizeof(rd), 2000);
        printf("%s,%s,%s,%s%s%s（%lld）,%s,%s,%s%s,%s,%s,%s,%s,%s,%s,%d,%s\r\n", org, uscc, town,
               PICK(words), PICK(things), PICK(doing), i + 1, PICK(fields), PICK(plans),
               PICK(surnames), PICK(given), planned, requested, rd, revenue,
               high_tech ? "是" : "否", PICK(partners), (int)(rnd() % 9) + 1,
               i % 10 == 0 ? "\"已开展前期研究, 拟联合攻关\"" : "");
    }
    return ferror(stdout) ? 1 : 0;
}
