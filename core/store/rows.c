/* Result tables: see stpm/rows.h. A table keeps the libpq result it came from. */
#include <stdlib.h>

#include "store/rows_internal.h"

/* Type OIDs of pg_type.h, stable across releases. */
enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_JSON = 114,
    OID_NUMERIC = 1700,
    OID_JSONB = 3802
};

struct stpm_rows {
    PGresult *res;
    stpm_col_kind *kinds;
};

stpm_rows *stpm_rows_from_pg(PGresult *res)
{
    stpm_rows *r = calloc(1, sizeof(*r));
    int n = PQnfields(res);
    if (!r || !(r->kinds = calloc((size_t)n + 1, sizeof(*r->kinds)))) {
        free(r);
        PQclear(res);
        return NULL;
    }
    r->res = res;
    for (int i = 0; i < n; i++) {
        switch (PQftype(res, i)) {
        case OID_BOOL:
            r->kinds[i] = STPM_COL_BOOL;
            break;
        case OID_INT2:
        case OID_INT4:
        case OID_INT8:
        case OID_NUMERIC:
            r->kinds[i] = STPM_COL_NUMBER;
            break;
        case OID_JSON:
        case OID_JSONB:
            r->kinds[i] = STPM_COL_JSON;
            break;
        default:
            r->kinds[i] = STPM_COL_TEXT;
        }
    }
    return r;
}

size_t stpm_rows_ncols(const stpm_rows *r)
{
    return (size_t)PQnfields(r->res);
}

size_t stpm_rows_count(const stpm_rows *r)
{
    return (size_t)PQntuples(r->res);
}

const char *stpm_rows_name(const stpm_rows *r, size_t col)
{
    return PQfname(r->res, (int)col);
}

stpm_col_kind stpm_rows_kind(const stpm_rows *r, size_t col)
{
    return r->kinds[col];
}

const char *stpm_rows_value(const stpm_rows *r, size_t row, size_t col)
{
    if (PQgetisnull(r->res, (int)row, (int)col))
        return NULL;
    const char *v = PQgetvalue(r->res, (int)row, (int)col);
    if (r->kinds[col] == STPM_COL_BOOL)
        return v[0] == 't' ? "true" : "false";
    return v;
}

void stpm_rows_free(stpm_rows *r)
{
    if (!r)
        return;
    PQclear(r->res);
    free(r->kinds);
    free(r);
}
