/*
 * deliver: `buzon -c FILE deliver [-f SENDER] RCPT...`, the sendmail-style
 * local entry point: a message on stdin is stored in each recipient's
 * INBOX, as one copy (store_message_deliver), durable before we exit 0.
 *
 * Exit codes are sendmail's (<sysexits.h>), which procmail, fetchmail and
 * MTAs' pipe transports understand: EX_USAGE, EX_NOUSER (a recipient is
 * not an account: nothing is delivered), EX_DATAERR (too big),
 * EX_TEMPFAIL (the store failed: try again), EX_IOERR, EX_CANTCREAT (a
 * recipient is over quota: nothing is delivered).
 *
 * stdin is taken as a local file: bare LF line ends become CRLF (RFC 5322
 * §2.3), a lone "." means nothing (like sendmail -i).
 */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* Read stdin in blocks of this size. */
#define DELIVER_READ_BLOCK 65536

static int deliver_usage(const char *why)
{
	fprintf(stderr, "buzon: deliver: %s\nusage: buzon -c FILE deliver [-f SENDER] RCPT...\n",
		why);
	return EX_USAGE;
}

/* stdin with LF turned into CRLF; -1 on a read error, 1 when over max. */
static int deliver_read(struct buf *out, uint64_t max)
{
	char block[DELIVER_READ_BLOCK];
	char prev = '\0';
	size_t n;

	while ((n = fread(block, 1, sizeof(block), stdin)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (block[i] == '\n' && prev != '\r')
				buf_append_char(out, '\r');
			buf_append_char(out, block[i]);
			prev = block[i];
		}
		if (out->len > max)
			return 1;
	}
	return ferror(stdin) ? -1 : 0;
}

/* The trace fields in front of the message (RFC 5321 §4.4). */
static void deliver_trace(struct buf *out, const struct config *config, const char *sender,
			  const char *rcpt)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_printf(out, "Return-Path: <%s>\r\n", sender);
	buf_printf(out, "Received: from local (uid %u)\r\n\tby %s (buzon) with local id %llx%x",
		   (unsigned)getuid(), config->hostname, (unsigned long long)now,
		   (unsigned)getpid());
	if (rcpt != NULL)
		buf_printf(out, "\r\n\tfor <%s>", rcpt);
	buf_printf(out, "; %s\r\n", date);
}

/* Account ids of the recipients (a bare name gets the first domain). */
static int deliver_accounts(struct store *store, const struct config *config, char **rcpts,
			    size_t count, struct arena *arena, int64_t *ids)
{
	for (size_t i = 0; i < count; i++) {
		struct store_account account;
		const char *error;
		char *address = strchr(rcpts[i], '@') != NULL || config->domains == NULL ||
					config->domains[0] == NULL ?
				arena_strdup(arena, rcpts[i]) :
				arena_printf(arena, "%s@%s", rcpts[i], config->domains[0]);
		int r = store_account_find(store, str_lower(address), arena, &account, &error);
		if (r == STORE_ENOTFOUND) {
			fprintf(stderr, "buzon: deliver: <%s>: no such user\n", address);
			return EX_NOUSER;
		}
		if (r < 0) {
			fprintf(stderr, "buzon: deliver: %s\n", error);
			return EX_TEMPFAIL;
		}
		ids[i] = account.id;
	}
	return 0;
}

/* Quota (RFC 9208) before anything is stored: a sendmail-style exit
 * status speaks for every recipient at once, so the message goes to all of
 * them or to none (EX_CANTCREAT, the recipients over quota named). */
static int deliver_check_quota(struct store *store, const struct config *config,
			       char **addresses, const int64_t *ids, size_t count, size_t size)
{
	int status = 0;

	store_quota_set_default(store, config_quota_storage_kib(config),
				config_quota_messages(config));
	for (size_t i = 0; i < count; i++) {
		struct store_quota quota;
		const char *error;

		if (store_quota_get(store, ids[i], &quota, &error) < 0) {
			fprintf(stderr, "buzon: deliver: %s: %s\n", addresses[i], error);
			return EX_TEMPFAIL;
		}
		if (!store_quota_allows(&quota, size, 1)) {
			fprintf(stderr, "buzon: deliver: %s: mailbox full (over quota)\n",
				addresses[i]);
			status = EX_CANTCREAT;
		}
	}
	return status;
}

/* The same account named twice gets one copy: ids made unique in place. */
static size_t deliver_unique(int64_t *ids, size_t count)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = ids[k] == ids[i];
		if (!seen)
			ids[n++] = ids[i];
	}
	return n;
}

int cli_deliver(const struct config *config, int argc, char **argv)
{
	const char *sender = "";
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
			sender = argv[++i];
		} else if (strncmp(argv[i], "-f", 2) == 0 && argv[i][2] != '\0') {
			sender = argv[i] + 2;
		} else if (strcmp(argv[i], "-i") != 0) {
			return deliver_usage("unknown option");
		}
	}
	if (i >= argc)
		return deliver_usage("no recipients");
	if (strpbrk(sender, "<>\r\n") != NULL)
		return deliver_usage("bad sender address");

	size_t count = (size_t)(argc - i);
	struct arena *arena = arena_new();
	int64_t *ids = arena_alloc(arena, count * sizeof(*ids));
	uint32_t *uids = arena_alloc(arena, count * sizeof(*uids));
	struct buf message = BUF_INIT;
	struct store *store = NULL;
	struct store_settings settings;
	const char *error;
	int status = 0;

	store_settings_from_config(config, &settings);

	deliver_trace(&message, config, sender, count == 1 ? argv[i] : NULL);
	int r = deliver_read(&message, config->max_message_size);
	if (r != 0) {
		fprintf(stderr, "buzon: deliver: %s\n",
			r > 0 ? "message too big (max_message_size)" : "cannot read stdin");
		status = r > 0 ? EX_DATAERR : EX_IOERR;
	} else if (store_open(&settings, NULL, &store, &error) < 0) {
		fprintf(stderr, "buzon: deliver: store: %s\n", error);
		status = EX_TEMPFAIL;
	} else if ((status = deliver_accounts(store, config, argv + i, count, arena, ids)) == 0 &&
		   (status = deliver_check_quota(store, config, argv + i, ids, count,
						 message.len)) == 0 &&
		   store_message_deliver(store, ids, deliver_unique(ids, count), message.data,
					 message.len, 0, uids, &error) < 0) {
		fprintf(stderr, "buzon: deliver: %s\n", error);
		status = EX_TEMPFAIL;
	}
	if (store != NULL)
		store_close(store);
	buf_free(&message);
	arena_free(arena);
	return status;
}
