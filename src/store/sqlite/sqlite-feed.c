/*
 * sqlite-feed: store_feed of store.h for the SQLite back end. Changes other
 * processes commit to buzon.db (`buzon deliver`, `buzon user`, a second
 * server) reach this process's bus, so IDLE and NOTIFY sessions hear of
 * them within about a second (DESIGN.md rule 4).
 *
 * How: every write transaction adds one change_log row per event, stamped
 * with its process's bus origin, before COMMIT (sqlite-txn.c). The feed is
 * one thread with its own connection. Every SQLITE_FEED_POLL_MS it asks
 * PRAGMA data_version, which changes when another connection has committed
 * (it reads the WAL index in shared memory: no I/O, no lock); only then does
 * it read the rows past its cursor and publish those of other origins (this
 * process's own events were published by the committer already). inotify
 * on the WAL would wake sooner but sees every checkpoint and page write of
 * our own loops too; polling a counter is simpler and cheap enough.
 *
 * A PostgreSQL back end gets the same from LISTEN: its writers NOTIFY in
 * the transaction (delivered at COMMIT), and its feed thread republishes.
 *
 * Rows are pruned by the writers (the newest SQLITE_CHANGE_LOG_KEEP stay).
 * Should the feed ever fall further behind than that, the ids it reads
 * have a gap; it then publishes every mailbox and every account's list and
 * subscriptions as changed: watchers re-read, and nothing is missed.
 */
#include "store/sqlite/sqlite-private.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

/* How often the feed asks whether another process committed: the "about a
 * second" of store.h, with room to spare, for one cheap query. */
#define SQLITE_FEED_POLL_MS 200

struct sqlite_feed {
	struct store_feed base;    /* stop = sqlite_feed_stop */
	pthread_t thread;
	int stop_fd;               /* eventfd: written once to stop the thread */
	struct sqlite_store *store;       /* the feed's own connection (its thread only) */
	struct store_bus *bus;
	int64_t origin;            /* this process's: its events are skipped */
	int64_t cursor;            /* last change_log id read */
	int64_t data_version;
	sqlite3_stmt *data_version_stmt;
	ARRAY(struct store_event) events; /* read, to publish after the read ends */
};

/* PRAGMA data_version: < 0 on error. */
static int64_t sqlite_feed_data_version(struct sqlite_feed *feed)
{
	int64_t version = -1;

	if (sqlite3_step(feed->data_version_stmt) == SQLITE_ROW)
		version = sqlite3_column_int64(feed->data_version_stmt, 0);
	sqlite3_reset(feed->data_version_stmt);
	return version;
}

/* The cursor starts at the newest row: what was committed before the
 * server started is read by its sessions anyway. */
static int sqlite_feed_last_id(struct sqlite_feed *feed, int64_t *id_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(feed->store, SQL_CHANGE_LOG_LAST);
	int rc;

	if (stmt == NULL)
		return STORE_EFAIL;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? STORE_OK : sqlite_fail_db(feed->store, "read change log");
}

/* The feed fell behind the pruning: say that everything changed. */
static int sqlite_feed_everything(struct sqlite_feed *feed)
{
	sqlite3_stmt *stmt = sqlite_stmt(feed->store, SQL_MAILBOX_ALL);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_event e = {
			.kind = STORE_EVENT_MESSAGES,
			.account_id = sqlite3_column_int64(stmt, 0),
			.mailbox_id = sqlite3_column_int64(stmt, 1),
			.modseq = (uint64_t)sqlite3_column_int64(stmt, 2),
		};

		array_push(&feed->events, e);
		e.kind = STORE_EVENT_MAILBOXES;
		array_push(&feed->events, e);
		e.kind = STORE_EVENT_SUBSCRIPTIONS;
		e.mailbox_id = 0;
		array_push(&feed->events, e);
	}
	sqlite3_reset(stmt);
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(feed->store, "list mailboxes");
}

/* Inside a read transaction: the rows past the cursor, into feed->events. */
static int sqlite_feed_read(struct sqlite_feed *feed)
{
	sqlite3_stmt *stmt = sqlite_stmt(feed->store, SQL_CHANGE_LOG_SINCE);
	bool first = true, gap = false;
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, feed->cursor);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);
		int kind = sqlite3_column_int(stmt, 2);

		if (first && id != feed->cursor + 1)
			gap = true;
		first = false;
		feed->cursor = id;
		if (sqlite3_column_int64(stmt, 1) == feed->origin || kind < STORE_EVENT_MESSAGES ||
		    kind > STORE_EVENT_SUBSCRIPTIONS)
			continue;
		struct store_event e = {
			.kind = (enum store_event_kind)kind,
			.account_id = sqlite3_column_int64(stmt, 3),
			.mailbox_id = sqlite3_column_int64(stmt, 4),
			.modseq = (uint64_t)sqlite3_column_int64(stmt, 5),
		};
		array_push(&feed->events, e);
	}
	sqlite3_reset(stmt);
	if (step != SQLITE_DONE)
		return sqlite_fail_db(feed->store, "read change log");
	if (gap) {
		log_warn("store: change log pruned past the feed's cursor; "
			 "telling every session that everything changed");
		array_clear(&feed->events);
		return sqlite_feed_everything(feed);
	}
	return STORE_OK;
}

/* One poll: if anyone committed since the last, read and publish. */
static void sqlite_feed_poll(struct sqlite_feed *feed)
{
	int64_t version = sqlite_feed_data_version(feed);
	int rc;

	if (version < 0) {
		log_warn("store: feed: data_version: %s", sqlite3_errmsg(feed->store->db));
		return;
	}
	if (version == feed->data_version)
		return;
	feed->data_version = version;
	array_clear(&feed->events);
	rc = sqlite_begin_read(feed->store);
	if (rc == STORE_OK)
		rc = sqlite_feed_read(feed);
	rc = sqlite_finish(feed->store, rc);
	if (rc < 0) {
		log_warn("store: feed: %s", feed->store->error);
		feed->data_version = -1; /* try again at the next poll */
		return;
	}
	for (size_t i = 0; i < feed->events.count; i++)
		store_bus_publish(feed->bus, &feed->events.items[i]);
}

static void *sqlite_feed_main(void *context)
{
	struct sqlite_feed *feed = context;
	struct pollfd pfd = { .fd = feed->stop_fd, .events = POLLIN };

	for (;;) {
		int n = poll(&pfd, 1, SQLITE_FEED_POLL_MS);

		if (n > 0)
			break;
		if (n < 0 && errno != EINTR) {
			log_error("store: feed: poll: %m");
			break;
		}
		sqlite_feed_poll(feed);
	}
	return NULL;
}

static void sqlite_feed_free(struct sqlite_feed *feed)
{
	if (feed->data_version_stmt != NULL)
		sqlite3_finalize(feed->data_version_stmt);
	store_close(&feed->store->base);
	if (feed->stop_fd >= 0)
		close(feed->stop_fd);
	array_free(&feed->events);
	free(feed);
}

static void sqlite_feed_stop(struct store_feed *base);

/* store_feed_start for the SQLite back end: a thread with its own
 * connection to the same buzon.db. */
int sqlite_feed_start(const struct store_settings *settings, struct store_bus *bus,
		      struct store_feed **feed_r, const char **error_r)
{
	struct sqlite_feed *feed = mem_zalloc(sizeof(*feed));
	struct store *store;
	const char *error;

	*feed_r = NULL;
	feed->base.stop = sqlite_feed_stop;
	feed->bus = bus;
	feed->origin = (int64_t)store_bus_origin(bus);
	feed->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (feed->stop_fd < 0) {
		sqlite_feed_free(feed);
		*error_r = "feed: eventfd failed";
		return STORE_EFAIL;
	}
	if (sqlite_store_open(settings, NULL, &store, &error) < 0) {
		sqlite_feed_free(feed);
		*error_r = error; /* sqlite_store_open's, valid on this thread */
		return STORE_EFAIL;
	}
	feed->store = sqlite_store_of(store);
	if (sqlite3_prepare_v2(feed->store->db, "PRAGMA data_version", -1,
			       &feed->data_version_stmt, NULL) != SQLITE_OK ||
	    (feed->data_version = sqlite_feed_data_version(feed)) < 0 ||
	    sqlite_feed_last_id(feed, &feed->cursor) < 0) {
		sqlite_feed_free(feed);
		*error_r = "feed: cannot read the change log";
		return STORE_EFAIL;
	}
	if (pthread_create(&feed->thread, NULL, sqlite_feed_main, feed) != 0) {
		sqlite_feed_free(feed);
		*error_r = "feed: cannot start its thread";
		return STORE_EFAIL;
	}
	*feed_r = &feed->base;
	return STORE_OK;
}

/* store_feed_stop: wake the thread through its eventfd, join it, free. */
static void sqlite_feed_stop(struct store_feed *base)
{
	struct sqlite_feed *feed = (struct sqlite_feed *)base;
	uint64_t one = 1;

	/* An eventfd write cannot fail here; if it did, the thread would run
	 * on, so its memory is left alone (a leak at exit, not a crash). */
	if (write(feed->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		log_error("store: feed: cannot signal its thread to stop: %m");
		return;
	}
	pthread_join(feed->thread, NULL);
	sqlite_feed_free(feed);
}
