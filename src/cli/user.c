/*
 * user: the `buzon -c FILE user ...` verbs that manage accounts.
 *
 *   user add ADDRESS      create; the password is one line on stdin
 *   user passwd ADDRESS   replace the password, read the same way
 *   user del ADDRESS      delete the account and all its mail
 *   user list             print every address, one per line
 *   user import FILE      accounts from a Dovecot passwd-file (user-import.c)
 *   user quota ADDRESS [STORAGE_KB MESSAGES]   show or set limits (user-quota.c)
 *   user app-password add|del ADDRESS NAME, list ADDRESS  (user-app-password.c)
 *
 * Passwords come from stdin so that they never appear in `ps` or in shell
 * history; on a terminal the line is read with echo off. Addresses are
 * lower-cased, and must be in one of the configured `domains` when any are
 * set. The work itself is store.h's; this file only checks and reports.
 */
#include "cli/cli.h"
#include "cli/user-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/password.h"
#include "auth/saslprep.h"
#include "auth/scram.h"
#include "core/arena.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/store.h"

#define CLI_USER_EXIT_FAILURE 1
#define CLI_USER_EXIT_USAGE 2
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address less. */
#define CLI_USER_ADDRESS_MAX 254

static const char cli_user_usage_text[] =
	"usage: buzon -c FILE user add ADDRESS      (password: one line on stdin)\n"
	"       buzon -c FILE user passwd ADDRESS   (password: one line on stdin)\n"
	"       buzon -c FILE user del ADDRESS\n"
	"       buzon -c FILE user list\n"
	"       buzon -c FILE user import PASSWD-FILE   (Dovecot passwd-file format)\n"
	"       buzon -c FILE user quota ADDRESS [STORAGE_KB MESSAGES]   (number|none|default)\n"

	"       buzon -c FILE user app-password add ADDRESS NAME   (prints the new secret)\n"
	"       buzon -c FILE user app-password del ADDRESS NAME\n"
	"       buzon -c FILE user app-password list ADDRESS\n";

static int cli_user_usage(const char *message)
{
	fprintf(stderr, "buzon: %s\n%s", message, cli_user_usage_text);
	return CLI_USER_EXIT_USAGE;
}

char *cli_user_check_address(const struct config *config, const char *address,
			     const char **why_r)
{
	const char *at = strrchr(address, '@');
	size_t len = strlen(address);

	if (at == NULL || at == address || at[1] == '\0' || len > CLI_USER_ADDRESS_MAX) {
		*why_r = "is not an address like user@example.com";
		return NULL;
	}
	for (const char *p = address; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*why_r = "has spaces or control characters";
			return NULL;
		}
	}
	if (config->domains != NULL && config->domains[0] != NULL &&
	    !config_is_local_domain(config, at + 1)) {
		*why_r = "is not in one of the local domains (the domains key)";
		return NULL;
	}
	return str_lower(mem_strdup(address));
}

/* Turn terminal echo off (on is false) or back on; a no-op when stdin is not
 * a terminal. Returns whether echo was changed. */
static bool cli_user_set_echo(bool on, struct termios *saved)
{
	struct termios quiet;

	if (!isatty(STDIN_FILENO))
		return false;
	if (on)
		return tcsetattr(STDIN_FILENO, TCSAFLUSH, saved) == 0;
	if (tcgetattr(STDIN_FILENO, saved) < 0)
		return false;
	quiet = *saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	return tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
}

/* One line from stdin without its line ending, malloc'd; NULL after saying
 * why (end of input, or an empty line). */
static char *cli_user_read_password(void)
{
	struct termios saved;
	bool quiet;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (isatty(STDIN_FILENO))
		fputs("Password: ", stderr);
	quiet = cli_user_set_echo(false, &saved);
	len = getline(&line, &cap, stdin);
	if (quiet) {
		(void)cli_user_set_echo(true, &saved);
		fputc('\n', stderr);
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (len <= 0) {
		fprintf(stderr, "buzon: no password given (expected one line on stdin)\n");
		free(line);
		return NULL;
	}
	if (strlen(line) != (size_t)len) {
		fprintf(stderr, "buzon: the password contains a NUL byte\n");
		free(line);
		return NULL;
	}
	return line;
}

/* Read a password from stdin; SASLprep it as a stored string (RFC 4013:
 * what PLAIN and SCRAM clients send is prepared the same way), hash it,
 * and derive its SCRAM keys (stored beside the hash so that SCRAM logins
 * never need the password). NULL after saying why. */
static char *cli_user_new_hash(char **scram_r)
{
	char *password = cli_user_read_password();
	char *hash = NULL;
	const char *error, *prepared = NULL;

	*scram_r = NULL;
	if (password == NULL)
		return NULL;
	struct arena *arena = arena_new();
	if (saslprep_prepare(arena, password, true, &prepared, &error) < 0) {
		fprintf(stderr, "buzon: the password %s\n", error);
	} else if (*prepared == '\0') {
		fprintf(stderr, "buzon: the password is empty after SASLprep (RFC 4013)\n");
	} else if (password_hash(prepared, &hash, &error) < 0 ||
		   scram_keys_new(prepared, scram_r, &error) < 0) {
		fprintf(stderr, "buzon: %s\n", error);
		free(hash);
		hash = NULL;
	}
	if (prepared != NULL)
		explicit_bzero((char *)prepared, strlen(prepared));
	arena_free(arena);
	explicit_bzero(password, strlen(password));
	free(password);
	return hash;
}

/* Print what went wrong in a store call about address. */
static int cli_user_store_error(int ret, const char *address, const char *error)
{
	if (ret == STORE_EEXISTS)
		fprintf(stderr, "buzon: account %s already exists\n", address);
	else if (ret == STORE_ENOTFOUND)
		fprintf(stderr, "buzon: no such account: %s\n", address);
	else
		fprintf(stderr, "buzon: %s: %s\n", address, error != NULL ? error : "store error");
	return CLI_USER_EXIT_FAILURE;
}

/* user add / user passwd: both read a password and store its hash. */
static int cli_user_set(struct store *store, const char *address, bool create)
{
	const char *error = NULL;
	char *hash, *scram;
	int64_t id;
	int ret;

	if (!create) {
		struct arena *arena = arena_new();
		struct store_account account;
		/* Check first so a typo fails before the password is typed. */
		ret = store_account_find(store, address, arena, &account, &error);
		arena_free(arena);
		if (ret < 0)
			return cli_user_store_error(ret, address, error);
	}
	hash = cli_user_new_hash(&scram);
	if (hash == NULL)
		return CLI_USER_EXIT_FAILURE;
	if (create)
		ret = store_account_create(store, address, hash, &id, &error);
	else
		ret = store_account_set_password(store, address, hash, &error);
	if (ret == 0)
		ret = store_account_set_scram(store, address, scram, &error);
	free(hash);
	free(scram);
	if (ret < 0)
		return cli_user_store_error(ret, address, error);
	return 0;
}

static int cli_user_delete(struct store *store, const char *address)
{
	const char *error = NULL;
	int ret = store_account_delete(store, address, &error);

	if (ret < 0)
		return cli_user_store_error(ret, address, error);
	return 0;
}

static int cli_user_list(struct store *store)
{
	struct arena *arena = arena_new();
	struct store_account *list;
	const char *error = NULL;
	size_t count;
	int ret = store_account_list(store, arena, &list, &count, &error);

	if (ret < 0) {
		fprintf(stderr, "buzon: listing accounts: %s\n", error != NULL ? error : "store error");
		arena_free(arena);
		return CLI_USER_EXIT_FAILURE;
	}
	for (size_t i = 0; i < count; i++) {
		if (list[i].address[0] != '#') /* system accounts (store.h), not users */
			printf("%s\n", list[i].address);
	}
	arena_free(arena);
	return fflush(stdout) == 0 ? 0 : CLI_USER_EXIT_FAILURE;
}

/* Run one sub-command with the store open. */
static int cli_user_run(struct store *store, const char *command, const char *address)
{
	if (strcmp(command, "add") == 0)
		return cli_user_set(store, address, true);
	if (strcmp(command, "passwd") == 0)
		return cli_user_set(store, address, false);
	if (strcmp(command, "del") == 0)
		return cli_user_delete(store, address);
	return cli_user_list(store);
}

/* Usage check: the sub-command and how many arguments it takes. */
static bool cli_user_args_ok(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return true;
	if ((argc == 3 || argc == 5) && strcmp(argv[1], "quota") == 0)
		return true;
	if (argc >= 4 && strcmp(argv[1], "app-password") == 0)
		return (argc == 5 && (strcmp(argv[2], "add") == 0 || strcmp(argv[2], "del") == 0)) ||
		       (argc == 4 && strcmp(argv[2], "list") == 0);
	return argc == 3 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "passwd") == 0 ||
			     strcmp(argv[1], "del") == 0 || strcmp(argv[1], "import") == 0);
}

int cli_user(const struct config *config, int argc, char **argv)
{
	struct store_settings settings;
	struct store *store;
	const char *error = NULL;
	char *address = NULL;
	int status;

	if (!cli_user_args_ok(argc, argv))
		return cli_user_usage(argc < 2 ? "user needs a sub-command" :
				      "bad user sub-command or arguments");
	bool app = strcmp(argv[1], "app-password") == 0;
	if ((argc >= 3 && strcmp(argv[1], "import") != 0) || app) {
		const char *why, *given = app ? argv[3] : argv[2];
		address = cli_user_check_address(config, given, &why);
		if (address == NULL) {
			fprintf(stderr, "buzon: '%s' %s\n", given, why);
			return CLI_USER_EXIT_FAILURE;
		}
	}
	store_settings_from_config(config, &settings);
	if (store_open(&settings, NULL, &store, &error) < 0) {
		fprintf(stderr, "buzon: opening the store in %s: %s\n", config->data_dir,
			error != NULL ? error : "failed");
		free(address);
		return CLI_USER_EXIT_FAILURE;
	}
	if (strcmp(argv[1], "import") == 0)
		status = cli_user_import(config, store, argv[2]);
	else if (strcmp(argv[1], "quota") == 0)
		status = cli_user_quota(config, store, address, argc - 3, argv + 3);
	else if (app)
		status = cli_user_app_password(config, store, argv[2], address,
					       argc == 5 ? argv[4] : NULL);
	else
		status = cli_user_run(store, argv[1], address);
	store_close(store);
	free(address);
	return status;
}
