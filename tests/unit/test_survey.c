/* Unit tests of the survey reader (core/survey): headers, values, errors and their
 * FILE:ROW:COLUMN locations, duplicates, YAML, encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stpm/survey.h"

#define HEADER_ZH                                                                                                   \
    "企业名称,统一社会信用代码,所属板块,项目名称,技术领域,拟申报计划,项目负责人," \
    "预计总投入（万元）,申请资助（万元）,研发投入（万元）,营业收入（万元）,"       \
    "是否高新技术企业,产学研合作单位,技术成熟度,备注\r\n"
/* valid codes (check characters computed) */
#define USCC1 "91350100M000100Y43"
#define USCC2 "91320682MA1KK5MQ2F"

typedef struct result {
    char path[64];
    stpm_survey_reader *r;
    int rc;        /* of the last next() */
    int finish;    /* of finish() */
    size_t n_rows; /* valid rows */
    stpm_survey_row rows[16];
    char *strings[16][4]; /* copies of org_name, title, title_key, uscc */
    stpm_error err;
} result;

static void write_file(result *res, const char *suffix, const char *bytes, size_t n)
{
    snprintf(res->path, sizeof(res->path), "/tmp/stpm-survey-XXXXXX%s", suffix);
    int fd = mkstemps(res->path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

static result *read_all(const char *suffix, const char *bytes, size_t n, stpm_encoding enc)
{
    result *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    write_file(res, suffix, bytes, n);
    stpm_survey_options o = STPM_SURVEY_OPTIONS_INIT;
    o.year = 2020;
    o.encoding = enc;
    o.display_name = "s.csv";
    assert_int_equal(stpm_survey_reader_open(&res->r, res->path, &o, &res->err), 0);
    const stpm_survey_row *row;
    while ((res->rc = stpm_survey_reader_next(res->r, &row, &res->err)) > 0) {
        if (res->n_rows < 16) {
            res->rows[res->n_rows] = *row;
            char **s = res->strings[res->n_rows];
            s[0] = strdup(row->org_name);
            s[1] = strdup(row->title);
            s[2] = strdup(row->title_key);
            s[3] = strdup(row->uscc);
        }
        res->n_rows++;
    }
    stpm_error_clear(&res->err);
    res->finish = stpm_survey_reader_finish(res->r, &res->err);
    return res;
}

static result *read_csv(const char *text)
{
    return read_all(".csv", text, strlen(text), STPM_ENCODING_AUTO);
}

static void free_result(result *res)
{
    for (size_t i = 0; i < res->n_rows && i < 16; i++)
        for (int k = 0; k < 4; k++)
            free(res->strings[i][k]);
    stpm_survey_reader_free(res->r);
    stpm_error_clear(&res->err);
    unlink(res->path);
    free(res);
}

/* The errors as "ROW:COLUMN: message" lines, for exact comparison. */
static char *errors_text(const result *res)
{
    size_t n;
    const stpm_diag *d = stpm_survey_reader_errors(res->r, &n);
    size_t cap = 64 + n * 512, len = 0;
    char *s = calloc(1, cap);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s:%d:%s: %s\n", d[i].file, d[i].line,
                                d[i].column ? d[i].column : "", d[i].message);
    return s;
}

static void expect_errors(const result *res, const char *want)
{
    char *got = errors_text(res);
    if (strcmp(got, want) != 0)
        fail_msg("errors differ\n--- got:\n%s--- want:\n%s", got, want);
    free(got);
}

static void valid_chinese(void **state)
{
    (void)state;
    result *res = read_csv(
        "\xEF\xBB\xBF" HEADER_ZH "南通力威机械有限公司," USCC1
        ",如皋经济技术开发区,全海深地质绞车系统研制,高端装备,"
        "国家重点研发计划,张建华,\"3,200\",800,1250.5,\"38,600.25\",是,东南大学,7,\r\n"
        "  力星钢球 ,９１３２０６８２ｍａ１ｋｋ５ｍｑ２ｆ,城南街道,"
        "Ｇ３级　陶瓷球  精密加工,新材料,,施祥贵,１２３４．５, ,,,no,,９,\"备注, 含逗号\"\r\n");
    assert_int_equal(res->rc, 0);
    assert_int_equal(res->finish, 0);
    assert_int_equal(res->n_rows, 2);
    stpm_survey_row *a = &res->rows[0], *b = &res->rows[1];
    assert_int_equal(a->row, 2);
    assert_int_equal(a->year, 2020);
    assert_string_equal(res->strings[0][0], "南通力威机械有限公司");
    assert_true(a->planned_investment.set);
    assert_int_equal(a->planned_investment.value, 3200 * 10000LL);
    assert_int_equal(a->rd_spend.value, 12505000);
    assert_int_equal(a->revenue.value, 386002500);
    assert_int_equal(a->high_tech, 1);
    assert_int_equal(a->maturity, 7);
    assert_int_equal(b->row, 3);
    assert_string_equal(res->strings[1][0], "力星钢球");
    assert_string_equal(res->strings[1][3], USCC2);
    assert_string_equal(res->strings[1][1], "Ｇ３级 陶瓷球 精密加工");
    assert_string_equal(res->strings[1][2], "g3级 陶瓷球 精密加工");
    assert_int_equal(b->planned_investment.value, 12345000);
    assert_false(b->requested_funding.set);
    assert_int_equal(b->high_tech, 0);
    assert_int_equal(b->maturity, 9);
    assert_int_equal(stpm_survey_reader_rows(res->r), 2);
    free_result(res);
}

static void english_any_order_variants_and_extra(void **state)
{
    (void)state;
    result *res =
        read_csv("Leader, Title ,USCC,town,org_name, 预计总投入 (万元) ,电话,,\n"
                 "王强,港口起重机防摇控制," USCC1 ",石庄镇,江苏鼎盛重工有限公司,2600,0513-1234,,\n"
                 ",,,,,,,,\n"
                 "何军,离心空压机," USCC2 ",如皋高新区,势加透博,0,,,\n");
    assert_int_equal(res->finish, 0);
    assert_int_equal(res->n_rows, 2);
    assert_int_equal(res->rows[0].planned_investment.value, 26000000);
    assert_int_equal(res->rows[1].row, 4); /* the blank row still counts */
    assert_true(res->rows[1].planned_investment.set);
    assert_int_equal(res->rows[1].high_tech, -1);
    size_t n;
    const stpm_diag *w = stpm_survey_reader_warnings(res->r, &n);
    assert_int_equal(n, 1);
    assert_int_equal(w[0].line, 1);
    assert_string_equal(w[0].column, "电话");
    assert_string_equal(w[0].message, "unknown column (G) ignored");
    free_result(res);
}

static void missing_columns(void **state)
{
    (void)state;
    result *res = read_csv("企业名称,统一社会信用代码,所属板块,项目名称\r\n"
                           "A公司," USCC1 ",如城街道,项目甲\r\n");
    assert_int_equal(res->finish, STPM_EINPUT);
    assert_int_equal(res->n_rows, 0);
    expect_errors(res, "s.csv:1:项目负责人: missing required column 项目负责人 (leader)\n");
    assert_string_equal(res->err.message, "1 error in s.csv");
    assert_int_equal(res->err.n_diags, 1);
    free_result(res);

    res = read_csv("名字,电话\r\n甲,1\r\n乙,2\r\n");
    assert_int_equal(res->finish, STPM_EINPUT);
    assert_int_equal(stpm_survey_reader_error_count(res->r), 1);
    free_result(res);
}

static void every_error_located(void **state)
{
    (void)state;
    result *res =
        read_csv(HEADER_ZH "甲公司," USCC1
                           ",如城街道,项目一,新材料,,王伟,-5,abc,\"1,2345\",1.23456,也许,,10,\r\n"
                           "乙公司,91350100M000100Y44,,\"  \",,,李敏,,,,,,,0,\r\n"
                           "丙公司," USCC2 ",城北街道,\"项目\r\n三\",,,张静,,,,,是,,,\r\n"
                           "丁公司," USCC2 ",城北街道,好项目,,,张静,,,,,是,,\"\",,多余\r\n"
                           "戊公司," USCC1 ",城北街道,有\"引号的项目,,,张静,,,,,是,,,\r\n");
    assert_int_equal(res->finish, STPM_EINPUT);
    assert_int_equal(res->n_rows, 1); /* only 丙 is clean */
    assert_int_equal(res->rows[0].row, 4);
    expect_errors(
        res,
        "s.csv:2:预计总投入（万元）: negative amount \"-5\": amounts cannot be below zero\n"
        "s.csv:2:申请资助（万元）: invalid amount \"abc\": expected a number of 万元 such as "
        "1234.5\n"
        "s.csv:2:研发投入（万元）: invalid amount \"1,2345\": expected a number of 万元 such as "
        "1234.5\n"
        "s.csv:2:营业收入（万元）: amount \"1.23456\" has more than 4 decimal places\n"
        "s.csv:2:是否高新技术企业: invalid yes/no value \"也许\": expected 是 or 否 (yes or no)\n"
        "s.csv:2:技术成熟度: technology maturity \"10\" is not a whole number from 1 to 9\n"
        "s.csv:3:统一社会信用代码: invalid unified social credit code \"91350100M000100Y44\": "
        "check character (18) is '4', expected '3'\n"
        "s.csv:3:所属板块: required value is empty\n"
        "s.csv:3:项目名称: required value is empty\n"
        "s.csv:3:技术成熟度: technology maturity \"0\" is not a whole number from 1 to 9\n"
        "s.csv:5:P: value beyond the last column of the header (the header has 15 columns; is a "
        "comma in a value not quoted?)\n"
        "s.csv:6:项目名称: stray quote in an unquoted value (line 7, character 30): quote the "
        "whole value and double the quotes inside\n");
    assert_string_equal(res->err.message, "12 errors in s.csv");
    assert_int_equal(res->err.n_diags, 12);
    free_result(res);
}

static void duplicates(void **state)
{
    (void)state;
    result *res = read_csv("企业名称,统一社会信用代码,所属板块,项目名称,项目负责人\r\n"
                           "甲," USCC1 ",如城街道,氢燃料电池 电堆研发,王伟\r\n"
                           "甲," USCC2 ",如城街道,氢燃料电池 电堆研发,王伟\r\n"
                           "甲," USCC1 ",如城街道,其他项目,王伟\r\n"
                           "甲,91350100m000100y43,如城街道,\"  氢燃料电池　　电堆研发 \",李敏\r\n"
                           "甲," USCC2 ",如城街道,氢燃料电池 电堆研发,王伟\r\n");
    assert_int_equal(res->finish, STPM_EINPUT);
    assert_int_equal(res->n_rows, 3);
    expect_errors(res, "s.csv:5:项目名称: duplicate of row 2: the same unified social credit "
                       "code and project title\n"
                       "s.csv:6:项目名称: duplicate of row 3: the same unified social credit "
                       "code and project title\n");
    free_result(res);
}

static void yaml_file(void **state)
{
    (void)state;
    const char *y = "# survey\n"
                    "- 企业名称: 南通力威机械有限公司\n"
                    "  统一社会信用代码: " USCC1 "\n"
                    "  所属板块: 如皋经济技术开发区\n"
                    "  项目名称: 全海深地质绞车系统研制\n"
                    "  项目负责人: 张建华\n"
                    "  预计总投入（万元）: 3200\n"
                    "  是否高新技术企业: 是\n"
                    "  技术成熟度: 7\n"
                    "- org_name: 力星钢球\n"
                    "  uscc: " USCC2 "\n"
                    "  town: 城南街道\n"
                    "  title: 钢球\n"
                    "  leader: ~\n"
                    "  revenue: -1\n"
                    "  phone: 123\n"
                    "- org_name: 力星钢球\n"
                    "  uscc: " USCC2 "\n"
                    "  town: 城南街道\n"
                    "  title: 钢球\n"
                    "  leader: 施祥贵\n"
                    "  notes: [a, b]\n";
    result *res = read_all(".yaml", y, strlen(y), STPM_ENCODING_AUTO);
    assert_int_equal(stpm_survey_reader_format(res->r), STPM_SURVEY_FORMAT_YAML);
    assert_int_equal(res->n_rows, 1);
    assert_int_equal(res->rows[0].row, 2);
    assert_int_equal(res->rows[0].planned_investment.value, 32000000);
    assert_int_equal(res->rows[0].high_tech, 1);
    expect_errors(res, "s.csv:14:leader: required value is empty\n"
                       "s.csv:15:revenue: negative amount \"-1\": amounts cannot be below zero\n"
                       "s.csv:22:notes: expected a single value, not a list or mapping\n"
                       "s.csv:17:title: duplicate of row 10: the same unified social credit "
                       "code and project title\n");
    size_t n;
    const stpm_diag *w = stpm_survey_reader_warnings(res->r, &n);
    assert_int_equal(n, 1);
    assert_string_equal(w[0].column, "phone");
    free_result(res);

    /* found by content without the extension */
    res = read_all(".txt2", y, strlen(y), STPM_ENCODING_AUTO);
    assert_int_equal(stpm_survey_reader_format(res->r), STPM_SURVEY_FORMAT_YAML);
    assert_int_equal(res->n_rows, 1);
    free_result(res);

    /* not a list */
    res = read_all(".yaml", "a: 1\n", 5, STPM_ENCODING_AUTO);
    assert_int_equal(res->rc, STPM_EINPUT);
    assert_int_equal(res->finish, STPM_EINPUT);
    expect_errors(res, "s.csv:1:: expected a list of survey rows (\"- 企业名称: ...\")\n");
    free_result(res);
}

static void gb18030_survey(void **state)
{
    (void)state;
    const char *utf8 = HEADER_ZH "江苏力星通用钢球股份有限公司," USCC2
                                 ",城南街道,高端轴承用陶瓷球,新材料,,施祥贵,,,,,是,,,\r\n";
    char gb[2048];
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    char *in = (char *)utf8, *out = gb;
    size_t inleft = strlen(utf8), outleft = sizeof(gb);
    assert_true(iconv(cd, &in, &inleft, &out, &outleft) != (size_t)-1);
    iconv_close(cd);
    size_t n = sizeof(gb) - outleft;
    for (int forced = 0; forced < 2; forced++) {
        result *res = read_all(".csv", gb, n, forced ? STPM_ENCODING_GB18030 : STPM_ENCODING_AUTO);
        assert_int_equal(res->finish, 0);
        assert_int_equal(res->n_rows, 1);
        assert_string_equal(res->strings[0][0], "江苏力星通用钢球股份有限公司");
        assert_int_equal(stpm_survey_reader_encoding(res->r), STPM_ENCODING_GB18030);
        free_result(res);
    }
    /* forced UTF-8 on GB18030 bytes: the error names the row */
    result *res = read_all(".csv", gb, n, STPM_ENCODING_UTF8);
    assert_int_equal(res->rc, STPM_EINPUT);
    assert_int_equal(res->finish, STPM_EINPUT);
    size_t nd;
    const stpm_diag *d = stpm_survey_reader_errors(res->r, &nd);
    assert_int_equal(nd, 1);
    assert_int_equal(d[0].line, 1);
    assert_non_null(strstr(d[0].message, "invalid UTF-8 byte sequence"));
    free_result(res);
}

static void unterminated_quote_row(void **state)
{
    (void)state;
    result *res = read_csv("企业名称,统一社会信用代码,所属板块,项目名称,项目负责人\r\n"
                           "甲," USCC1 ",如城街道,项目,王伟\r\n"
                           "乙," USCC2 ",如城街道,\"没有结束的引号,王伟\r\n");
    assert_int_equal(res->rc, STPM_EINPUT);
    assert_int_equal(res->finish, STPM_EINPUT);
    expect_errors(res, "s.csv:3:项目名称: unterminated quoted field (the quote opens on line 3)\n");
    free_result(res);
}

static void options_and_helpers(void **state)
{
    (void)state;
    stpm_encoding e;
    assert_int_equal(stpm_encoding_parse("UTF-8", &e), 0);
    assert_int_equal(e, STPM_ENCODING_UTF8);
    assert_int_equal(stpm_encoding_parse("gbk", &e), 0);
    assert_int_equal(e, STPM_ENCODING_GB18030);
    assert_int_equal(stpm_encoding_parse("latin1", &e), -1);
    assert_string_equal(stpm_encoding_name(STPM_ENCODING_GB18030), "gb18030");
    char *k = stpm_survey_title_key("  ５Ｇ　基站  Ｆｉｌｔｅｒ\t研发 ");
    assert_string_equal(k, "5g 基站 filter 研发");
    free(k);
    stpm_survey_reader *r = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_survey_reader_open(&r, "/nonexistent/survey.csv", NULL, &err),
                     STPM_ENOTFOUND);
    assert_null(r);
    stpm_error_clear(&err);
    stpm_survey_reader_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_chinese),
        cmocka_unit_test(english_any_order_variants_and_extra),
        cmocka_unit_test(missing_columns),
        cmocka_unit_test(every_error_located),
        cmocka_unit_test(duplicates),
        cmocka_unit_test(yaml_file),
        cmocka_unit_test(gb18030_survey),
        cmocka_unit_test(unterminated_quote_row),
        cmocka_unit_test(options_and_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
