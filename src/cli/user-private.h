/*
 * user-private: what the `user` verbs' files share (src/cli/ only).
 */
#ifndef BUZON_CLI_USER_PRIVATE_H
#define BUZON_CLI_USER_PRIVATE_H

#include "core/config.h"
#include "store/store.h"

/* A lower-cased, malloc'd copy of address when it is an address we may host
 * (user@domain, in a local domain when domains are set); else NULL with
 * *why_r saying what is wrong ("'x' " + why reads as a sentence). */
char *cli_user_check_address(const struct config *config, const char *address,
			     const char **why_r);
/* user import FILE: accounts from a Dovecot passwd-file (user-import.c). */
int cli_user_import(const struct config *config, struct store *store, const char *path);
/* user app-password VERB ADDRESS [NAME] (user-app-password.c); verb is
 * add, del (both with name) or list. */
int cli_user_app_password(const struct config *config, struct store *store, const char *verb,
			  const char *address, const char *name);

/* user quota ADDRESS [STORAGE_KB MESSAGES] (user-quota.c); argv holds the
 * argc (0 or 2) limit arguments. */
int cli_user_quota(const struct config *config, struct store *store, const char *address,
		   int argc, char **argv);

#endif
