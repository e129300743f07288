/*
 * user-app-password: `buzon -c FILE user app-password add|del|list`.
 *
 *   user app-password add ADDRESS NAME   make one; its secret is printed once
 *   user app-password del ADDRESS NAME   revoke it (at the next login)
 *   user app-password list ADDRESS       NAME, created, last used (UTC)
 *
 * Phones and desktop mail programs keep a password forever; an app
 * password per device can be revoked alone, and the account's own
 * password never sits on them. The secret is generated (auth/password.h),
 * shown once and stored only hashed. App passwords work with PLAIN, LOGIN,
 * IMAP LOGIN and POP3 USER/PASS, not with SCRAM (it needs keys derived
 * from the one password).
 */
#include "cli/cli.h"
#include "cli/user-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/password.h"
#include "core/arena.h"
#include "core/str.h"

#define CLI_APP_EXIT_FAILURE 1
/* A name is a label for people: short, printable, no spaces to quote. */
#define CLI_APP_NAME_MAX 64

static bool cli_app_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CLI_APP_NAME_MAX)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

/* "2026-11-23 15:00:00" UTC, or "never" for 0. */
static const char *cli_app_time(int64_t when, char *buf, size_t size)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (when == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return "never";
	return buf;
}

static int cli_app_add(struct store *store, const struct store_account *account,
		       const char *name)
{
	char *secret, *hash;
	const char *error = NULL;

	if (password_app_new(&secret, &hash, &error) < 0) {
		fprintf(stderr, "buzon: %s\n", error);
		return CLI_APP_EXIT_FAILURE;
	}
	int rc = store_app_password_add(store, account->id, name, hash, &error);
	free(hash);
	if (rc == STORE_EEXISTS) {
		fprintf(stderr, "buzon: %s already has an app password called %s\n",
			account->address, name);
	} else if (rc < 0) {
		fprintf(stderr, "buzon: %s: %s\n", account->address, error ? error : "store error");
	} else {
		/* The only time anyone sees it. */
		printf("%s\n", secret);
	}
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return rc < 0 ? CLI_APP_EXIT_FAILURE : (fflush(stdout) == 0 ? 0 : CLI_APP_EXIT_FAILURE);
}

static int cli_app_del(struct store *store, const struct store_account *account,
		       const char *name)
{
	const char *error = NULL;
	int rc = store_app_password_delete(store, account->id, name, &error);

	if (rc == STORE_ENOTFOUND)
		fprintf(stderr, "buzon: %s has no app password called %s\n", account->address,
			name);
	else if (rc < 0)
		fprintf(stderr, "buzon: %s: %s\n", account->address, error ? error : "store error");
	return rc < 0 ? CLI_APP_EXIT_FAILURE : 0;
}

static int cli_app_list(struct store *store, const struct store_account *account,
			struct arena *arena)
{
	struct store_app_password *list;
	size_t count;
	const char *error = NULL;
	char created[32], used[32];

	if (store_app_password_list(store, account->id, arena, &list, &count, &error) < 0) {
		fprintf(stderr, "buzon: %s: %s\n", account->address, error ? error : "store error");
		return CLI_APP_EXIT_FAILURE;
	}
	for (size_t i = 0; i < count; i++)
		printf("%s\tcreated %s\tlast used %s\n", list[i].name,
		       cli_app_time(list[i].created, created, sizeof(created)),
		       cli_app_time(list[i].last_used, used, sizeof(used)));
	return fflush(stdout) == 0 ? 0 : CLI_APP_EXIT_FAILURE;
}

int cli_user_app_password(const struct config *config, struct store *store, const char *verb,
			  const char *address, const char *name)
{
	struct arena *arena = arena_new();
	struct store_account account;
	const char *error = NULL;
	int status;

	int rc = store_account_find(store, address, arena, &account, &error);
	if (rc < 0) {
		if (rc == STORE_ENOTFOUND)
			fprintf(stderr, "buzon: no such account: %s\n", address);
		else
			fprintf(stderr, "buzon: %s: %s\n", address, error ? error : "store error");
		arena_free(arena);
		return CLI_APP_EXIT_FAILURE;
	}
	if (name != NULL && !cli_app_name_ok(name)) {
		fprintf(stderr, "buzon: app password name '%s' must be 1-%d printable characters "
			"without spaces\n", name, CLI_APP_NAME_MAX);
		arena_free(arena);
		return CLI_APP_EXIT_FAILURE;
	}
	if (strcmp(verb, "add") == 0)
		status = cli_app_add(store, &account, name);
	else if (strcmp(verb, "del") == 0)
		status = cli_app_del(store, &account, name);
	else
		status = cli_app_list(store, &account, arena);
	arena_free(arena);
	return status;
}
