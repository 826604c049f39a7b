/* Civil dates as day counts (H. Hinnant's days_from_civil / civil_from_days). */
#include "stpm/date.h"

#include <time.h>

stpm_date stpm_date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2u) / 5u + (unsigned)d - 1u;
    const unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return (stpm_date)(era * 146097 + (int)doe - 719468);
}

void stpm_date_to_ymd(stpm_date z0, int *year, int *month, int *day)
{
    int z = z0 + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    const int y = (int)yoe + era * 400;
    const unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    const unsigned mp = (5u * doy + 2u) / 153u;
    const unsigned d = doy - (153u * mp + 2u) / 5u + 1u;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    if (year)
        *year = y + (m <= 2);
    if (month)
        *month = (int)m;
    if (day)
        *day = (int)d;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

bool stpm_date_valid_ymd(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

size_t stpm_date_scan(const char *s, stpm_date *out)
{
    int y = digits(s, 4);
    if (y < 0 || s[4] != '-')
        return 0;
    int m = digits(s + 5, 2);
    if (m < 0 || s[7] != '-')
        return 0;
    int d = digits(s + 8, 2);
    if (d < 0 || !stpm_date_valid_ymd(y, m, d))
        return 0;
    if (out)
        *out = stpm_date_from_ymd(y, m, d);
    return 10;
}

int stpm_date_parse(const char *s, stpm_date *out)
{
    size_t n = stpm_date_scan(s, out);
    return (n == 10 && s[10] == '\0') ? 0 : -1;
}

char *stpm_date_format(stpm_date d, char buf[static 11])
{
    int y, m, dd;
    stpm_date_to_ymd(d, &y, &m, &dd);
    unsigned uy = (unsigned)y % 10000u, um = (unsigned)m % 100u, ud = (unsigned)dd % 100u;
    buf[0] = (char)('0' + uy / 1000);
    buf[1] = (char)('0' + uy / 100 % 10);
    buf[2] = (char)('0' + uy / 10 % 10);
    buf[3] = (char)('0' + uy % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + um / 10);
    buf[6] = (char)('0' + um % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + ud / 10);
    buf[9] = (char)('0' + ud % 10);
    buf[10] = '\0';
    return buf;
}

stpm_date stpm_date_add_months(stpm_date d, int months)
{
    int y, m, dd;
    stpm_date_to_ymd(d, &y, &m, &dd);
    int total = y * 12 + (m - 1) + months;
    y = total / 12;
    m = total % 12 + 1;
    int dim = days_in_month(y, m);
    if (dd > dim)
        dd = dim;
    return stpm_date_from_ymd(y, m, dd);
}

int stpm_date_weekday(stpm_date d)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    int w = (d + 3) % 7;
    return w < 0 ? w + 7 : w;
}

stpm_date stpm_date_today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return stpm_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}
