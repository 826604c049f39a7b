/*
 * stpm — users: PostgreSQL login roles in the four groups of DESIGN §6 (stpm_admin,
 * stpm_officer, stpm_expert, stpm_auditor). Who did what is always the database role
 * (session_user), never a name someone typed.
 */
#ifndef STPM_USER_H
#define STPM_USER_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"

/* A role that belongs to at least one of the four groups. */
typedef struct stpm_user {
    char *name;
    char *roles; /* the groups without the stpm_ prefix, comma separated: "admin, officer" */
    bool can_login;
} stpm_user;

/* true for admin, officer, expert and auditor. */
STPM_API bool stpm_user_role_valid(const char *role);

/*
 * Create the login role `name` (when it does not exist) and grant it the group
 * stpm_<role>, through the database function stpm.user_add, so an administrator needs no
 * CREATEROLE. password may be NULL (no password: e.g. peer or trust authentication); it is
 * never written to the history. *created (may be NULL) tells whether the role was new.
 * Writes an event on the chain "system" (kind "admin"). A bad role or name: STPM_EINPUT;
 * the caller is not an administrator: STPM_EPERM.
 */
STPM_API int stpm_user_add(stpm_db *db, const char *name, const char *role, const char *password,
                           stpm_date today, bool *created, stpm_error *err);

/* The members of the four groups, by name. Free with stpm_user_list_free. */
STPM_API int stpm_user_list(stpm_db *db, stpm_user **out, size_t *n, stpm_error *err);
STPM_API void stpm_user_list_free(stpm_user *users, size_t n);

#endif
