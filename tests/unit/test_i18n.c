/* Unit tests of the messages' language (core/util/i18n.c, core/util/server_text.c): English
 * under the C locale; under zh_CN.UTF-8 (when the system has it) the catalog's Chinese, and
 * the server's English reworded from its known templates with the parameters kept, and a
 * read-only standby's refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/error.h"
#include "stpm/i18n.h"
#include "store/db_internal.h"
#include "util/server_text.h"

static void is_text(const char *in, const char *want)
{
    char *got = stpm_server_text(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void english(void **state)
{
    (void)state;
    setlocale(LC_ALL, "C");
    assert_string_equal(stpm_gettext("unknown database error"), "unknown database error");
    assert_string_equal(stpm_pgettext("column", "code"), "code");
    is_text("project 2021-X-0001 does not exist", "project 2021-X-0001 does not exist");
    assert_null(stpm_server_text(NULL));
    stpm_error err = STPM_ERROR_INIT;
    stpm_error_set(&err, STPM_ENOTFOUND, "plan %s does not exist", "NOPE");
    assert_string_equal(err.message, "plan NOPE does not exist");
    stpm_error_clear(&err);
}

static void chinese(void **state)
{
    (void)state;
    if (!setlocale(LC_ALL, "zh_CN.UTF-8"))
        skip(); /* scripts/setup generates the locale */
    assert_string_equal(stpm_gettext("unknown database error"), "未知的数据库错误");
    stpm_error err = STPM_ERROR_INIT;
    stpm_error_set(&err, STPM_ENOTFOUND, "plan %s does not exist", "NOPE");
    assert_string_equal(err.message, "科技计划 NOPE 不存在");
    stpm_error_clear(&err);
    /* a read-only standby (the client's own words for SQLSTATE 25006) */
    assert_int_equal(stpm_pg_standby_error(&err, "cannot add plan"), STPM_EUNAVAIL);
    assert_string_equal(err.message, "无法添加科技计划：服务器是只读备库");
    assert_string_equal(err.detail, "热备库回放主库的更改，不接受任何写入。");
    stpm_error_clear(&err);
    /* a template with its parameters, in another order */
    is_text("project 2021-X-0001 does not exist", "项目 2021-X-0001 不存在");
    is_text("the business date 2020-01-01 is earlier than 2021-01-04, the date of the last event "
            "of project 2021-X-0001",
            "业务日期 2020-01-01 早于项目 2021-X-0001 最后一个事件的日期 2021-01-04");
    /* a parameter that is a message of its own, and fragments */
    is_text("check credit_clean failed: org 91320682MA1MXXXX9P (如皋公司) has no active blacklist "
            "entry on 2021-01-18",
            "检查 credit_clean 未通过：承担单位 91320682MA1MXXXX9P（如皋公司）在 2021-01-18 "
            "没有有效的失信记录");
    is_text("waited 2 s for the lock on plan year 2021, held by role x (app, pid 5)",
            "等待 计划年度 2021 上的锁 2 秒，锁由 角色 x（app，进程号 5） 持有");
    /* what matches no template stays as the server worded it */
    is_text("something the client does not know", "something the client does not know");
    is_text("project  does not exist", "project  does not exist" /* an empty parameter */);
    setlocale(LC_ALL, "C");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(english),
        cmocka_unit_test(chinese),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
