/*
 * user-quota: `buzon -c FILE user quota ADDRESS [STORAGE_KB MESSAGES]`, the
 * administrator's side of RFC 9208 quotas. With two values it sets the
 * account's own limits; each is a number (KiB for storage, a count for
 * messages), `none` (no limit) or `default` (follow the quota_storage /
 * quota_messages config keys). With none it prints usage and the limits in
 * force, one resource per line: "STORAGE used_kib limit" and "MESSAGE used
 * limit", limit being a number or "none".
 */
#include "cli/user-private.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"

#define CLI_QUOTA_EXIT_FAILURE 1

/* One limit argument; false when it is none of the accepted forms. */
static bool cli_quota_parse(const char *arg, int64_t *limit_r)
{
	uint64_t n;

	if (strcmp(arg, "none") == 0) {
		*limit_r = STORE_QUOTA_NONE;
		return true;
	}
	if (strcmp(arg, "default") == 0) {
		*limit_r = STORE_QUOTA_DEFAULT;
		return true;
	}
	if (str_parse_u64(arg, strlen(arg), &n) < 0 || n > (uint64_t)INT64_MAX / 1024)
		return false;
	*limit_r = (int64_t)n;
	return true;
}

static void cli_quota_print(const char *resource, uint64_t used, int64_t limit)
{
	if (limit < 0)
		printf("%s %llu none\n", resource, (unsigned long long)used);
	else
		printf("%s %llu %lld\n", resource, (unsigned long long)used, (long long)limit);
}

int cli_user_quota(const struct config *config, struct store *store, const char *address,
		   int argc, char **argv)
{
	struct arena *arena = arena_new();
	struct store_account account;
	struct store_quota quota;
	const char *error = NULL;
	int64_t storage = 0, messages = 0;
	int status = 0;

	store_quota_set_default(store, config_quota_storage_kib(config),
				config_quota_messages(config));
	if (argc == 2 && (!cli_quota_parse(argv[0], &storage) ||
			  !cli_quota_parse(argv[1], &messages))) {
		fprintf(stderr, "buzon: quota limits are a number, 'none' or 'default'\n");
		arena_free(arena);
		return CLI_QUOTA_EXIT_FAILURE;
	}
	if (store_account_find(store, address, arena, &account, &error) < 0 ||
	    (argc == 2 && store_quota_set(store, account.id, storage, messages, &error) < 0) ||
	    store_quota_get(store, account.id, &quota, &error) < 0) {
		fprintf(stderr, "buzon: quota of %s: %s\n", address, error ? error : "store error");
		status = CLI_QUOTA_EXIT_FAILURE;
	} else {
		cli_quota_print("STORAGE", (quota.used_bytes + 1023) / 1024, quota.limit_kib);
		cli_quota_print("MESSAGE", quota.used_messages, quota.limit_messages);
		status = fflush(stdout) == 0 ? 0 : CLI_QUOTA_EXIT_FAILURE;
	}
	arena_free(arena);
	return status;
}
