/*
 * main: the buzon program. Reads the command line and the config file, sets
 * the log level, and hands over to a verb in src/cli/ (serve, user). Nothing
 * else lives here: every verb gets a loaded, validated struct config.
 *
 * Exit status: 0 success, 1 failure (config errors included), 2 usage error.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"

#ifndef BUZON_VERSION
#define BUZON_VERSION "0.1.0"
#endif

#define MAIN_EXIT_FAILURE 1
#define MAIN_EXIT_USAGE 2
/* Room for a usage message naming one argument (it is cut if longer). */
#define MAIN_MESSAGE_MAX 256

static const char main_usage_text[] =
	"usage: buzon -c FILE COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  serve                  run the server in the foreground (SIGTERM stops it)\n"
	"  user add ADDRESS       create an account; password: one line on stdin\n"
	"  user passwd ADDRESS    set a new password; password: one line on stdin\n"
	"  user del ADDRESS       delete an account and all its mail\n"
	"  user list              print every account, one per line\n"
	"  user quota ADDRESS [STORAGE_KB MESSAGES]  show or set an account's quota\n"
	"  deliver [-f SENDER] RCPT...  store a message from stdin in each RCPT's INBOX\n"
	"  queue list             the outbound queue: entries, recipients, states\n"
	"  queue flush            retry every queued recipient now\n"
	"  queue delete ID        drop a queue entry without delivering it\n"
	"  shared create|delete NAME   a public folder (IMAP \"Shared/NAME\")\n"
	"  shared list            public folders and their ACLs\n"
	"  shared acl NAME ID RIGHTS   who may do what there (RFC 4314; none removes)\n"
	"  db migrate             bring the store's schema up to date, print the versions\n"
	"\n"
	"options:\n"
	"  -c, --config FILE      the config file (see docs/config.md)\n"
	"  -h, --help             this text\n"
	"      --version          print the version\n";

/* Print the usage text to stderr (after a mistake) and return the usage status. */
static int main_usage_error(const char *message)
{
	if (message != NULL)
		fprintf(stderr, "buzon: %s\n", message);
	fputs(main_usage_text, stderr);
	return MAIN_EXIT_USAGE;
}

/* The usage error for an option getopt refused. */
static int main_usage_option(const char *arg, int short_option)
{
	char message[MAIN_MESSAGE_MAX];

	if (short_option == 'c' || strcmp(arg, "--config") == 0)
		snprintf(message, sizeof(message), "%s needs a FILE", arg);
	else
		snprintf(message, sizeof(message), "unknown option '%s'", arg);
	return main_usage_error(message);
}

/* The enum for a log_level string the config already validated. */
static enum log_level main_log_level(const char *name)
{
	if (strcmp(name, "debug") == 0)
		return LOG_DEBUG;
	if (strcmp(name, "warn") == 0)
		return LOG_WARN;
	if (strcmp(name, "error") == 0)
		return LOG_ERROR;
	return LOG_INFO;
}

/* true when argv names a verb we know (checked before the config is read, so
 * a typo is a usage error even with a broken config). */
static bool main_known_command(const char *command)
{
	return strcmp(command, "serve") == 0 || strcmp(command, "user") == 0 ||
	       strcmp(command, "deliver") == 0 ||
	       strcmp(command, "queue") == 0 || strcmp(command, "shared") == 0 ||
	       strcmp(command, "db") == 0;
}

/* Run the verb with the loaded config. */
static int main_dispatch(const struct config *config, int argc, char **argv)
{
	if (strcmp(argv[0], "serve") == 0) {
		if (argc != 1)
			return main_usage_error("serve takes no arguments");
		return cli_serve(config);
	}
	if (strcmp(argv[0], "deliver") == 0)
		return cli_deliver(config, argc, argv);
	if (strcmp(argv[0], "queue") == 0)
		return cli_queue(config, argc, argv);
	if (strcmp(argv[0], "shared") == 0)
		return cli_shared(config, argc, argv);
	if (strcmp(argv[0], "db") == 0)
		return cli_db(config, argc, argv);
	return cli_user(config, argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	struct config config;
	char *error;
	int opt, status;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			fputs(main_usage_text, stdout);
			return 0;
		case 'V':
			printf("buzon %s\n", BUZON_VERSION);
			return 0;
		default:
			return main_usage_option(argv[optind - 1], optopt);
		}
	}
	if (optind >= argc)
		return main_usage_error("missing COMMAND");
	if (!main_known_command(argv[optind]))
		return main_usage_error("unknown COMMAND");
	if (config_path == NULL)
		return main_usage_error("missing -c FILE");
	if (config_load(config_path, &config, &error) < 0) {
		fprintf(stderr, "buzon: %s\n", error);
		free(error);
		return MAIN_EXIT_FAILURE;
	}
	log_set_level(main_log_level(config.log_level));
	status = main_dispatch(&config, argc - optind, argv + optind);
	config_free(&config);
	return status;
}
