/* Test helpers: fresh databases in the throwaway cluster that tests/run starts. */
#ifndef STPM_TESTS_TESTDB_H
#define STPM_TESTS_TESTDB_H

#include <stdbool.h>

/* The conninfo of the throwaway cluster (STPM_TEST_DB), or NULL when not run by tests/run. */
const char *testdb_cluster(void);

/* Create an empty database named after `tag` and the process id; returns its conninfo
 * (malloc'd), or NULL on failure (printed to stderr). */
char *testdb_create(const char *tag);

/* Drop a database made by testdb_create (terminating its connections) and free conninfo. */
void testdb_drop(char *conninfo);

/* Run one SQL command on conninfo; returns true when it succeeded. */
bool testdb_exec(const char *conninfo, const char *sql);

#endif
