/*
 * user-import: `buzon -c FILE user import PASSWD-FILE` moves accounts from a
 * Dovecot passwd-file ("user:{SCHEME}hash:uid:gid:..." lines) without
 * anyone choosing a new password: crypt(3) hashes are kept as they are
 * (auth/password.c says which). A missing account is created with its
 * default folders; an existing one gets the file's password. Lines that
 * cannot be imported are named by file:line, and make the exit status 1.
 */
#include "cli/cli.h"
#include "cli/user-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "auth/saslprep.h"
#include "auth/scram.h"
#include "core/arena.h"
#include "core/str.h"

/* Longer lines are not passwd-file lines we know. */
#define CLI_IMPORT_LINE_MAX 8192

struct import_counts {
	unsigned created, updated, skipped;
};

/* Import one "user:password[:...]" line; returns false after saying why. */
static bool import_line(const struct config *config, struct store *store, const char *path,
			unsigned lineno, char *line, struct import_counts *counts)
{
	char *colon = strchr(line, ':');
	const char *error = NULL;
	char *hash = NULL;
	int64_t id;

	if (colon == NULL) {
		fprintf(stderr, "buzon: %s:%u: expected user:password\n", path, lineno);
		return false;
	}
	*colon = '\0';
	char *field = colon + 1;
	field[strcspn(field, ":")] = '\0';
	const char *why;
	char *address = cli_user_check_address(config, line, &why);
	if (address == NULL) {
		fprintf(stderr, "buzon: %s:%u: '%s' %s\n", path, lineno, line, why);
		return false;
	}
	char *scram = NULL;
	bool plain = str_has_prefix_nocase(field, "{PLAIN}") ||
		     str_has_prefix_nocase(field, "{CLEAR}");
	struct arena *arena = arena_new();
	const char *prepared = NULL;
	/* A plaintext password is SASLprep'd like one set by `user passwd`
	 * (a crypt hash is kept as it is: we cannot know its password). */
	if (plain && saslprep_prepare(arena, field + 7, true, &prepared, &error) < 0) {
		fprintf(stderr, "buzon: %s:%u: %s: the password %s\n", path, lineno, address,
			error);
		arena_free(arena);
		free(address);
		return false;
	}
	int r = password_import(plain ? arena_printf(arena, "{PLAIN}%s", prepared) : field, &hash,
			    &error);
	/* A plaintext entry also gets its SCRAM keys; a crypt hash cannot
	 * (SCRAM needs the password), until the password is next set. */
	if (r == 0 && plain)
		r = scram_keys_new(prepared, &scram, &error);
	arena_free(arena);
	if (r == 0) {
		r = store_account_create(store, address, hash, &id, &error);
		if (r == STORE_EEXISTS)
			r = store_account_set_password(store, address, hash, &error) == 0 ? 1 : -1;
		if (r >= 0 && scram != NULL && store_account_set_scram(store, address, scram,
									&error) < 0)
			r = -1;
	}
	free(scram);
	if (r < 0)
		fprintf(stderr, "buzon: %s:%u: %s: %s\n", path, lineno, address,
			error != NULL ? error : "store error");
	else if (r == 0)
		counts->created++;
	else
		counts->updated++;
	free(hash);
	free(address);
	return r >= 0;
}

int cli_user_import(const struct config *config, struct store *store, const char *path)
{
	struct import_counts counts = { 0, 0, 0 };
	char line[CLI_IMPORT_LINE_MAX];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "buzon: %s: %m\n", path);
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *start = line + strspn(line, " \t");
		if (*start == '\0' || *start == '#')
			continue;
		if (!import_line(config, store, path, lineno, start, &counts))
			counts.skipped++;
	}
	fclose(f);
	printf("imported %u accounts (%u new, %u updated), %u lines skipped\n",
	       counts.created + counts.updated, counts.created, counts.updated, counts.skipped);
	return counts.skipped > 0 ? 1 : 0;
}
