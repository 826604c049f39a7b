/* Test helpers: see testdb.h. */
#include "testdb.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *testdb_cluster(void)
{
    const char *c = getenv("STPM_TEST_DB");
    return (c && *c) ? c : NULL;
}

bool testdb_exec(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    bool ok = false;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "# testdb: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "# testdb: cannot connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok;
}

static char *dbname_of(const char *conninfo)
{
    const char *p = NULL;
    for (const char *q = strstr(conninfo, " dbname="); q; q = strstr(q + 1, " dbname="))
        p = q; /* the last one wins in a conninfo string */
    if (!p)
        return NULL;
    p += 8;
    size_t n = strcspn(p, " ");
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *testdb_create(const char *tag)
{
    const char *cluster = testdb_cluster();
    if (!cluster)
        return NULL;
    static int serial;
    char name[64];
    snprintf(name, sizeof(name), "t_%.30s_%ld_%d", tag, (long)getpid(), ++serial);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
    testdb_exec(cluster, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    if (!testdb_exec(cluster, sql))
        return NULL;
    size_t n = strlen(cluster) + strlen(name) + 16;
    char *ci = malloc(n);
    if (!ci)
        return NULL;
    snprintf(ci, n, "%s dbname=%s", cluster, name);
    return ci;
}

void testdb_drop(char *conninfo)
{
    if (!conninfo)
        return;
    char *name = dbname_of(conninfo);
    if (name) {
        char sql[160];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        testdb_exec(testdb_cluster(), sql);
        free(name);
    }
    free(conninfo);
}
