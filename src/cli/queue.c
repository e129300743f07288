/*
 * queue: `buzon -c FILE queue list|flush|delete ID`, the admin's view of
 * the outbound queue (src/delivery/queue.h). Works beside a running server:
 * both open DATA_DIR/queue.db, and the server's runner sees a flush within
 * about a second (it polls the file).
 */
#include "cli/cli.h"
#include "core/arena.h"
#include "delivery/queue.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Exit statuses (cli.h). */
#define CLI_QUEUE_FAILURE 1
#define CLI_QUEUE_USAGE 2

static const char *cli_queue_state(enum queue_state state)
{
	switch (state) {
	case QUEUE_PENDING: return "pending";
	case QUEUE_DELIVERED: return "delivered";
	case QUEUE_FAILED: return "failed";
	case QUEUE_BOUNCED: return "failed";
	}
	return "?";
}

/* "2026-11-23T12:00:00Z", the log's time format. */
static void cli_queue_time(char *out, size_t cap, long long when)
{
	time_t t = (time_t)when;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One block per entry:
 *   ID  SIZE bytes  from <SENDER>  queued TIME
 *     RECIPIENT  STATE  attempts N  next TIME  last: REPLY */
static int cli_queue_list(struct queue *queue)
{
	struct arena *arena = arena_new();
	struct queue_entry *entries;
	size_t count;
	const char *error;

	if (queue_list(queue, arena, &entries, &count, &error) < 0) {
		fprintf(stderr, "buzon: %s\n", error);
		arena_free(arena);
		return CLI_QUEUE_FAILURE;
	}
	for (size_t i = 0; i < count; i++) {
		const struct queue_entry *e = &entries[i];
		char created[32];
		cli_queue_time(created, sizeof(created), e->created);
		printf("%s  %zu bytes  from <%s>  queued %s\n", e->id, e->size, e->sender, created);
		for (size_t k = 0; k < e->count; k++) {
			const struct queue_recipient *r = &e->recipients[k];
			char next[32];
			cli_queue_time(next, sizeof(next), r->next_attempt);
			printf("  %s  %s  attempts %u", r->address, cli_queue_state(r->state),
			       r->attempts);
			if (r->state == QUEUE_PENDING)
				printf("  next %s", r->next_attempt == 0 ? "now" : next);
			if (r->last_reply[0] != '\0')
				printf("  last: %s", r->last_reply);
			printf("\n");
		}
	}
	if (count == 0)
		printf("queue is empty\n");
	arena_free(arena);
	return 0;
}

int cli_queue(const struct config *config, int argc, char **argv)
{
	struct queue *queue;
	const char *error;
	size_t count;
	int status = 0, r;

	if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "flush") != 0 &&
			 strcmp(argv[1], "delete") != 0)) {
		fprintf(stderr, "buzon: queue needs list, flush or delete ID\n");
		return CLI_QUEUE_USAGE;
	}
	if ((strcmp(argv[1], "delete") == 0) != (argc == 3) || argc > 3) {
		fprintf(stderr, "buzon: usage: queue list | queue flush | queue delete ID\n");
		return CLI_QUEUE_USAGE;
	}
	if (queue_open(config, &queue, &error) < 0) {
		fprintf(stderr, "buzon: %s\n", error);
		return CLI_QUEUE_FAILURE;
	}
	if (strcmp(argv[1], "list") == 0) {
		status = cli_queue_list(queue);
	} else if (strcmp(argv[1], "flush") == 0) {
		if (queue_flush(queue, &count, &error) < 0) {
			fprintf(stderr, "buzon: %s\n", error);
			status = CLI_QUEUE_FAILURE;
		} else {
			printf("%zu recipient%s due now\n", count, count == 1 ? "" : "s");
		}
	} else if ((r = queue_delete(queue, argv[2], &error)) < 0) {
		fprintf(stderr, "buzon: queue delete %s: %s\n", argv[2], error);
		status = CLI_QUEUE_FAILURE;
	} else {
		printf("deleted %s\n", argv[2]);
	}
	queue_close(queue);
	return status;
}
