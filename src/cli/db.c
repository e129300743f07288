/*
 * db: `buzon -c FILE db migrate`, the store's schema brought up to date on
 * purpose (store_migrate): before starting a new version on several nodes,
 * an operator runs it once and sees from which version to which. Every
 * store_open does the same work when needed, so this is never required,
 * only explicit.
 *
 * Output: "schema: version N -> M" (or "schema: version N, up to date").
 * Exit status 0, 1 on failure (the reason on stderr), 2 for usage.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define CLI_DB_EXIT_FAILURE 1
#define CLI_DB_EXIT_USAGE 2

int cli_db(const struct config *config, int argc, char **argv)
{
	struct store_settings settings;
	const char *error = NULL;
	int from = 0, to = 0;

	if (argc != 2 || strcmp(argv[1], "migrate") != 0) {
		fprintf(stderr, "buzon: db: bad sub-command or arguments\n"
				"usage: buzon -c FILE db migrate\n");
		return CLI_DB_EXIT_USAGE;
	}
	store_settings_from_config(config, &settings);
	if (store_migrate(&settings, &from, &to, &error) < 0) {
		fprintf(stderr, "buzon: db migrate (store = %s): %s\n", config->store,
			error != NULL ? error : "store error");
		return CLI_DB_EXIT_FAILURE;
	}
	if (from == to)
		printf("schema: version %d, up to date\n", to);
	else
		printf("schema: version %d -> %d\n", from, to);
	return 0;
}
