/* Making an stpm_rows from a libpq result (store code only). */
#ifndef STPM_STORE_ROWS_INTERNAL_H
#define STPM_STORE_ROWS_INTERNAL_H

#include <libpq-fe.h>

#include "stpm/rows.h"

/* Wrap res (taken over: freed with the table); column kinds follow the result's types
 * (int2/4/8, numeric → number, bool → bool, else text). NULL when memory runs out
 * (res is cleared then). */
stpm_rows *stpm_rows_from_pg(PGresult *res);

#endif
