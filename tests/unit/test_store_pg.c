/*
 * test_store_pg: the PostgreSQL store (store/pg/) through store.h, against
 * a real PostgreSQL that tests/integration/pgserver.py starts in a
 * temporary folder (or the running one BUZON_PG_URL names). Each test gets
 * a database of its own. When no PostgreSQL can be started the file prints
 * why and runs nothing.
 */
#include "unit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/arena.h"
#include "store/store.h"

#define TEST_URL_MAX 512
#define TEST_THREADS 4
#define TEST_APPENDS_PER_THREAD 25

/* The server all tests use, and the database of the running test. */
static char test_server_url[TEST_URL_MAX];
static char test_dir[TEST_URL_MAX];
static int test_database_number;

struct test_pg {
	char url[TEST_URL_MAX];
	struct store_settings settings;
	struct store_bus *bus;
	struct store *store;
	struct arena *arena;
	int64_t account;
	const char *error;
};

/* A statement on the server's maintenance database (CREATE DATABASE). */
static int test_admin(const char *sql)
{
	char url[TEST_URL_MAX];
	const char *slash = strrchr(test_server_url, '/');
	PGconn *conn;
	PGresult *res;
	int ok;

	snprintf(url, sizeof(url), "%.*s/postgres", (int)(slash - test_server_url),
		 test_server_url);
	conn = PQconnectdb(url);
	res = PQexec(conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		printf("  admin: %s", PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	return ok ? 0 : -1;
}

/* A fresh database, a store on it with a bus, and the account alice. */
static void test_open(struct test_pg *t)
{
	char sql[128];
	const char *slash = strrchr(test_server_url, '/');

	memset(t, 0, sizeof(*t));
	snprintf(sql, sizeof(sql), "CREATE DATABASE buzon_test_%d_%d", (int)getpid(),
		 ++test_database_number);
	if (test_admin(sql) < 0)
		abort();
	snprintf(t->url, sizeof(t->url), "%.*s/buzon_test_%d_%d", (int)(slash - test_server_url),
		 test_server_url, (int)getpid(), test_database_number);
	t->settings.backend = STORE_BACKEND_POSTGRES;
	t->settings.postgres_url = t->url;
	t->bus = store_bus_new();
	t->arena = arena_new();
	if (store_open(&t->settings, t->bus, &t->store, &t->error) != STORE_OK ||
	    store_account_create(t->store, "alice@example.test", "{hash}", &t->account,
				 &t->error) != STORE_OK) {
		fprintf(stderr, "test_open: %s\n", t->error);
		abort();
	}
}

static void test_close(struct test_pg *t)
{
	store_close(t->store);
	store_bus_free(t->bus);
	arena_free(t->arena);
}

static int64_t test_mailbox_id(struct test_pg *t, const char *name)
{
	struct store_mailbox mailbox;

	if (store_mailbox_find(t->store, t->account, name, t->arena, &mailbox, &t->error) != 0)
		return -1;
	return mailbox.id;
}

static uint32_t test_append(struct test_pg *t, int64_t mailbox_id, const char *subject,
			    const char *body, unsigned flags)
{
	const char *text = arena_printf(t->arena,
					"From: Alice Example <alice@example.test>\r\n"
					"To: Bob <bob@example.test>\r\n"
					"Subject: %s\r\n"
					"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
					"\r\n%s\r\n", subject, body);
	struct store_new_message m = { .data = text, .size = strlen(text), .flags = flags };
	uint32_t uid = 0, uidvalidity = 0;

	if (store_message_append(t->store, mailbox_id, &m, 1, &uid, &uidvalidity, &t->error) != 0)
		return 0;
	return uid;
}

static uint64_t test_modseq(struct test_pg *t, int64_t mailbox_id)
{
	struct store_mailbox_status status = { 0 };

	UNIT_CHECK(store_mailbox_status(t->store, mailbox_id, &status, &t->error) == STORE_OK);
	return status.highestmodseq;
}

/* ---- tests ----------------------------------------------------------------- */

/* The schema is made on first open, and db migrate then has nothing to do. */
static void schema_is_made_once_and_migrate_reports_it(void)
{
	struct test_pg t;
	int from = -1, to = -1;

	test_open(&t);
	UNIT_CHECK(store_migrate(&t.settings, &from, &to, &t.error) == STORE_OK);
	UNIT_CHECK(from >= 1 && from == to);
	test_close(&t);
}

static void accounts_and_default_folders(void)
{
	struct test_pg t;
	struct store_account account, *list;
	struct store_mailbox *boxes;
	char **names;
	size_t count;
	int64_t id;

	test_open(&t);
	UNIT_CHECK(store_account_create(t.store, "Bob@Example.TEST", "h1", &id, &t.error) == 0);
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h2", &id, &t.error) ==
		   STORE_EEXISTS);
	UNIT_CHECK(store_account_find(t.store, "BOB@example.test", t.arena, &account, &t.error) == 0);
	UNIT_CHECK_STR(account.address, "bob@example.test");
	UNIT_CHECK(store_account_set_password(t.store, "bob@example.test", "h3", &t.error) == 0);
	UNIT_CHECK(store_account_set_scram(t.store, "bob@example.test", "keys", &t.error) == 0);
	UNIT_CHECK(store_account_find(t.store, "bob@example.test", t.arena, &account, &t.error) == 0);
	UNIT_CHECK_STR(account.password_hash, "h3");
	UNIT_CHECK_STR(account.scram, "keys");
	UNIT_CHECK(store_account_set_password(t.store, "nobody@x", "h", &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_account_list(t.store, t.arena, &list, &count, &t.error) == 0);
	UNIT_CHECK(count == 2);
	UNIT_CHECK(store_mailbox_list(t.store, id, t.arena, &boxes, &count, &t.error) == 0);
	UNIT_CHECK(count == 6);
	if (count == 6)
		UNIT_CHECK_STR(boxes[0].name, "Archive");
	UNIT_CHECK(store_subscription_list(t.store, id, t.arena, &names, &count, &t.error) == 0);
	UNIT_CHECK(count == 6);
	UNIT_CHECK(store_account_ensure_defaults(t.store, id, &t.error) == 0);
	UNIT_CHECK(store_account_delete(t.store, "bob@example.test", &t.error) == 0);
	UNIT_CHECK(store_account_find(t.store, "bob@example.test", t.arena, &account, &t.error) ==
		   STORE_ENOTFOUND);
	test_close(&t);
}

static void mailboxes_create_rename_delete(void)
{
	struct test_pg t;
	struct store_mailbox box;
	char **names;
	size_t count;
	uint32_t uidvalidity;

	test_open(&t);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a/b/c", 0, &t.error) == 0);
	UNIT_CHECK(test_mailbox_id(&t, "a") > 0 && test_mailbox_id(&t, "a/b") > 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a/b", 0, &t.error) == STORE_EEXISTS);
	UNIT_CHECK(store_mailbox_find(t.store, t.account, "a/b/c", t.arena, &box, &t.error) == 0);
	uidvalidity = box.uidvalidity;
	UNIT_CHECK(store_subscription_set(t.store, t.account, "a/b/c", true, &t.error) == 0);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "a", "x", &t.error) == 0);
	UNIT_CHECK(test_mailbox_id(&t, "a/b/c") < 0);
	UNIT_CHECK(store_mailbox_find(t.store, t.account, "x/b/c", t.arena, &box, &t.error) == 0);
	UNIT_CHECK(box.uidvalidity == uidvalidity);
	UNIT_CHECK(store_subscription_list(t.store, t.account, t.arena, &names, &count,
					   &t.error) == 0);
	bool found = false;
	for (size_t i = 0; i < count; i++)
		found |= strcmp(names[i], "x/b/c") == 0;
	UNIT_CHECK(found);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x", "Sent", &t.error) ==
		   STORE_EEXISTS);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x", "x/y", &t.error) ==
		   STORE_EINVALID);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "INBOX", &t.error) == STORE_EINVALID);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "x/b/c", &t.error) == 0);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "x/b/c", &t.error) == STORE_ENOTFOUND);
	/* a new mailbox of the same name never sees the old UIDVALIDITY */
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "x/b/c", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_find(t.store, t.account, "x/b/c", t.arena, &box, &t.error) == 0);
	UNIT_CHECK(box.uidvalidity > uidvalidity);
	test_close(&t);
}

/* Append, read back what was kept at save time, the bytes, the counters. */
static void append_get_iterate_blob(void)
{
	struct test_pg t;
	struct store_message_info info;
	struct store_mailbox_status status;
	const char *data;
	size_t len;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(test_append(&t, inbox, "first", "hello world", STORE_FLAG_SEEN) == 1);
	UNIT_CHECK(test_append(&t, inbox, "second", "bonjour", 0) == 2);
	UNIT_CHECK(store_message_get(t.store, inbox, 1, STORE_INFO_STRUCTURE | STORE_INFO_SEARCH,
				     t.arena, &info, &t.error) == 0);
	UNIT_CHECK_STR(info.subject, "first");
	UNIT_CHECK(info.flags == STORE_FLAG_SEEN);
	UNIT_CHECK(info.envelope != NULL && strstr(info.envelope, "\"first\"") != NULL);
	UNIT_CHECK(info.has_sent_date && info.sent_date == 760686745);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == 0);
	UNIT_CHECK(len == info.size && strncmp(data, "From: Alice", 11) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 6, 5, t.arena, &data, &len,
				   &t.error) == 0);
	UNIT_CHECK(len == 5 && memcmp(data, "Alice", 5) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 100000, 5, t.arena, &data, &len,
				   &t.error) == 0 && len == 0);
	UNIT_CHECK(store_message_get(t.store, inbox, 9, 0, t.arena, &info, &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &status, &t.error) == 0);
	UNIT_CHECK(status.messages == 2 && status.unseen == 1 && status.uidnext == 3);
	test_close(&t);
}

/* Flags bump MODSEQ only when something changes; UNCHANGEDSINCE; changes
 * and expunges seen through store_message_changes (QRESYNC). */
static void flags_expunge_and_changes(void)
{
	struct test_pg t;
	struct store_message_state *result, *list;
	struct store_changes changes;
	uint32_t uids[] = { 1, 2, 3 }, *failed, *expunged;
	size_t n, nfailed, nexp;
	uint64_t modseq, before;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	for (int i = 0; i < 3; i++)
		UNIT_CHECK(test_append(&t, inbox, "m", "x", 0) == (uint32_t)i + 1);
	before = test_modseq(&t, inbox);
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids, 2, STORE_FLAGS_ADD,
					   STORE_FLAG_DELETED, "$Junk foo", 0, t.arena, &result,
					   &n, &failed, &nfailed, &t.error) == 0);
	UNIT_CHECK(n == 2 && nfailed == 0 && result[0].modseq == before + 1);
	UNIT_CHECK(result[0].keywords != NULL && strcmp(result[0].keywords, "$Junk foo") == 0);
	modseq = test_modseq(&t, inbox);
	UNIT_CHECK(modseq == before + 1);
	/* the same again changes nothing */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids, 2, STORE_FLAGS_ADD,
					   STORE_FLAG_DELETED, "FOO", 0, t.arena, &result, &n,
					   &failed, &nfailed, &t.error) == 0);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq);
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids, 3, STORE_FLAGS_ADD,
					   STORE_FLAG_FLAGGED, NULL, before, t.arena, &result, &n,
					   &failed, &nfailed, &t.error) == 0);
	UNIT_CHECK(nfailed == 2 && failed[0] == 1 && failed[1] == 2);
	UNIT_CHECK(store_message_expunge(t.store, inbox, NULL, 0, t.arena, &expunged, &nexp,
					 &t.error) == 0);
	UNIT_CHECK(nexp == 2 && expunged[0] == 1 && expunged[1] == 2);
	UNIT_CHECK(store_message_changes(t.store, inbox, modseq, t.arena, &changes,
					 &t.error) == 0);
	UNIT_CHECK(changes.expunged_count == 2 && changes.changed_count == 1);
	UNIT_CHECK(changes.uidnext == 4 && changes.highestmodseq > modseq);
	UNIT_CHECK(store_message_list(t.store, inbox, 1, t.arena, &list, &n, &modseq,
				      &t.error) == 0);
	UNIT_CHECK(n == 1 && list[0].uid == 3 && modseq == changes.highestmodseq);
	/* POP3 removal takes what it is given, whatever the flags */
	UNIT_CHECK(store_message_remove(t.store, inbox, &uids[2], 1, t.arena, &expunged, &nexp,
					&t.error) == 0);
	UNIT_CHECK(nexp == 1 && expunged[0] == 3);
	UNIT_CHECK(test_append(&t, inbox, "m", "x", 0) == 4); /* never reused */
	test_close(&t);
}

static void copy_move_and_replace(void)
{
	struct test_pg t;
	struct store_message_info a, b;
	uint32_t uids[] = { 1, 2, 7 }, *src, *dst, uidvalidity, uid;
	size_t n;
	int64_t inbox, trash;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	trash = test_mailbox_id(&t, "Trash");
	UNIT_CHECK(test_append(&t, inbox, "one", "x", 0) == 1);
	UNIT_CHECK(test_append(&t, inbox, "two", "y", 0) == 2);
	UNIT_CHECK(store_message_copy(t.store, inbox, uids, 3, trash, false, t.arena, &src, &dst,
				      &n, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(n == 2 && src[0] == 1 && dst[0] == 1 && dst[1] == 2);
	UNIT_CHECK(store_message_get(t.store, inbox, 1, STORE_INFO_SEARCH, t.arena, &a,
				     &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, trash, 1, STORE_INFO_SEARCH, t.arena, &b,
				     &t.error) == 0);
	UNIT_CHECK(a.blob_id == b.blob_id); /* shared within the account */
	UNIT_CHECK_STR(a.email_id, b.email_id);
	UNIT_CHECK(store_message_copy(t.store, inbox, uids, 1, trash, true, t.arena, &src, &dst,
				      &n, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(n == 1 && dst[0] == 3);
	UNIT_CHECK(store_message_get(t.store, inbox, 1, 0, t.arena, &a, &t.error) ==
		   STORE_ENOTFOUND);
	/* the blob outlives one of its messages */
	UNIT_CHECK(store_message_get(t.store, trash, 3, STORE_INFO_SEARCH, t.arena, &b,
				     &t.error) == 0);
	const char *text = "Subject: new\r\n\r\nnew body\r\n";
	struct store_new_message m = { .data = text, .size = strlen(text) };
	UNIT_CHECK(store_message_replace(t.store, inbox, &m, inbox, 2, &uid, &uidvalidity,
					 &t.error) == 0);
	UNIT_CHECK(uid == 3);
	UNIT_CHECK(store_message_replace(t.store, inbox, &m, inbox, 2, &uid, &uidvalidity,
					 &t.error) == STORE_ENOTFOUND);
	test_close(&t);
}

/* One delivery to two accounts; a batch where one delivery fails alone. */
static void deliver_and_batch(void)
{
	struct test_pg t;
	struct store_mailbox_status status;
	struct store_mailbox inbox;
	int64_t bob, ids[2];
	uint32_t uids[2], uids2[1] = { 0 }, uids3[1] = { 0 };
	const char *text = "Subject: to both\r\n\r\nhi\r\n";
	int64_t nobody = (int64_t)999999;

	test_open(&t);
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h", &bob, &t.error) == 0);
	ids[0] = t.account;
	ids[1] = bob;
	UNIT_CHECK(store_message_deliver(t.store, ids, 2, text, strlen(text), 0, uids,
					 &t.error) == 0);
	UNIT_CHECK(uids[0] == 1 && uids[1] == 1);
	UNIT_CHECK(store_mailbox_find(t.store, bob, "INBOX", t.arena, &inbox, &t.error) == 0);
	UNIT_CHECK(store_mailbox_status(t.store, inbox.id, &status, &t.error) == 0);
	UNIT_CHECK(status.messages == 1);
	struct store_delivery d[2] = {
		{ .account_ids = &nobody, .count = 1, .data = text, .size = strlen(text),
		  .uids_r = uids2 },
		{ .account_ids = &bob, .count = 1, .data = text, .size = strlen(text),
		  .uids_r = uids3 },
	};
	UNIT_CHECK(store_message_deliver_batch(t.store, d, 2, &t.error) == 0);
	UNIT_CHECK(d[0].rc_r < 0 && d[1].rc_r == 0 && uids3[0] == 2);
	/* the account goes; the other's copy stays */
	UNIT_CHECK(store_account_delete(t.store, "alice@example.test", &t.error) == 0);
	UNIT_CHECK(store_mailbox_status(t.store, inbox.id, &status, &t.error) == 0);
	UNIT_CHECK(status.messages == 2);
	test_close(&t);
}

static void search_is_substring_and_case_insensitive(void)
{
	struct test_pg t;
	uint32_t *uids;
	size_t n;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(test_append(&t, inbox, "alpha", "The FooBar is here 100%", 0) == 1);
	UNIT_CHECK(test_append(&t, inbox, "beta", "nothing", 0) == 2);
	UNIT_CHECK(store_search_text(t.store, inbox, "oob", false, t.arena, &uids, &n,
				     &t.error) == 0);
	UNIT_CHECK(n == 1 && uids[0] == 1);
	UNIT_CHECK(store_search_text(t.store, inbox, "0%", false, t.arena, &uids, &n,
				     &t.error) == 0);
	UNIT_CHECK(n == 1);
	UNIT_CHECK(store_search_text(t.store, inbox, "_", false, t.arena, &uids, &n,
				     &t.error) == 0);
	UNIT_CHECK(n == 0);
	UNIT_CHECK(store_search_text(t.store, inbox, "beta", false, t.arena, &uids, &n,
				     &t.error) == 0);
	UNIT_CHECK(n == 0);
	UNIT_CHECK(store_search_text(t.store, inbox, "BETA", true, t.arena, &uids, &n,
				     &t.error) == 0);
	UNIT_CHECK(n == 1 && uids[0] == 2);
	test_close(&t);
}

/* Bytes that are not UTF-8 in a header do not keep a message out. */
static void hostile_bytes_are_stored(void)
{
	struct test_pg t;
	struct store_message_info info;
	const char text[] = "Subject: \xff\xfe bad \xc3\r\nFrom: \xe9t\xe9 <a@b>\r\n\r\n\xff body\r\n";
	struct store_new_message m = { .data = text, .size = sizeof(text) - 1 };
	const char *data;
	size_t len;
	uint32_t uid, uidvalidity;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(store_message_append(t.store, inbox, &m, 1, &uid, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, inbox, uid, STORE_INFO_SEARCH, t.arena, &info,
				     &t.error) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == 0);
	UNIT_CHECK(len == m.size && memcmp(data, text, len) == 0); /* bytes exact */
	test_close(&t);
}

struct test_appender {
	struct store_settings settings;
	int64_t mailbox_id;
	uint32_t uids[TEST_APPENDS_PER_THREAD];
	int errors;
};

static void *test_appender_run(void *arg)
{
	struct test_appender *a = arg;
	struct store *store;
	const char *error;
	const char *text = "Subject: concurrent\r\n\r\nhello\r\n";
	struct store_new_message m = { .data = text, .size = strlen(text) };
	uint32_t uidvalidity;

	if (store_open(&a->settings, NULL, &store, &error) != STORE_OK) {
		a->errors++;
		return NULL;
	}
	for (int i = 0; i < TEST_APPENDS_PER_THREAD; i++) {
		if (store_message_append(store, a->mailbox_id, &m, 1, &a->uids[i], &uidvalidity,
					 &error) != STORE_OK) {
			printf("  append: %s\n", error);
			a->errors++;
		}
	}
	store_close(store);
	return NULL;
}

/* Several connections (as several nodes would) appending to one mailbox at
 * once: every UID unique, each connection's ascending, none lost. */
static void concurrent_appends_get_unique_ascending_uids(void)
{
	struct test_pg t;
	struct test_appender a[TEST_THREADS];
	pthread_t threads[TEST_THREADS];
	struct store_mailbox_status status;
	static char seen[TEST_THREADS * TEST_APPENDS_PER_THREAD + 1];
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < TEST_THREADS; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].settings = t.settings;
		a[i].mailbox_id = inbox;
		pthread_create(&threads[i], NULL, test_appender_run, &a[i]);
	}
	for (int i = 0; i < TEST_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < TEST_THREADS; i++) {
		UNIT_CHECK(a[i].errors == 0);
		for (int j = 0; j < TEST_APPENDS_PER_THREAD; j++) {
			uint32_t uid = a[i].uids[j];

			UNIT_CHECK(uid >= 1 && uid <= TEST_THREADS * TEST_APPENDS_PER_THREAD);
			if (uid >= 1 && uid <= TEST_THREADS * TEST_APPENDS_PER_THREAD) {
				UNIT_CHECK(!seen[uid]);
				seen[uid] = 1;
			}
			if (j > 0)
				UNIT_CHECK(uid > a[i].uids[j - 1]);
		}
	}
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &status, &t.error) == 0);
	UNIT_CHECK(status.messages == TEST_THREADS * TEST_APPENDS_PER_THREAD);
	UNIT_CHECK(status.uidnext == TEST_THREADS * TEST_APPENDS_PER_THREAD + 1);
	test_close(&t);
}

struct test_opener {
	struct store_settings settings;
	int rc;
	char error[256];
};

static void *test_opener_run(void *arg)
{
	struct test_opener *o = arg;
	struct store *store;
	const char *error = NULL;

	o->rc = store_open(&o->settings, NULL, &store, &error);
	if (o->rc == STORE_OK)
		store_close(store);
	else
		snprintf(o->error, sizeof(o->error), "%s", error ? error : "?");
	return NULL;
}

/* Several nodes starting at once on an empty database: one makes the
 * schema, the others wait for it and use it. */
static void nodes_starting_at_once_make_the_schema_once(void)
{
	struct test_opener o[TEST_THREADS];
	pthread_t threads[TEST_THREADS];
	char sql[128], url[TEST_URL_MAX];
	const char *slash = strrchr(test_server_url, '/');

	snprintf(sql, sizeof(sql), "CREATE DATABASE buzon_test_%d_%d", (int)getpid(),
		 ++test_database_number);
	UNIT_CHECK(test_admin(sql) == 0);
	snprintf(url, sizeof(url), "%.*s/buzon_test_%d_%d", (int)(slash - test_server_url),
		 test_server_url, (int)getpid(), test_database_number);
	for (int i = 0; i < TEST_THREADS; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].settings.backend = STORE_BACKEND_POSTGRES;
		o[i].settings.postgres_url = url;
		pthread_create(&threads[i], NULL, test_opener_run, &o[i]);
	}
	for (int i = 0; i < TEST_THREADS; i++) {
		pthread_join(threads[i], NULL);
		if (o[i].rc != STORE_OK)
			printf("  open: %s\n", o[i].error);
		UNIT_CHECK(o[i].rc == STORE_OK);
	}
}

/* The server drops the connection (a restart, a failover): the next call
 * connects again instead of failing forever. */
static void lost_connection_is_made_again(void)
{
	struct test_pg t;
	char sql[256];
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		 "WHERE datname = 'buzon_test_%d_%d'", (int)getpid(), test_database_number);
	UNIT_CHECK(test_admin(sql) == 0);
	UNIT_CHECK(test_append(&t, inbox, "after", "the restart", 0) == 1);
	UNIT_CHECK(test_mailbox_id(&t, "INBOX") == inbox);
	test_close(&t);
}

/* What the other half of issue 8 brings says so instead of pretending. */
static void not_yet_built_parts_say_so(void)
{
	struct test_pg t;
	struct store_acl_entry *entries;
	size_t n;

	test_open(&t);
	UNIT_CHECK(store_acl_list(t.store, test_mailbox_id(&t, "INBOX"), t.arena, &entries, &n,
				  &t.error) < 0);
	UNIT_CHECK(t.error != NULL && strstr(t.error, "not supported by the postgres store") !=
		   NULL);
	test_close(&t);
}

/* One line of a command's output, without its newline; false at EOF. */
static bool test_read_line(FILE *in, char *line, size_t size)
{
	size_t len;

	if (fgets(line, (int)size, in) == NULL)
		return false;
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	return true;
}

/* The server: the one BUZON_PG_URL names, or one of our own
 * (pgserver.py prints its URL, then its folder). */
static int test_server_start(void)
{
	const char *env = getenv("BUZON_PG_URL");
	FILE *out;
	bool ok;

	if (env != NULL && env[0] != '\0') {
		snprintf(test_server_url, sizeof(test_server_url), "%s", env);
		return 0;
	}
	out = popen("python3 tests/integration/pgserver.py start", "r");
	if (out == NULL)
		return -1;
	ok = test_read_line(out, test_server_url, sizeof(test_server_url)) &&
	     test_read_line(out, test_dir, sizeof(test_dir));
	if (pclose(out) != 0 || !ok || strrchr(test_server_url, '/') == NULL) {
		test_dir[0] = '\0';
		return -1;
	}
	return 0;
}

static void test_server_stop(void)
{
	char cmd[TEST_URL_MAX + 64];

	if (test_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "python3 tests/integration/pgserver.py stop '%s'", test_dir);
	if (system(cmd) != 0)
		printf("  could not stop the test PostgreSQL in %s\n", test_dir);
}

int main(void)
{
	int ret;

	if (test_server_start() < 0) {
		printf("SKIP test_store_pg: no PostgreSQL could be started "
		       "(see the message above; BUZON_PG_URL names one)\n");
		test_server_stop();
		return 0;
	}
	UNIT_RUN(schema_is_made_once_and_migrate_reports_it);
	UNIT_RUN(accounts_and_default_folders);
	UNIT_RUN(mailboxes_create_rename_delete);
	UNIT_RUN(append_get_iterate_blob);
	UNIT_RUN(flags_expunge_and_changes);
	UNIT_RUN(copy_move_and_replace);
	UNIT_RUN(deliver_and_batch);
	UNIT_RUN(search_is_substring_and_case_insensitive);
	UNIT_RUN(hostile_bytes_are_stored);
	UNIT_RUN(concurrent_appends_get_unique_ascending_uids);
	UNIT_RUN(nodes_starting_at_once_make_the_schema_once);
	UNIT_RUN(lost_connection_is_made_again);
	UNIT_RUN(not_yet_built_parts_say_so);
	ret = unit_finish();
	test_server_stop();
	return ret;
}
