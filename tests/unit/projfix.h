/* A database fixture for the project-level tests (integrity checks, orgs, plans, users):
 * a fresh migrated database with a workflow, two plans, three organisations (the third
 * with a bad USCC check character) and one leader each. */
#ifndef STPM_TESTS_PROJFIX_H
#define STPM_TESTS_PROJFIX_H

#include "stpm/db.h"
#include "testdb.h"

#define WF1 "00000000-0000-0000-0000-000000000f01"
#define ORG1 "00000000-0000-0000-0000-000000000b01"
#define ORG2 "00000000-0000-0000-0000-000000000b02"
#define ORG3 "00000000-0000-0000-0000-000000000b03"

typedef struct fixture {
    char *ci;         /* conninfo of the test database (superuser) */
    stpm_db *db;      /* a connection through libstpm, as the superuser */
    char uscc[4][19]; /* uscc[1..3] of ORG1..ORG3 */
    char *roles[8];   /* login roles made by fx_connect_as, dropped at teardown */
    int n_roles;
} fixture;

/* cmocka setup / teardown: *state becomes the fixture. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Run SQL as the superuser; fails the test when it fails. */
void fx_sql(fixture *fx, const char *sql);

/* Insert a project of org n (1..3, led by that org's leader) under plan `plan` (PKRD or
 * NTSF). due and closed may be NULL. */
void fx_project(fixture *fx, const char *id, const char *code, const char *title, int org,
                const char *plan, int year, const char *state, const char *due, const char *closed);

/* A new login role in stpm_<group> and a libstpm connection as it. */
/* Take project `id` to `state` on `on_date` (setting closed_date when given): the row and
 * its event, as a transition would write them. */
void fx_advance(fixture *fx, const char *id, const char *state, const char *on_date,
                const char *closed);
stpm_db *fx_connect_as(fixture *fx, const char *group, const char *tag);

/* The conninfo to connect as role name (malloc'd). */
char *fx_conninfo_as(const fixture *fx, const char *role);

#endif
