/*
 * shared: `buzon -c FILE shared ...`, the public folders that no single
 * user owns (IMAP's "Shared/NAME", RFC 2342). They belong to the system
 * account STORE_SHARED_ACCOUNT (no password, no folders of its own), made
 * on first use; who may see and change them is their ACL (RFC 4314).
 *
 *   shared create NAME          a new public folder (and its parents)
 *   shared delete NAME          remove it and its messages
 *   shared list                 each folder and its ACL, one per line:
 *                               "NAME ID=RIGHTS ..." (tab-separated)
 *   shared acl NAME ID RIGHTS   set ID's rights (RFC 4314 letters; "none"
 *                               removes the entry); ID is an address,
 *                               "anyone" or "authenticated", "-" before one
 *                               for negative rights
 *
 * Exit status 0, 1 on failure (the reason on stderr), 2 for usage.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "store/acl.h"
#include "store/store.h"

#define CLI_SHARED_EXIT_FAILURE 1
#define CLI_SHARED_EXIT_USAGE 2
/* A public folder's name, in bytes (IMAP lines are bounded far above). */
#define CLI_SHARED_NAME_MAX 512

static const char cli_shared_usage_text[] =
	"usage: buzon -c FILE shared create NAME\n"
	"       buzon -c FILE shared delete NAME\n"
	"       buzon -c FILE shared list\n"
	"       buzon -c FILE shared acl NAME ID RIGHTS   (RIGHTS: lrswipkxtea letters, or none)\n";

static int cli_shared_usage(const char *message)
{
	fprintf(stderr, "buzon: %s\n%s", message, cli_shared_usage_text);
	return CLI_SHARED_EXIT_USAGE;
}

/* A mailbox name as IMAP would accept it: not empty, no controls, no empty
 * level ("a//b", "/a", "a/"). */
static bool cli_shared_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CLI_SHARED_NAME_MAX || name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f || *p == '*' || *p == '%')
			return false;
	}
	return true;
}

static int cli_shared_fail(const char *what, const char *error)
{
	fprintf(stderr, "buzon: shared: %s: %s\n", what, error != NULL ? error : "store error");
	return CLI_SHARED_EXIT_FAILURE;
}

/* Create name and any missing parent, as IMAP CREATE does. */
static int cli_shared_create(struct store *store, int64_t owner, const char *name)
{
	char copy[CLI_SHARED_NAME_MAX + 1];
	const char *error = NULL;
	int r;

	snprintf(copy, sizeof(copy), "%s", name);
	for (char *slash = strchr(copy, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		r = store_mailbox_create(store, owner, copy, 0, &error);
		*slash = '/';
		if (r < 0 && r != STORE_EEXISTS)
			return cli_shared_fail(name, error);
	}
	r = store_mailbox_create(store, owner, name, 0, &error);
	if (r == STORE_EEXISTS) {
		fprintf(stderr, "buzon: shared: %s already exists\n", name);
		return CLI_SHARED_EXIT_FAILURE;
	}
	return r < 0 ? cli_shared_fail(name, error) : 0;
}

static int cli_shared_list(struct store *store, int64_t owner, struct arena *arena)
{
	struct store_mailbox *list;
	size_t count;
	const char *error = NULL;

	if (store_mailbox_list(store, owner, arena, &list, &count, &error) < 0)
		return cli_shared_fail("list", error);
	for (size_t i = 0; i < count; i++) {
		struct store_acl_entry *entries;
		size_t n;

		if (store_acl_list(store, list[i].id, arena, &entries, &n, &error) < 0)
			return cli_shared_fail(list[i].name, error);
		printf("%s", list[i].name);
		for (size_t k = 0; k < n; k++)
			printf("\t%s=%s", entries[k].identifier, entries[k].rights);
		printf("\n");
	}
	return fflush(stdout) == 0 ? 0 : CLI_SHARED_EXIT_FAILURE;
}

static int cli_shared_acl(struct store *store, int64_t owner, struct arena *arena,
			  const char *name, const char *identifier, const char *rights)
{
	struct store_mailbox mb;
	const char *error = NULL;
	char text[ACL_RIGHTS_TEXT];
	unsigned bits = 0;

	if (!acl_identifier_valid(identifier)) {
		fprintf(stderr, "buzon: shared: '%s' is not an identifier\n", identifier);
		return CLI_SHARED_EXIT_FAILURE;
	}
	if (strcmp(rights, "none") != 0 && acl_rights_parse(rights, &bits) < 0) {
		fprintf(stderr, "buzon: shared: '%s': rights are letters of lrswipkxtea (c, d) "
			"or none\n", rights);
		return CLI_SHARED_EXIT_FAILURE;
	}
	if (store_mailbox_find(store, owner, name, arena, &mb, &error) < 0)
		return cli_shared_fail(name, error);
	acl_rights_format(bits, false, text);
	char *id = str_lower(arena_strdup(arena, identifier));
	if (store_acl_set(store, mb.id, id, text, &error) < 0)
		return cli_shared_fail(name, error);
	return 0;
}

int cli_shared(const struct config *config, int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	bool ok = (argc == 2 && strcmp(cmd, "list") == 0) ||
		  (argc == 3 && (strcmp(cmd, "create") == 0 || strcmp(cmd, "delete") == 0)) ||
		  (argc == 5 && strcmp(cmd, "acl") == 0);
	struct store_settings settings;
	struct store *store;
	struct arena *arena;
	const char *error = NULL;
	int64_t owner = 0;
	int status;

	if (!ok)
		return cli_shared_usage(argc < 2 ? "shared needs a sub-command"
						 : "bad shared sub-command or arguments");
	if (argc >= 3 && !cli_shared_name_ok(argv[2])) {
		fprintf(stderr, "buzon: shared: '%s' is not a mailbox name\n", argv[2]);
		return CLI_SHARED_EXIT_FAILURE;
	}
	store_settings_from_config(config, &settings);
	if (store_open(&settings, NULL, &store, &error) < 0)
		return cli_shared_fail(config->data_dir, error);
	arena = arena_new();
	int r = store_account_system(store, STORE_SHARED_ACCOUNT, strcmp(cmd, "create") == 0,
				     &owner, &error);
	if (r == STORE_ENOTFOUND) {
		status = strcmp(cmd, "list") == 0 ? 0 : cli_shared_fail(argv[2], "no such folder");
	} else if (r < 0) {
		status = cli_shared_fail("system account", error);
	} else if (strcmp(cmd, "create") == 0) {
		status = cli_shared_create(store, owner, argv[2]);
	} else if (strcmp(cmd, "delete") == 0) {
		status = store_mailbox_delete(store, owner, argv[2], &error) < 0
				 ? cli_shared_fail(argv[2], error) : 0;
	} else if (strcmp(cmd, "list") == 0) {
		status = cli_shared_list(store, owner, arena);
	} else {
		status = cli_shared_acl(store, owner, arena, argv[2], argv[3], argv[4]);
	}
	arena_free(arena);
	store_close(store);
	return status;
}
