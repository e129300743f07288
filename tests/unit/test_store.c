/*
 * test_store: the store.h contract, run against the SQLite back end. Each
 * test opens a fresh store in its own temporary directory with one account
 * (alice@example.test) and checks what a protocol session would see:
 * UIDs, UIDVALIDITY, MODSEQ, flags, the change feed, the bus, and that
 * everything is still there after closing and reopening.
 */
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "store/store.h"
#include "unit.h"

/* Room for a temporary directory name. */
#define TEST_PATH_MAX 256
/* Concurrency test: threads, each with its own store, and appends each. */
#define TEST_THREADS 4
#define TEST_APPENDS_PER_THREAD 40

struct test_store {
	char dir[TEST_PATH_MAX];
	struct store_bus *bus;
	struct store *store;
	struct arena *arena;
	int64_t account;
	const char *error;
};

static int test_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* The settings of the SQLite store in dir (a compound literal of the
 * caller's block). */
#define TEST_SQLITE(dir)                                                                   \
	(&(struct store_settings){ .backend = STORE_BACKEND_SQLITE, .data_dir = (dir) })

/* A new data dir, a store with a bus, and the account alice. */
static void test_open(struct test_store *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/buzon-store-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	t->bus = store_bus_new();
	t->arena = arena_new();
	if (store_open(TEST_SQLITE(t->dir), t->bus, &t->store, &t->error) != STORE_OK ||
	    store_account_create(t->store, "alice@example.test", "{hash}", &t->account,
				 &t->error) != STORE_OK) {
		fprintf(stderr, "test_open: %s\n", t->error);
		abort();
	}
}

static void test_close(struct test_store *t)
{
	store_close(t->store);
	store_bus_free(t->bus);
	arena_free(t->arena);
	nftw(t->dir, test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Close and open again the same data dir (what a restart does). */
static void test_reopen(struct test_store *t)
{
	store_close(t->store);
	t->store = NULL;
	UNIT_CHECK(store_open(TEST_SQLITE(t->dir), t->bus, &t->store, &t->error) == STORE_OK);
}

static int64_t test_mailbox_id(struct test_store *t, const char *name)
{
	struct store_mailbox mailbox;

	if (store_mailbox_find(t->store, t->account, name, t->arena, &mailbox, &t->error) != 0)
		return -1;
	return mailbox.id;
}

static struct store_mailbox test_mailbox(struct test_store *t, const char *name)
{
	struct store_mailbox mailbox = { 0 };

	UNIT_CHECK(store_mailbox_find(t->store, t->account, name, t->arena, &mailbox,
				      &t->error) == STORE_OK);
	return mailbox;
}

static const char *test_message_text(struct arena *arena, const char *subject, const char *body)
{
	return arena_printf(arena,
			    "From: Alice Example <alice@example.test>\r\n"
			    "To: Bob <bob@example.test>\r\n"
			    "Subject: %s\r\n"
			    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
			    "Message-ID: <%s@example.test>\r\n"
			    "\r\n"
			    "%s\r\n", subject, subject, body);
}

/* Append one message; returns its UID (0 on failure). */
static uint32_t test_append(struct test_store *t, int64_t mailbox_id, const char *subject,
			    const char *body, unsigned flags)
{
	const char *text = test_message_text(t->arena, subject, body);
	struct store_new_message m = { .data = text, .size = strlen(text), .flags = flags };
	uint32_t uid = 0, uidvalidity = 0;

	if (store_message_append(t->store, mailbox_id, &m, 1, &uid, &uidvalidity, &t->error) != 0)
		return 0;
	return uid;
}

static uint64_t test_modseq(struct test_store *t, int64_t mailbox_id)
{
	struct store_mailbox_status status = { 0 };

	UNIT_CHECK(store_mailbox_status(t->store, mailbox_id, &status, &t->error) == STORE_OK);
	return status.highestmodseq;
}

static bool test_has_mailbox(struct test_store *t, const char *name)
{
	return test_mailbox_id(t, name) >= 0;
}

/* ---- accounts ------------------------------------------------------------ */

static void account_create_find_list_passwd(void)
{
	struct test_store t;
	struct store_account account, *list;
	size_t count;
	int64_t id;

	test_open(&t);
	UNIT_CHECK(store_account_create(t.store, "Bob@Example.TEST", "h1", &id, &t.error) == 0);
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h2", &id, &t.error) ==
		   STORE_EEXISTS);
	UNIT_CHECK(store_account_find(t.store, "BOB@example.test", t.arena, &account, &t.error) == 0);
	UNIT_CHECK_STR(account.address, "bob@example.test");
	UNIT_CHECK_STR(account.password_hash, "h1");
	UNIT_CHECK(account.id == id);
	UNIT_CHECK(store_account_set_password(t.store, "bob@example.test", "h3", &t.error) == 0);
	UNIT_CHECK(store_account_find(t.store, "bob@example.test", t.arena, &account, &t.error) == 0);
	UNIT_CHECK_STR(account.password_hash, "h3");
	UNIT_CHECK(store_account_set_password(t.store, "nobody@x", "h", &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_account_find(t.store, "nobody@x", t.arena, &account, &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(t.error != NULL && strstr(t.error, "nobody") != NULL);
	UNIT_CHECK(store_account_list(t.store, t.arena, &list, &count, &t.error) == 0);
	UNIT_CHECK(count == 2);
	if (count == 2) {
		UNIT_CHECK_STR(list[0].address, "alice@example.test");
		UNIT_CHECK_STR(list[1].address, "bob@example.test");
	}
	test_close(&t);
}

static void open_reports_unusable_data_dir(void)
{
	struct store *store = (struct store *)1;
	const char *error = NULL;

	UNIT_CHECK(store_open(TEST_SQLITE("/dev/null/buzon"), NULL, &store, &error) < 0);
	UNIT_CHECK(store == NULL);
	UNIT_CHECK(error != NULL && strstr(error, "/dev/null") != NULL);
}

/* store = postgres goes to the PostgreSQL back end (tests of its own in
 * test_store_pg.c): one it cannot reach is an error that says so. */
static void open_names_the_back_end_that_failed(void)
{
	struct store_settings settings = { .backend = STORE_BACKEND_POSTGRES,
					   .postgres_url = "postgresql://buzon@127.0.0.1:1/none" };
	struct store *store = (struct store *)1;
	const char *error = NULL;

	UNIT_CHECK(store_open(&settings, NULL, &store, &error) == STORE_EFAIL);
	UNIT_CHECK(store == NULL);
	UNIT_CHECK(error != NULL && strstr(error, "postgres") != NULL);
}

/* One value from the store's database file, read with SQLite directly. */
static void test_pragma(const char *dir, const char *sql, char *out, size_t size)
{
	char path[TEST_PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *stmt;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/buzon.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			snprintf(out, size, "%s", (const char *)sqlite3_column_text(stmt, 0));
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
}

/* Rule 1 rests on these: WAL with a schema version for migrations, and a
 * private directory created where it was missing. */
static void open_creates_private_wal_database(void)
{
	struct test_store t;
	struct store *store;
	struct stat st;
	char sub[TEST_PATH_MAX + 16], value[32];

	test_open(&t);
	snprintf(sub, sizeof(sub), "%s/a/b", t.dir);
	UNIT_CHECK(store_open(TEST_SQLITE(sub), NULL, &store, &t.error) == STORE_OK);
	store_close(store);
	UNIT_CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
	test_pragma(t.dir, "PRAGMA journal_mode", value, sizeof(value));
	UNIT_CHECK_STR(value, "wal");
	/* FTS5 merges 16 segments at a time (version 10): far fewer index
	 * pages rewritten per large message */
	test_pragma(t.dir, "SELECT v FROM blob_text_config WHERE k = 'automerge'", value,
		    sizeof(value));
	UNIT_CHECK_STR(value, "16");
	test_close(&t);
}

/* The file records the schema version this program knows (PRAGMA
 * user_version), without naming the number here, so a new migration step
 * does not have to edit this test: the version is at least 8 (metadata),
 * what steps 4-8 added exists, a file of that version opens as it is, and
 * one a step newer is refused untouched (a newer program's file). */
static void schema_version_is_the_one_the_store_knows(void)
{
	struct test_store t;
	char value[32], sql[64], path[TEST_PATH_MAX + 16];
	sqlite3 *db;
	int version;

	test_open(&t);
	test_pragma(t.dir, "PRAGMA user_version", value, sizeof(value));
	version = atoi(value);
	UNIT_CHECK(version >= 8);
	test_pragma(t.dir, "SELECT count(*) FROM account WHERE used_bytes = 0 AND"
		    " used_messages = 0 AND quota_storage IS NULL AND scram IS NULL", value,
		    sizeof(value));
	UNIT_CHECK_STR(value, "1");
	test_pragma(t.dir, "SELECT (SELECT count(*) FROM app_password) + (SELECT count(*) FROM acl)"
		    " + (SELECT count(*) FROM metadata)", value, sizeof(value));
	UNIT_CHECK_STR(value, "0");
	store_close(t.store);
	t.store = NULL;
	UNIT_CHECK(store_open(TEST_SQLITE(t.dir), t.bus, &t.store, &t.error) == STORE_OK);
	store_close(t.store);
	t.store = NULL;
	test_pragma(t.dir, "PRAGMA user_version", value, sizeof(value));
	UNIT_CHECK(atoi(value) == version);
	snprintf(path, sizeof(path), "%s/buzon.db", t.dir);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", version + 1);
	UNIT_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	UNIT_CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	UNIT_CHECK(store_open(TEST_SQLITE(t.dir), t.bus, &t.store, &t.error) != STORE_OK);
	UNIT_CHECK(t.error != NULL && strstr(t.error, "this program knows") != NULL);
	t.store = NULL;
	test_pragma(t.dir, "PRAGMA user_version", value, sizeof(value));
	UNIT_CHECK(atoi(value) == version + 1);
	test_close(&t);
}

static void account_has_default_folders(void)
{
	static const struct { const char *name; unsigned use; } want[] = {
		{ "Archive", STORE_USE_ARCHIVE }, { "Drafts", STORE_USE_DRAFTS },
		{ "INBOX", 0 }, { "Junk", STORE_USE_JUNK }, { "Sent", STORE_USE_SENT },
		{ "Trash", STORE_USE_TRASH },
	};
	struct test_store t;
	struct store_mailbox *list;
	char **names;
	size_t count;

	test_open(&t);
	UNIT_CHECK(store_mailbox_list(t.store, t.account, t.arena, &list, &count, &t.error) == 0);
	UNIT_CHECK(count == 6);
	for (size_t i = 0; i < count && i < 6; i++) {
		UNIT_CHECK_STR(list[i].name, want[i].name);
		UNIT_CHECK(list[i].special_use == want[i].use);
		UNIT_CHECK(list[i].uidnext == 1);
		UNIT_CHECK(list[i].uidvalidity > 0);
		for (size_t j = 0; j < i; j++)
			UNIT_CHECK(list[j].uidvalidity != list[i].uidvalidity);
	}
	UNIT_CHECK(store_subscription_list(t.store, t.account, t.arena, &names, &count,
					   &t.error) == 0);
	UNIT_CHECK(count == 6);
	test_close(&t);
}

static void account_ensure_defaults_is_idempotent(void)
{
	struct test_store t;
	struct store_mailbox *list;
	size_t count;

	test_open(&t);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "Trash", &t.error) == 0);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "Sent", "Sent Items", &t.error) == 0);
	UNIT_CHECK(store_account_ensure_defaults(t.store, t.account, &t.error) == 0);
	UNIT_CHECK(test_has_mailbox(&t, "Trash"));
	UNIT_CHECK(!test_has_mailbox(&t, "Sent"));
	UNIT_CHECK(test_mailbox(&t, "Sent Items").special_use == STORE_USE_SENT);
	{
		char **names;
		size_t n;
		bool renamed = false, old = false;

		UNIT_CHECK(store_subscription_list(t.store, t.account, t.arena, &names, &n,
						   &t.error) == 0);
		for (size_t i = 0; i < n; i++) {
			renamed |= strcmp(names[i], "Sent Items") == 0;
			old |= strcmp(names[i], "Sent") == 0;
		}
		UNIT_CHECK(renamed && !old);
	}
	UNIT_CHECK(store_account_ensure_defaults(t.store, t.account, &t.error) == 0);
	UNIT_CHECK(store_mailbox_list(t.store, t.account, t.arena, &list, &count, &t.error) == 0);
	UNIT_CHECK(count == 6);
	UNIT_CHECK(store_account_ensure_defaults(t.store, 9999, &t.error) == STORE_ENOTFOUND);
	test_close(&t);
}

static void account_delete_removes_all_mail(void)
{
	struct test_store t;
	struct store_account account;
	struct store_message_info info;
	struct store_mailbox *list;
	const char *data;
	size_t count, len;
	int64_t bob, inbox;

	test_open(&t);
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h", &bob, &t.error) == 0);
	UNIT_CHECK(store_mailbox_find(t.store, bob, "INBOX", t.arena, &(struct store_mailbox){ 0 },
				      &t.error) == 0);
	inbox = -1;
	UNIT_CHECK(store_mailbox_list(t.store, bob, t.arena, &list, &count, &t.error) == 0);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(list[i].name, "INBOX") == 0)
			inbox = list[i].id;
	}
	UNIT_CHECK(test_append(&t, inbox, "hello", "bye", 0) == 1);
	UNIT_CHECK(store_message_get(t.store, inbox, 1, STORE_INFO_STATE, t.arena, &info,
				     &t.error) == 0);
	UNIT_CHECK(store_account_delete(t.store, "Bob@example.test", &t.error) == 0);
	UNIT_CHECK(store_account_find(t.store, "bob@example.test", t.arena, &account, &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_mailbox_list(t.store, bob, t.arena, &list, &count, &t.error) == 0);
	UNIT_CHECK(count == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == STORE_ENOTFOUND);
	UNIT_CHECK(store_account_delete(t.store, "bob@example.test", &t.error) == STORE_ENOTFOUND);
	/* alice is untouched */
	UNIT_CHECK(test_has_mailbox(&t, "INBOX"));
	test_close(&t);
}

/* ---- mailboxes ----------------------------------------------------------- */

/* One delivery to two accounts is one blob owned by the first; deleting
 * that account must leave the second one's copy intact. */
static void account_delete_keeps_mail_shared_by_delivery(void)
{
	struct test_store t;
	struct store_message_info info;
	const char *data, *msg = "Subject: shared\r\n\r\nfor both\r\n";
	size_t len;
	int64_t ann, bea;
	uint32_t uids[2];

	test_open(&t);
	UNIT_CHECK(store_account_create(t.store, "ann@example.test", "h", &ann, &t.error) == 0);
	UNIT_CHECK(store_account_create(t.store, "bea@example.test", "h", &bea, &t.error) == 0);
	int64_t accounts[2] = { ann, bea };
	UNIT_CHECK(store_message_deliver(t.store, accounts, 2, msg, strlen(msg), 0, uids,
					 &t.error) == 0);
	UNIT_CHECK(store_account_delete(t.store, "ann@example.test", &t.error) == 0);
	struct store_mailbox inbox;
	UNIT_CHECK(store_mailbox_find(t.store, bea, "INBOX", t.arena, &inbox, &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, inbox.id, uids[1], STORE_INFO_STATE, t.arena, &info,
				     &t.error) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == 0 && len == strlen(msg) && memcmp(data, msg, len) == 0);
	test_close(&t);
}

/* Group commit: three deliveries in one transaction; the middle one names
 * an account that does not exist after touching ann's INBOX. It alone is
 * rolled back, and the third delivery to ann still bumps the INBOX's
 * HIGHESTMODSEQ (the rolled-back bump is not reused) and takes the UID the
 * failed one had reserved. */
static void deliver_batch_isolates_a_failed_delivery(void)
{
	struct test_store t;
	struct store_changes ch;
	const char *msg = "Subject: batch\r\n\r\nbody\r\n";
	int64_t ann;
	uint32_t uids1[1], uids2[2], uids3[1];

	test_open(&t);
	UNIT_CHECK(store_account_create(t.store, "ann@example.test", "h", &ann, &t.error) == 0);
	int64_t one[1] = { ann }, two[2] = { ann, 999999 };
	struct store_mailbox inbox;
	UNIT_CHECK(store_mailbox_find(t.store, ann, "INBOX", t.arena, &inbox, &t.error) == 0);
	uint64_t before = test_modseq(&t, inbox.id);
	struct store_delivery d[3] = {
		{ .account_ids = one, .count = 1, .data = msg, .size = strlen(msg), .uids_r = uids1 },
		{ .account_ids = two, .count = 2, .data = msg, .size = strlen(msg), .uids_r = uids2 },
		{ .account_ids = one, .count = 1, .data = msg, .size = strlen(msg), .uids_r = uids3 },
	};
	UNIT_CHECK(store_message_deliver_batch(t.store, d, 3, &t.error) == STORE_OK);
	UNIT_CHECK(d[0].rc_r == STORE_OK && d[1].rc_r < 0 && d[2].rc_r == STORE_OK);
	UNIT_CHECK(d[1].error_r[0] != '\0');
	UNIT_CHECK(uids1[0] == 1 && uids3[0] == 2);
	UNIT_CHECK(store_message_changes(t.store, inbox.id, before, t.arena, &ch, &t.error) == 0);
	UNIT_CHECK(ch.highestmodseq == before + 1 && ch.changed_count == 2);
	for (size_t i = 0; i < ch.changed_count; i++)
		UNIT_CHECK(ch.changed[i].modseq == before + 1);
	/* An empty batch member is refused alone as well. */
	struct store_delivery empty = { .account_ids = one, .count = 0, .data = msg,
					.size = strlen(msg), .uids_r = uids1 };
	UNIT_CHECK(store_message_deliver_batch(t.store, &empty, 1, &t.error) == STORE_OK);
	UNIT_CHECK(empty.rc_r == STORE_EINVALID);
	test_reopen(&t);
	struct store_mailbox_status st;
	UNIT_CHECK(store_mailbox_status(t.store, inbox.id, &st, &t.error) == 0 && st.messages == 2);
	test_close(&t);
}

/* Usage in one account after a change. */
static void test_usage(struct test_store *t, int64_t account, uint64_t bytes, uint64_t messages)
{
	struct store_quota q;

	UNIT_CHECK(store_quota_get(t->store, account, &q, &t->error) == STORE_OK);
	UNIT_CHECK(q.used_bytes == bytes);
	UNIT_CHECK(q.used_messages == messages);
}

/* RFC 9208 usage is exact on every path that adds or removes messages,
 * and a write that would pass a limit changes nothing. */
static void quota_usage_is_exact_and_limits_refuse_growth(void)
{
	static const char msg[] = "Subject: q\r\n\r\n0123456789\r\n"; /* 26 bytes */
	struct test_store t;
	struct store_new_message m = { .data = msg, .size = sizeof(msg) - 1 };
	struct store_new_message two[2] = { m, m };
	struct store_quota q;
	uint32_t uids[4], *source, *dest, *gone, uidvalidity;
	size_t count;
	int64_t bob, both[2];

	test_open(&t);
	int64_t inbox = test_mailbox_id(&t, "INBOX"), trash = test_mailbox_id(&t, "Trash");
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h", &bob, &t.error) == 0);
	UNIT_CHECK(store_quota_get(t.store, t.account, &q, &t.error) == 0);
	UNIT_CHECK(q.limit_kib == STORE_QUOTA_NONE && q.limit_messages == STORE_QUOTA_NONE);
	UNIT_CHECK(store_message_append(t.store, inbox, two, 2, uids, &uidvalidity, &t.error) == 0);
	test_usage(&t, t.account, 52, 2);
	UNIT_CHECK(store_message_copy(t.store, inbox, uids, 2, trash, false, t.arena, &source,
				      &dest, &count, &uidvalidity, &t.error) == 0 && count == 2);
	test_usage(&t, t.account, 104, 4);
	UNIT_CHECK(store_message_remove(t.store, trash, dest, 1, t.arena, &gone, &count,
					&t.error) == 0 && count == 1);
	test_usage(&t, t.account, 78, 3);
	both[0] = t.account;
	both[1] = bob;
	UNIT_CHECK(store_message_deliver(t.store, both, 2, msg, m.size, 0, uids, &t.error) == 0);
	test_usage(&t, t.account, 104, 4);
	test_usage(&t, bob, 26, 1);

	/* Limits: 4 messages; the default only for accounts without their own. */
	store_quota_set_default(t.store, STORE_QUOTA_NONE, 4);
	UNIT_CHECK(store_message_append(t.store, inbox, &m, 1, uids, &uidvalidity, &t.error) ==
		   STORE_EOVERQUOTA);
	UNIT_CHECK(store_message_copy(t.store, inbox, uids, 1, trash, false, t.arena, &source,
				      &dest, &count, &uidvalidity, &t.error) == STORE_EOVERQUOTA);
	test_usage(&t, t.account, 104, 4);
	UNIT_CHECK(store_quota_set(t.store, bob, STORE_QUOTA_NONE, STORE_QUOTA_NONE,
				   &t.error) == 0);
	UNIT_CHECK(store_message_deliver(t.store, both, 2, msg, m.size, 0, uids, &t.error) == 0);
	UNIT_CHECK(uids[0] == 0 && uids[1] != 0); /* alice full, bob not */
	test_usage(&t, bob, 52, 2);
	UNIT_CHECK(store_message_deliver(t.store, both, 1, msg, m.size, 0, uids, &t.error) ==
		   STORE_EOVERQUOTA);
	/* Storage: 1 KiB = 1024 bytes exactly. */
	UNIT_CHECK(store_quota_set(t.store, t.account, 1, STORE_QUOTA_NONE, &t.error) == 0);
	char bytes[1024];
	memset(bytes, 'x', sizeof(bytes));
	memcpy(bytes, "Subject: big\r\n\r\n", 16);
	struct store_new_message big = { .data = bytes, .size = 1024 - 104 + 1 };
	UNIT_CHECK(store_message_append(t.store, inbox, &big, 1, uids, &uidvalidity, &t.error) ==
		   STORE_EOVERQUOTA);
	big.size--;
	UNIT_CHECK(store_message_append(t.store, inbox, &big, 1, uids, &uidvalidity, &t.error) ==
		   0);
	test_usage(&t, t.account, 1024, 5);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "Trash", &t.error) == 0);
	test_usage(&t, t.account, 1024 - 26, 4); /* Trash held one copy */
	UNIT_CHECK(store_quota_set(t.store, 999999, 1, 1, &t.error) == STORE_ENOTFOUND);
	test_close(&t);
}

/* A version-3 file (before quotas) gets its usage counted when opened. */
static void quota_migration_counts_existing_mail(void)
{
	static const char msg[] = "Subject: old\r\n\r\nmail\r\n";
	struct test_store t;
	struct store_new_message m = { .data = msg, .size = sizeof(msg) - 1 };
	uint32_t uid, uidvalidity;
	char path[TEST_PATH_MAX + 16];
	sqlite3 *db;

	test_open(&t);
	UNIT_CHECK(store_message_append(t.store, test_mailbox_id(&t, "INBOX"), &m, 1, &uid,
					&uidvalidity, &t.error) == 0);
	store_close(t.store);
	t.store = NULL;
	snprintf(path, sizeof(path), "%s/buzon.db", t.dir);
	UNIT_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	UNIT_CHECK(sqlite3_exec(db, "DROP TRIGGER mailbox_metadata_gc;"
				"DROP TRIGGER account_metadata_gc; DROP TABLE metadata;"
				"DROP TRIGGER message_seen_gc; DROP TABLE seen;"
				"DROP TABLE acl;"
				"DROP TRIGGER message_usage_add;"
				"DROP TRIGGER message_usage_remove;"
				"ALTER TABLE account DROP COLUMN quota_storage;"
				"ALTER TABLE account DROP COLUMN quota_messages;"
				"ALTER TABLE account DROP COLUMN used_bytes;"
				"ALTER TABLE account DROP COLUMN used_messages;"
				/* and what later steps added: a real version 3 file
				 * has none of it */
				"ALTER TABLE account DROP COLUMN scram;"
				"DROP TABLE app_password;"
				"ALTER TABLE blob DROP COLUMN from_display;"
				"ALTER TABLE blob DROP COLUMN to_display;"
				"PRAGMA user_version = 3;", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	UNIT_CHECK(store_open(TEST_SQLITE(t.dir), t.bus, &t.store, &t.error) == STORE_OK);
	test_usage(&t, t.account, m.size, 1);
	test_close(&t);
}

/* Sharing: ACL entries, what is shared with whom (with rights combined),
 * per-user \Seen with a MODSEQ bump, and an address that goes takes its
 * entries with it. */
static void acl_and_per_user_seen(void)
{
	struct test_store t;
	struct store_acl_entry *entries;
	struct store_shared_mailbox *shared;
	struct store_message_state *res;
	uint32_t *seen, uids[2] = { 1, 2 };
	size_t count;
	int64_t bob, sys, sys2;

	test_open(&t);
	int64_t inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "one", "1", 0);
	test_append(&t, inbox, "two", "2", STORE_FLAG_SEEN);
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h", &bob, &t.error) == 0);
	UNIT_CHECK(store_acl_set(t.store, inbox, "bob@example.test", "lrs", &t.error) == 0);
	UNIT_CHECK(store_acl_set(t.store, inbox, "anyone", "l", &t.error) == 0);
	UNIT_CHECK(store_acl_set(t.store, inbox, "-bob@example.test", "s", &t.error) == 0);
	UNIT_CHECK(store_acl_list(t.store, inbox, t.arena, &entries, &count, &t.error) == 0);
	UNIT_CHECK(count == 3);
	if (count == 3) {
		UNIT_CHECK_STR(entries[0].identifier, "-bob@example.test");
		UNIT_CHECK_STR(entries[2].rights, "lrs");
	}
	UNIT_CHECK(store_acl_shared_with(t.store, bob, "Bob@Example.test", t.arena, &shared, &count,
					 &t.error) == 0);
	UNIT_CHECK(count == 1);
	if (count == 1) {
		UNIT_CHECK(shared[0].mailbox.id == inbox && shared[0].account_id == t.account);
		UNIT_CHECK_STR(shared[0].owner, "alice@example.test");
		UNIT_CHECK(shared[0].rights == 3); /* l r; s taken away */
	}
	/* nothing of one's own */
	UNIT_CHECK(store_acl_shared_with(t.store, t.account, "alice@example.test", t.arena, &shared,
					 &count, &t.error) == 0 && count == 0);
	uint64_t before = test_modseq(&t, inbox);
	UNIT_CHECK(store_seen_set(t.store, bob, inbox, uids, 2, true, t.arena, &res, &count,
				  &t.error) == 0 && count == 2);
	UNIT_CHECK(test_modseq(&t, inbox) == before + 1);
	if (count == 2)
		UNIT_CHECK(res[0].flags == 0 && res[0].modseq == before + 1); /* owner's flags */
	UNIT_CHECK(store_seen_list(t.store, bob, inbox, t.arena, &seen, &count, &t.error) == 0);
	UNIT_CHECK(count == 2 && seen[0] == 1 && seen[1] == 2);
	/* no change, no bump */
	UNIT_CHECK(store_seen_set(t.store, bob, inbox, uids, 1, true, t.arena, &res, &count,
				  &t.error) == 0);
	UNIT_CHECK(test_modseq(&t, inbox) == before + 1);
	UNIT_CHECK(store_seen_set(t.store, bob, inbox, uids, 1, false, t.arena, &res, &count,
				  &t.error) == 0);
	UNIT_CHECK(store_seen_list(t.store, bob, inbox, t.arena, &seen, &count, &t.error) == 0);
	UNIT_CHECK(count == 1 && seen[0] == 2);
	/* an expunged message takes its seen rows along */
	uint32_t *gone;
	UNIT_CHECK(store_message_remove(t.store, inbox, &uids[1], 1, t.arena, &gone, &count,
					&t.error) == 0 && count == 1);
	UNIT_CHECK(store_seen_list(t.store, bob, inbox, t.arena, &seen, &count, &t.error) == 0 &&
		   count == 0);
	UNIT_CHECK(store_account_delete(t.store, "bob@example.test", &t.error) == 0);
	UNIT_CHECK(store_acl_list(t.store, inbox, t.arena, &entries, &count, &t.error) == 0);
	UNIT_CHECK(count == 1 && strcmp(entries[0].identifier, "anyone") == 0);
	UNIT_CHECK(store_acl_set(t.store, inbox, "anyone", NULL, &t.error) == 0);
	UNIT_CHECK(store_acl_list(t.store, inbox, t.arena, &entries, &count, &t.error) == 0 &&
		   count == 0);
	/* the public-folder owner: made once, found again, no folders */
	UNIT_CHECK(store_account_system(t.store, STORE_SHARED_ACCOUNT, false, &sys, &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_account_system(t.store, STORE_SHARED_ACCOUNT, true, &sys, &t.error) == 0);
	UNIT_CHECK(store_account_system(t.store, STORE_SHARED_ACCOUNT, false, &sys2, &t.error) ==
		   0 && sys2 == sys);
	struct store_mailbox *mbs;
	UNIT_CHECK(store_mailbox_list(t.store, sys, t.arena, &mbs, &count, &t.error) == 0 &&
		   count == 0);
	test_close(&t);
}

/* A version-8 file (before the RFC 5957 display values) opens; its
 * messages read with no display value (SORT falls back), new ones get one. */
static void display_migration_keeps_old_messages(void)
{
	static const char msg[] = "From: \"Old, Sender\" <old@example.test>\r\n\r\nmail\r\n";
	struct test_store t;
	struct store_new_message m = { .data = msg, .size = sizeof(msg) - 1 };
	struct store_message_info info;
	uint32_t uid, uid2, uidvalidity;
	char path[TEST_PATH_MAX + 16];
	sqlite3 *db;

	test_open(&t);
	int64_t inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(store_message_append(t.store, inbox, &m, 1, &uid, &uidvalidity, &t.error) == 0);
	store_close(t.store);
	t.store = NULL;
	snprintf(path, sizeof(path), "%s/buzon.db", t.dir);
	UNIT_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	UNIT_CHECK(sqlite3_exec(db, "ALTER TABLE blob DROP COLUMN from_display;"
				"ALTER TABLE blob DROP COLUMN to_display;"
				"PRAGMA user_version = 8;", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	UNIT_CHECK(store_open(TEST_SQLITE(t.dir), t.bus, &t.store, &t.error) == STORE_OK);
	if (t.store == NULL) {
		test_close(&t);
		return;
	}
	struct arena *arena = arena_new();
	UNIT_CHECK(store_message_get(t.store, inbox, uid, STORE_INFO_SEARCH, arena, &info,
				     &t.error) == 0);
	UNIT_CHECK(info.from_display == NULL && info.from_addr != NULL);
	UNIT_CHECK(store_message_append(t.store, inbox, &m, 1, &uid2, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, inbox, uid2, STORE_INFO_SEARCH, arena, &info,
				     &t.error) == 0);
	UNIT_CHECK_STR(info.from_display, "Old, Sender");
	arena_free(arena);
	test_close(&t);
}

/* POP3's UPDATE: exactly the named UIDs go, whatever their flags, in one
 * transaction; missing ones are skipped; the expunges are recorded. */
static void remove_expunges_exactly_the_named_uids(void)
{
	struct test_store t;
	struct store_changes ch;
	uint32_t *removed, uids[3] = { 3, 1, 99 };
	size_t n;

	test_open(&t);
	int64_t inbox = test_mailbox_id(&t, "INBOX");
	for (int i = 0; i < 4; i++)
		test_append(&t, inbox, "m", "b", 0);
	uint64_t before = test_modseq(&t, inbox);
	UNIT_CHECK(store_message_remove(t.store, inbox, uids, 3, t.arena, &removed, &n,
					&t.error) == 0);
	UNIT_CHECK(n == 2 && removed[0] == 1 && removed[1] == 3);
	UNIT_CHECK(store_message_changes(t.store, inbox, before, t.arena, &ch, &t.error) == 0);
	UNIT_CHECK(ch.expunged_count == 2 && ch.highestmodseq == before + 1);
	struct store_mailbox_status st;
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &st, &t.error) == 0 && st.messages == 2);
	test_close(&t);
}

static void mailbox_create_list_delete(void)
{
	struct test_store t;
	struct store_mailbox a;
	uint32_t old_uidvalidity;

	test_open(&t);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a/b", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a", 0, &t.error) == STORE_EEXISTS);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "", 0, &t.error) == STORE_EINVALID);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "Ünïcödé", STORE_USE_FLAGGED,
					&t.error) == 0);
	UNIT_CHECK(test_mailbox(&t, "Ünïcödé").special_use == STORE_USE_FLAGGED);
	a = test_mailbox(&t, "a");
	old_uidvalidity = a.uidvalidity;
	UNIT_CHECK(test_append(&t, a.id, "x", "y", 0) == 1);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "a", &t.error) == 0);
	UNIT_CHECK(!test_has_mailbox(&t, "a"));
	UNIT_CHECK(test_has_mailbox(&t, "a/b"));
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "a", &t.error) == STORE_ENOTFOUND);
	/* missing superiors are created with the mailbox, in one transaction */
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "p/q/r", STORE_USE_JUNK, &t.error) ==
		   0);
	UNIT_CHECK(test_has_mailbox(&t, "p") && test_has_mailbox(&t, "p/q"));
	UNIT_CHECK(test_mailbox(&t, "p/q/r").special_use == STORE_USE_JUNK);
	UNIT_CHECK(test_mailbox(&t, "p").special_use == 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "p/q/r", 0, &t.error) == STORE_EEXISTS);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "p/s", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "INBOX", &t.error) == STORE_EINVALID);
	/* A recreated name never gets an old UIDVALIDITY back. */
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a", 0, &t.error) == 0);
	a = test_mailbox(&t, "a");
	UNIT_CHECK(a.uidvalidity > old_uidvalidity);
	UNIT_CHECK(a.uidnext == 1);
	test_close(&t);
}

static void mailbox_rename_moves_children(void)
{
	struct test_store t;
	struct store_mailbox before, after;

	test_open(&t);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a/b", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "a/b/c", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "ab", 0, &t.error) == 0);
	before = test_mailbox(&t, "a/b");
	UNIT_CHECK(test_append(&t, before.id, "kept", "across rename", 0) == 1);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "a", "x", &t.error) == 0);
	UNIT_CHECK(!test_has_mailbox(&t, "a") && !test_has_mailbox(&t, "a/b"));
	UNIT_CHECK(test_has_mailbox(&t, "x") && test_has_mailbox(&t, "x/b/c"));
	UNIT_CHECK(test_has_mailbox(&t, "ab"));
	after = test_mailbox(&t, "x/b");
	UNIT_CHECK(after.id == before.id);
	UNIT_CHECK(after.uidvalidity == before.uidvalidity);
	UNIT_CHECK(after.uidnext == 2);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x", "ab", &t.error) == STORE_EEXISTS);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x", "x/y", &t.error) ==
		   STORE_EINVALID);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "nope", "z", &t.error) ==
		   STORE_ENOTFOUND);
	/* a child name already taken at the target blocks the whole rename */
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "y/b", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x", "y", &t.error) == STORE_EEXISTS);
	UNIT_CHECK(test_has_mailbox(&t, "x/b"));
	/* missing superiors of the target come with it (RFC 9051 §6.3.6) ... */
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x/b/c", "p/q/c", &t.error) == 0);
	UNIT_CHECK(test_has_mailbox(&t, "p") && test_has_mailbox(&t, "p/q"));
	UNIT_CHECK(test_has_mailbox(&t, "p/q/c") && !test_has_mailbox(&t, "x/b/c"));
	/* ... in the same transaction: a rename that fails after creating
	 * them ("f/e/b" is taken, "f" was missing) leaves none behind */
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "f/e/b", 0, &t.error) == 0);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "f/e", &t.error) == 0);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "f", &t.error) == 0);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "x", "f/e", &t.error) == STORE_EEXISTS);
	UNIT_CHECK(!test_has_mailbox(&t, "f") && test_has_mailbox(&t, "x"));
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "nope", "s/t", &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(!test_has_mailbox(&t, "s"));
	test_close(&t);
}

static void mailbox_rename_inbox_moves_messages(void)
{
	struct test_store t;
	struct store_mailbox inbox, old, inbox_after;
	struct store_message_state *list;
	struct store_changes changes;
	uint64_t highestmodseq;
	size_t count;

	test_open(&t);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "INBOX/child", 0, &t.error) == 0);
	inbox = test_mailbox(&t, "INBOX");
	test_append(&t, inbox.id, "one", "1", STORE_FLAG_SEEN);
	test_append(&t, inbox.id, "two", "2", 0);
	test_append(&t, inbox.id, "three", "3", 0);
	highestmodseq = test_modseq(&t, inbox.id);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "INBOX", "Old", &t.error) == 0);
	inbox_after = test_mailbox(&t, "INBOX");
	old = test_mailbox(&t, "Old");
	UNIT_CHECK(inbox_after.id == inbox.id);
	UNIT_CHECK(inbox_after.uidvalidity == inbox.uidvalidity);
	UNIT_CHECK(inbox_after.uidnext == 4);
	UNIT_CHECK(old.uidvalidity != inbox.uidvalidity);
	UNIT_CHECK(test_has_mailbox(&t, "INBOX/child"));
	UNIT_CHECK(!test_has_mailbox(&t, "Old/child"));
	UNIT_CHECK(store_message_list(t.store, old.id, 1, t.arena, &list, &count, &highestmodseq,
				      &t.error) == 0);
	UNIT_CHECK(count == 3);
	if (count == 3)
		UNIT_CHECK(list[0].uid == 1 && list[2].uid == 3 && list[0].flags == STORE_FLAG_SEEN);
	UNIT_CHECK(store_message_changes(t.store, inbox.id, test_modseq(&t, inbox.id) - 1,
					 t.arena, &changes, &t.error) == 0);
	UNIT_CHECK(changes.expunged_count == 3 && changes.changed_count == 0);
	UNIT_CHECK(test_append(&t, inbox.id, "four", "4", 0) == 4);
	/* below INBOX is allowed: INBOX's children are not moved */
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "INBOX", "INBOX/old", &t.error) == 0);
	UNIT_CHECK(test_mailbox(&t, "INBOX/old").uidnext == 2);
	UNIT_CHECK(test_mailbox(&t, "INBOX").uidnext == 5);
	test_close(&t);
}

static void mailbox_status_counts(void)
{
	struct test_store t;
	struct store_mailbox_status status;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &status, &t.error) == 0);
	UNIT_CHECK(status.messages == 0 && status.uidnext == 1 && status.size == 0);
	test_append(&t, inbox, "a", "x", STORE_FLAG_SEEN);
	test_append(&t, inbox, "b", "x", STORE_FLAG_DELETED);
	test_append(&t, inbox, "c", "x", 0);
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &status, &t.error) == 0);
	UNIT_CHECK(status.messages == 3);
	UNIT_CHECK(status.unseen == 2);
	UNIT_CHECK(status.deleted == 1);
	UNIT_CHECK(status.uidnext == 4);
	UNIT_CHECK(status.uidvalidity == test_mailbox(&t, "INBOX").uidvalidity);
	UNIT_CHECK(status.highestmodseq == test_mailbox(&t, "INBOX").highestmodseq);
	UNIT_CHECK(status.size == 3 * strlen(test_message_text(t.arena, "a", "x")));
	UNIT_CHECK(store_mailbox_status(t.store, 9999, &status, &t.error) == STORE_ENOTFOUND);
	test_close(&t);
}

static void subscriptions_are_names(void)
{
	struct test_store t;
	char **names;
	size_t count;

	test_open(&t);
	UNIT_CHECK(store_subscription_set(t.store, t.account, "does/not/exist", true, &t.error) == 0);
	UNIT_CHECK(store_subscription_set(t.store, t.account, "does/not/exist", true, &t.error) == 0);
	UNIT_CHECK(store_subscription_set(t.store, t.account, "Junk", false, &t.error) == 0);
	UNIT_CHECK(store_subscription_list(t.store, t.account, t.arena, &names, &count,
					   &t.error) == 0);
	UNIT_CHECK(count == 6);
	if (count == 6) {
		UNIT_CHECK_STR(names[1], "Drafts");
		UNIT_CHECK_STR(names[2], "INBOX");
		UNIT_CHECK_STR(names[5], "does/not/exist");
	}
	test_close(&t);
}

/* ---- messages ------------------------------------------------------------ */

static void append_assigns_ascending_uids(void)
{
	struct test_store t;
	struct store_new_message m[3];
	uint32_t uids[3], uidvalidity = 0;
	uint64_t modseq;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	modseq = test_modseq(&t, inbox);
	for (int i = 0; i < 3; i++) {
		const char *text = test_message_text(t.arena, "multi", "append");

		m[i] = (struct store_new_message){ .data = text, .size = strlen(text) };
	}
	UNIT_CHECK(store_message_append(t.store, inbox, m, 3, uids, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(uids[0] == 1 && uids[1] == 2 && uids[2] == 3);
	UNIT_CHECK(uidvalidity == test_mailbox(&t, "INBOX").uidvalidity);
	/* one transaction, one modseq step */
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 1);
	UNIT_CHECK(test_append(&t, inbox, "four", "4", 0) == 4);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 2);
	UNIT_CHECK(store_message_append(t.store, 9999, m, 1, uids, &uidvalidity, &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_message_append(t.store, inbox, m, 0, uids, &uidvalidity, &t.error) == 0);
	test_close(&t);
}

static void append_keeps_parse_results(void)
{
	struct test_store t;
	struct store_message_info info;
	const char *text, *data;
	size_t len;
	uint32_t uid, uidvalidity;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	text = test_message_text(t.arena, "Parsed once", "The body text.");
	struct store_new_message m = {
		.data = text, .size = strlen(text), .flags = STORE_FLAG_FLAGGED | STORE_FLAG_SEEN,
		.keywords = "$Forwarded Work $forwarded", .internal_date = 1700000000,
		.internal_date_tz = 60,
	};
	UNIT_CHECK(store_message_append(t.store, inbox, &m, 1, &uid, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, inbox, uid,
				     STORE_INFO_STRUCTURE | STORE_INFO_SEARCH, t.arena, &info,
				     &t.error) == 0);
	UNIT_CHECK(info.uid == uid);
	UNIT_CHECK(info.flags == (STORE_FLAG_FLAGGED | STORE_FLAG_SEEN));
	UNIT_CHECK_STR(info.keywords, "$Forwarded Work");
	UNIT_CHECK(info.internal_date == 1700000000 && info.internal_date_tz == 60);
	UNIT_CHECK(info.save_date > 1700000000);
	UNIT_CHECK(info.size == strlen(text));
	UNIT_CHECK(info.envelope != NULL && strstr(info.envelope, "Parsed once") != NULL);
	UNIT_CHECK(info.bodystructure != NULL && info.body != NULL && info.parts != NULL);
	UNIT_CHECK(info.header_size == (uint32_t)(strstr(text, "\r\n\r\n") + 4 - text));
	UNIT_CHECK_STR(info.subject, "Parsed once");
	UNIT_CHECK_STR(info.from_addr, "alice@example.test");
	UNIT_CHECK_STR(info.to_addr, "bob@example.test");
	UNIT_CHECK(info.cc == NULL);
	UNIT_CHECK(info.has_sent_date && info.sent_date == 760686745);
	UNIT_CHECK(info.email_id != NULL && info.email_id[0] != '\0');
	UNIT_CHECK(info.preview != NULL && strstr(info.preview, "The body") != NULL);
	/* the bytes, whole and in ranges */
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == 0);
	UNIT_CHECK(len == strlen(text) && memcmp(data, text, len) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 6, 5, t.arena, &data, &len, &t.error) == 0);
	UNIT_CHECK(len == 5 && memcmp(data, "Alice", 5) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, strlen(text) - 2, 100, t.arena, &data,
				   &len, &t.error) == 0);
	UNIT_CHECK(len == 2 && memcmp(data, "\r\n", 2) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, strlen(text) + 10, 100, t.arena, &data,
				   &len, &t.error) == 0);
	UNIT_CHECK(len == 0);
	UNIT_CHECK(store_blob_read(t.store, 424242, 0, 1, t.arena, &data, &len, &t.error) ==
		   STORE_ENOTFOUND);
	UNIT_CHECK(store_message_get(t.store, inbox, 99, 0, t.arena, &info, &t.error) ==
		   STORE_ENOTFOUND);
	test_close(&t);
}

static void append_accepts_odd_messages(void)
{
	struct test_store t;
	struct store_new_message m[2] = {
		{ .data = "", .size = 0 },
		{ .data = "no header at all, \0 and a NUL", .size = 29 },
	};
	struct store_message_info info;
	const char *data;
	size_t len;
	uint32_t uids[2], uidvalidity;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(store_message_append(t.store, inbox, m, 2, uids, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, inbox, uids[1], 0, t.arena, &info, &t.error) == 0);
	UNIT_CHECK(store_blob_read(t.store, info.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == 0);
	UNIT_CHECK(len == 29 && memcmp(data, m[1].data, 29) == 0);
	UNIT_CHECK(store_message_get(t.store, inbox, uids[0], 0, t.arena, &info, &t.error) == 0);
	UNIT_CHECK(info.size == 0);
	test_close(&t);
}

static void list_and_changes_follow_modseq(void)
{
	struct test_store t;
	struct store_message_state *list, *result;
	struct store_changes changes;
	uint64_t highestmodseq, base;
	uint32_t uid2 = 2, *failed, *expunged;
	size_t count, result_count, failed_count, expunged_count;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", 0);
	test_append(&t, inbox, "b", "2", 0);
	test_append(&t, inbox, "c", "3", 0);
	UNIT_CHECK(store_message_list(t.store, inbox, 2, t.arena, &list, &count, &highestmodseq,
				      &t.error) == 0);
	UNIT_CHECK(count == 2 && list[0].uid == 2 && list[1].uid == 3);
	UNIT_CHECK(highestmodseq == test_modseq(&t, inbox));
	UNIT_CHECK(list[1].modseq == highestmodseq);
	base = highestmodseq;

	/* nothing since now */
	UNIT_CHECK(store_message_changes(t.store, inbox, base, t.arena, &changes, &t.error) == 0);
	UNIT_CHECK(changes.changed_count == 0 && changes.expunged_count == 0);
	UNIT_CHECK(changes.highestmodseq == base && changes.uidnext == 4);

	/* a flag change, a new message, an expunge */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, &uid2, 1, STORE_FLAGS_ADD,
					   STORE_FLAG_DELETED, NULL, 0, t.arena, &result,
					   &result_count, &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(store_message_changes(t.store, inbox, base, t.arena, &changes, &t.error) == 0);
	UNIT_CHECK(changes.changed_count == 1 && changes.changed[0].uid == 2);
	UNIT_CHECK(changes.changed[0].flags == STORE_FLAG_DELETED);
	UNIT_CHECK(changes.changed[0].modseq == base + 1 && changes.highestmodseq == base + 1);
	UNIT_CHECK(test_append(&t, inbox, "d", "4", 0) == 4);
	UNIT_CHECK(store_message_expunge(t.store, inbox, NULL, 0, t.arena, &expunged,
					 &expunged_count, &t.error) == 0);
	UNIT_CHECK(store_message_changes(t.store, inbox, base, t.arena, &changes, &t.error) == 0);
	UNIT_CHECK(changes.changed_count == 1 && changes.changed[0].uid == 4);
	UNIT_CHECK(changes.expunged_count == 1 && changes.expunged[0] == 2);
	UNIT_CHECK(changes.highestmodseq == base + 3 && changes.uidnext == 5);
	/* since the expunge: nothing changed, nothing more expunged */
	UNIT_CHECK(store_message_changes(t.store, inbox, base + 3, t.arena, &changes, &t.error) == 0);
	UNIT_CHECK(changes.changed_count == 0 && changes.expunged_count == 0);
	/* since 0: everything that exists, and every expunge */
	UNIT_CHECK(store_message_changes(t.store, inbox, 0, t.arena, &changes, &t.error) == 0);
	UNIT_CHECK(changes.changed_count == 3 && changes.expunged_count == 1);
	UNIT_CHECK(store_message_changes(t.store, 9999, 0, t.arena, &changes, &t.error) ==
		   STORE_ENOTFOUND);
	test_close(&t);
}

static void set_flags_add_remove_replace(void)
{
	struct test_store t;
	struct store_message_state *result;
	uint32_t uids[] = { 3, 1, 7, 2 }, *failed;
	size_t count, failed_count;
	uint64_t modseq;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", 0);
	test_append(&t, inbox, "b", "2", STORE_FLAG_SEEN);
	test_append(&t, inbox, "c", "3", 0);
	modseq = test_modseq(&t, inbox);
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids, 4, STORE_FLAGS_ADD,
					   STORE_FLAG_SEEN, "Work", 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(count == 3 && failed_count == 0);
	if (count == 3) {
		UNIT_CHECK(result[0].uid == 1 && result[1].uid == 2 && result[2].uid == 3);
		UNIT_CHECK(result[0].flags == STORE_FLAG_SEEN);
		UNIT_CHECK_STR(result[1].keywords, "Work");
		UNIT_CHECK(result[2].modseq == modseq + 1);
	}
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 1);
	/* the same again changes nothing and bumps nothing (keywords ignore case) */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids, 4, STORE_FLAGS_ADD,
					   STORE_FLAG_SEEN, "WORK", 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 1);
	UNIT_CHECK(count == 3 && result[0].modseq == modseq + 1);
	/* remove */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids + 1, 1, STORE_FLAGS_REMOVE,
					   STORE_FLAG_SEEN, "work", 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(count == 1 && result[0].uid == 1 && result[0].flags == 0);
	UNIT_CHECK(result[0].keywords == NULL || result[0].keywords[0] == '\0');
	/* replace */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, uids, 1, STORE_FLAGS_REPLACE,
					   STORE_FLAG_ANSWERED | STORE_FLAG_DRAFT, "$Junk  $Label1",
					   0, t.arena, &result, &count, &failed, &failed_count,
					   &t.error) == 0);
	UNIT_CHECK(count == 1 && result[0].flags == (STORE_FLAG_ANSWERED | STORE_FLAG_DRAFT));
	UNIT_CHECK_STR(result[0].keywords, "$Junk $Label1");
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 3);
	UNIT_CHECK(store_message_set_flags(t.store, 9999, uids, 1, STORE_FLAGS_ADD, 0, NULL, 0,
					   t.arena, &result, &count, &failed, &failed_count,
					   &t.error) == STORE_ENOTFOUND);
	test_close(&t);
}

static void set_flags_unchangedsince_fails_changed_messages(void)
{
	struct test_store t;
	struct store_message_state *result;
	uint32_t all[] = { 1, 2 }, two = 2, *failed;
	size_t count, failed_count;
	uint64_t seen_at;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", 0);
	test_append(&t, inbox, "b", "2", 0);
	seen_at = test_modseq(&t, inbox);
	/* another session changes message 2 */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, &two, 1, STORE_FLAGS_ADD,
					   STORE_FLAG_FLAGGED, NULL, 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	/* RFC 7162 §3.1.3: ours applies to 1 only, 2 is reported as failed */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, all, 2, STORE_FLAGS_ADD,
					   STORE_FLAG_DELETED, NULL, seen_at, t.arena, &result,
					   &count, &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(failed_count == 1 && failed[0] == 2);
	UNIT_CHECK(count == 2);
	if (count == 2) {
		UNIT_CHECK(result[0].flags == STORE_FLAG_DELETED);
		UNIT_CHECK(result[1].flags == STORE_FLAG_FLAGGED);
	}
	test_close(&t);
}

static void expunge_only_deleted_messages(void)
{
	struct test_store t;
	struct store_message_state *list;
	struct store_mailbox_status status;
	uint32_t some[] = { 1, 2, 5 }, *expunged;
	size_t count;
	uint64_t modseq, highest;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", STORE_FLAG_DELETED);
	test_append(&t, inbox, "b", "2", 0);
	test_append(&t, inbox, "c", "3", STORE_FLAG_DELETED);
	test_append(&t, inbox, "d", "4", STORE_FLAG_DELETED);
	modseq = test_modseq(&t, inbox);
	/* UID EXPUNGE 1,2,5: only 1 has \Deleted */
	UNIT_CHECK(store_message_expunge(t.store, inbox, some, 3, t.arena, &expunged, &count,
					 &t.error) == 0);
	UNIT_CHECK(count == 1 && expunged[0] == 1);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 1);
	/* nothing to expunge: no modseq step */
	UNIT_CHECK(store_message_expunge(t.store, inbox, some, 3, t.arena, &expunged, &count,
					 &t.error) == 0);
	UNIT_CHECK(count == 0 && test_modseq(&t, inbox) == modseq + 1);
	/* EXPUNGE: the rest of the \Deleted */
	UNIT_CHECK(store_message_expunge(t.store, inbox, NULL, 0, t.arena, &expunged, &count,
					 &t.error) == 0);
	UNIT_CHECK(count == 2 && expunged[0] == 3 && expunged[1] == 4);
	UNIT_CHECK(store_message_list(t.store, inbox, 1, t.arena, &list, &count, &highest,
				      &t.error) == 0);
	UNIT_CHECK(count == 1 && list[0].uid == 2);
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &status, &t.error) == 0);
	UNIT_CHECK(status.uidnext == 5 && status.messages == 1);
	test_close(&t);
}

static void copy_shares_blob_and_maps_uids(void)
{
	struct test_store t;
	struct store_message_info a, b;
	uint32_t uids[] = { 3, 1, 99 }, *source, *dest, *expunged, uidvalidity;
	size_t count;
	uint64_t inbox_modseq, work_modseq;
	int64_t inbox, work, bob;
	const char *data;
	size_t len;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "Work", 0, &t.error) == 0);
	work = test_mailbox_id(&t, "Work");
	test_append(&t, work, "pre", "existing", 0);
	test_append(&t, inbox, "a", "1", STORE_FLAG_SEEN);
	test_append(&t, inbox, "b", "2", 0);
	test_append(&t, inbox, "c", "3", STORE_FLAG_FLAGGED);
	inbox_modseq = test_modseq(&t, inbox);
	work_modseq = test_modseq(&t, work);
	UNIT_CHECK(store_message_copy(t.store, inbox, uids, 3, work, false, t.arena, &source, &dest,
				      &count, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(count == 2);
	if (count == 2)
		UNIT_CHECK(source[0] == 1 && dest[0] == 2 && source[1] == 3 && dest[1] == 3);
	UNIT_CHECK(uidvalidity == test_mailbox(&t, "Work").uidvalidity);
	UNIT_CHECK(test_modseq(&t, inbox) == inbox_modseq);
	UNIT_CHECK(test_modseq(&t, work) == work_modseq + 1);
	UNIT_CHECK(store_message_get(t.store, inbox, 3, STORE_INFO_SEARCH, t.arena, &a, &t.error) == 0);
	UNIT_CHECK(store_message_get(t.store, work, 3, STORE_INFO_SEARCH, t.arena, &b, &t.error) == 0);
	UNIT_CHECK(a.blob_id == b.blob_id);
	UNIT_CHECK_STR(a.email_id, b.email_id);
	UNIT_CHECK(b.flags == STORE_FLAG_FLAGGED && b.modseq == work_modseq + 1);
	/* the copy outlives the original */
	UNIT_CHECK(store_message_copy(t.store, inbox, uids, 2, work, true, t.arena, &source, &dest,
				      &count, &uidvalidity, &t.error) == 0);
	UNIT_CHECK(count == 2 && dest[0] == 4 && dest[1] == 5);
	UNIT_CHECK(test_modseq(&t, inbox) == inbox_modseq + 1);
	UNIT_CHECK(test_modseq(&t, work) == work_modseq + 2);
	UNIT_CHECK(store_message_get(t.store, inbox, 3, 0, t.arena, &a, &t.error) == STORE_ENOTFOUND);
	UNIT_CHECK(store_blob_read(t.store, b.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == 0 && len > 0);
	/* delete all copies: the blob goes */
	{
		uint32_t all[] = { 3, 5 };
		struct store_message_state *r;
		uint32_t *f;
		size_t rc_count, fc;

		UNIT_CHECK(store_message_set_flags(t.store, work, all, 2, STORE_FLAGS_ADD,
						   STORE_FLAG_DELETED, NULL, 0, t.arena, &r,
						   &rc_count, &f, &fc, &t.error) == 0);
		UNIT_CHECK(store_message_expunge(t.store, work, NULL, 0, t.arena, &expunged, &count,
						 &t.error) == 0);
		UNIT_CHECK(count == 2);
	}
	UNIT_CHECK(store_blob_read(t.store, b.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
				   &t.error) == STORE_ENOTFOUND);
	/* Across accounts (a shared mailbox): the copy is the destination
	 * account's (its quota counts it) and outlives the source account. */
	UNIT_CHECK(store_account_create(t.store, "bob@example.test", "h", &bob, &t.error) == 0);
	{
		struct store_mailbox bob_inbox;
		struct store_quota q;

		UNIT_CHECK(store_mailbox_find(t.store, bob, "INBOX", t.arena, &bob_inbox,
					      &t.error) == 0);
		uint32_t left[1] = { 2 }; /* the one message INBOX still has */
		UNIT_CHECK(store_message_copy(t.store, inbox, left, 1, bob_inbox.id, false,
					      t.arena, &source, &dest, &count, &uidvalidity,
					      &t.error) == 0 && count == 1);
		UNIT_CHECK(store_quota_get(t.store, bob, &q, &t.error) == 0);
		UNIT_CHECK(q.used_messages == count);
		UNIT_CHECK(store_account_delete(t.store, "alice@example.test", &t.error) == 0);
		UNIT_CHECK(store_message_get(t.store, bob_inbox.id, dest[0], STORE_INFO_STATE, t.arena,
					     &b, &t.error) == 0);
		UNIT_CHECK(store_blob_read(t.store, b.blob_id, 0, SIZE_MAX, t.arena, &data, &len,
					   &t.error) == 0 && len > 0);
	}
	test_close(&t);
}

/* ---- search -------------------------------------------------------------- */

static size_t test_search(struct test_store *t, int64_t mailbox, const char *needle,
			  bool headers, uint32_t **uids)
{
	size_t count = 0;

	UNIT_CHECK(store_search_text(t->store, mailbox, needle, headers, t->arena, uids, &count,
				     &t->error) == STORE_OK);
	return count;
}

static void search_text_substrings(void)
{
	struct test_store t;
	uint32_t *uids;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "Quarterly report", "The numbers are in the attachment.", 0);
	test_append(&t, inbox, "Lunch", "Shall we meet at noon? Say \"yes\" über alles", 0);
	test_append(&t, inbox, "Numbers", "nothing here", 0);
	UNIT_CHECK(test_search(&t, inbox, "NUMBER", false, &uids) == 1 && uids[0] == 1);
	UNIT_CHECK(test_search(&t, inbox, "number", true, &uids) == 2 && uids[0] == 1 &&
		   uids[1] == 3);
	UNIT_CHECK(test_search(&t, inbox, "tachm", false, &uids) == 1);
	UNIT_CHECK(test_search(&t, inbox, "Quarterly", false, &uids) == 0);
	UNIT_CHECK(test_search(&t, inbox, "quarterly", true, &uids) == 1 && uids[0] == 1);
	UNIT_CHECK(test_search(&t, inbox, "alice@example", true, &uids) == 3);
	UNIT_CHECK(test_search(&t, inbox, "say \"yes\"", false, &uids) == 1 && uids[0] == 2);
	UNIT_CHECK(test_search(&t, inbox, "ÜBER", false, &uids) == 1 && uids[0] == 2);
	UNIT_CHECK(test_search(&t, inbox, "zebra", true, &uids) == 0);
	/* shorter than a trigram: a scan */
	UNIT_CHECK(test_search(&t, inbox, "NO", false, &uids) == 2 && uids[0] == 2 &&
		   uids[1] == 3);
	UNIT_CHECK(test_search(&t, inbox, "?", false, &uids) == 1 && uids[0] == 2);
	UNIT_CHECK(test_search(&t, inbox, "ly", false, &uids) == 0);
	UNIT_CHECK(test_search(&t, inbox, "ly", true, &uids) == 1 && uids[0] == 1);
	UNIT_CHECK(test_search(&t, inbox, "", false, &uids) == 3);
	UNIT_CHECK(store_search_text(t.store, 9999, "x", false, t.arena, &uids, &(size_t){ 0 },
				     &t.error) == STORE_ENOTFOUND);
	test_close(&t);
}

/* Collects what store_message_iterate hands over. */
struct test_iterate {
	uint32_t uids[8];
	size_t count;
	size_t stop_after;
	bool subjects_ok;
};

static int test_iterate_fn(void *context, const struct store_message_info *info)
{
	struct test_iterate *it = context;

	it->uids[it->count++] = info->uid;
	if (info->subject == NULL || info->from_addr == NULL || info->email_id == NULL)
		it->subjects_ok = false;
	return it->count == it->stop_after;
}

static void iterate_visits_messages_in_uid_order(void)
{
	struct test_store t;
	struct test_iterate it = { .subjects_ok = true };
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", 0);
	test_append(&t, inbox, "b", "2", 0);
	test_append(&t, inbox, "c", "3", 0);
	UNIT_CHECK(store_message_iterate(t.store, inbox, test_iterate_fn, &it, &t.error) == 0);
	UNIT_CHECK(it.count == 3 && it.uids[0] == 1 && it.uids[2] == 3 && it.subjects_ok);
	it = (struct test_iterate){ .stop_after = 2, .subjects_ok = true };
	UNIT_CHECK(store_message_iterate(t.store, inbox, test_iterate_fn, &it, &t.error) == 0);
	UNIT_CHECK(it.count == 2);
	test_close(&t);
}

/* ---- the bus ------------------------------------------------------------- */

/* One watcher: what it saw, guarded by its own lock (it runs on the
 * publishing thread). */
struct test_watcher {
	pthread_mutex_t lock;
	int calls;          /* STORE_EVENT_MESSAGES */
	int mailbox_events; /* STORE_EVENT_MAILBOXES */
	int subscription_events;
	int64_t mailbox_id;
	uint64_t modseq;
};

static void test_watch_fn(void *context, const struct store_event *event)
{
	struct test_watcher *w = context;

	pthread_mutex_lock(&w->lock);
	if (event->kind == STORE_EVENT_MESSAGES) {
		w->calls++;
		w->modseq = event->modseq;
	} else if (event->kind == STORE_EVENT_MAILBOXES) {
		w->mailbox_events++;
	} else {
		w->subscription_events++;
	}
	w->mailbox_id = event->mailbox_id;
	pthread_mutex_unlock(&w->lock);
}

static int test_watcher_count(struct test_watcher *w, int *field)
{
	int n;

	pthread_mutex_lock(&w->lock);
	n = *field;
	pthread_mutex_unlock(&w->lock);
	return n;
}

static int test_watcher_calls(struct test_watcher *w)
{
	int calls;

	pthread_mutex_lock(&w->lock);
	calls = w->calls;
	pthread_mutex_unlock(&w->lock);
	return calls;
}

/* A session thread: its own store handle, appending once. */
struct test_appender {
	const char *dir;
	struct store_bus *bus;
	int64_t mailbox_id;
	int count;
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

	if (store_open(TEST_SQLITE(a->dir), a->bus, &store, &error) != STORE_OK) {
		a->errors++;
		return NULL;
	}
	for (int i = 0; i < a->count; i++) {
		if (store_message_append(store, a->mailbox_id, &m, 1, &a->uids[i], &uidvalidity,
					 &error) != STORE_OK) {
			fprintf(stderr, "append: %s\n", error);
			a->errors++;
		}
	}
	store_close(store);
	return NULL;
}

static void bus_watchers_see_commits_from_other_threads(void)
{
	struct test_store t;
	struct test_watcher w1 = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct test_watcher w2 = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct test_watcher other = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct store_watch *h1, *h2, *h3;
	struct test_appender a = { .count = 1 };
	pthread_t thread;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	h1 = store_bus_watch(t.bus, t.account, test_watch_fn, &w1);
	h2 = store_bus_watch(t.bus, t.account, test_watch_fn, &w2);
	h3 = store_bus_watch(t.bus, t.account + 1, test_watch_fn, &other);
	a.dir = t.dir;
	a.bus = t.bus;
	a.mailbox_id = inbox;
	UNIT_CHECK(pthread_create(&thread, NULL, test_appender_run, &a) == 0);
	pthread_join(thread, NULL);
	UNIT_CHECK(a.errors == 0);
	UNIT_CHECK(test_watcher_calls(&w1) == 1 && test_watcher_calls(&w2) == 1);
	UNIT_CHECK(w1.mailbox_id == inbox && w1.modseq == test_modseq(&t, inbox));
	UNIT_CHECK(test_watcher_calls(&other) == 0);
	/* a move publishes both mailboxes */
	{
		int64_t trash = test_mailbox_id(&t, "Trash");
		uint32_t uid = 1, *s, *d, uv;
		size_t n;

		UNIT_CHECK(store_message_copy(t.store, inbox, &uid, 1, trash, true, t.arena, &s, &d,
					      &n, &uv, &t.error) == 0);
		UNIT_CHECK(test_watcher_calls(&w1) == 3);
	}
	store_bus_unwatch(t.bus, h1);
	UNIT_CHECK(test_append(&t, inbox, "after", "unwatch", 0) == 2);
	UNIT_CHECK(test_watcher_calls(&w1) == 3);
	UNIT_CHECK(test_watcher_calls(&w2) == 4);
	/* a read-only call publishes nothing */
	UNIT_CHECK(test_modseq(&t, inbox) > 0 && test_watcher_calls(&w2) == 4);
	store_bus_unwatch(t.bus, h2);
	store_bus_unwatch(t.bus, h3);
	test_close(&t);
}

/* Group commit (store_group_begin): the calls share one transaction, each
 * with its own modseq (RFC 7162 §3.1), a failing one is undone alone,
 * nothing is visible to another handle nor published before the commit,
 * and a rolled-back group leaves nothing. */
static void group_commit_shares_one_transaction(void)
{
	struct test_store t;
	struct test_watcher w = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct store_watch *h;
	struct store_message_state *result;
	struct store *other;
	uint32_t uid1 = 1, uid2 = 2, *failed, uid = 0, uidvalidity;
	size_t count, failed_count;
	uint64_t modseq, seen_modseq;
	const char *text = "Subject: grouped\r\n\r\nhello\r\n";
	struct store_new_message m = { .data = text, .size = strlen(text) };
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", 0);
	test_append(&t, inbox, "b", "2", 0);
	modseq = test_modseq(&t, inbox);
	UNIT_CHECK(store_open(TEST_SQLITE(t.dir), NULL, &other, &t.error) == STORE_OK);
	h = store_bus_watch(t.bus, t.account, test_watch_fn, &w);

	UNIT_CHECK(store_group_begin(t.store, &t.error) == STORE_OK);
	UNIT_CHECK(store_group_begin(t.store, &t.error) == STORE_EINVALID);
	UNIT_CHECK(store_message_set_flags(t.store, inbox, &uid1, 1, STORE_FLAGS_ADD,
					   STORE_FLAG_SEEN, NULL, 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(count == 1 && result[0].modseq == modseq + 1);
	/* a call that fails (no such mailbox) is undone alone */
	UNIT_CHECK(store_message_set_flags(t.store, 9999, &uid1, 1, STORE_FLAGS_ADD, 0, NULL, 0,
					   t.arena, &result, &count, &failed, &failed_count,
					   &t.error) == STORE_ENOTFOUND);
	/* the next call sees the first and gets a modseq of its own */
	UNIT_CHECK(store_message_set_flags(t.store, inbox, &uid2, 1, STORE_FLAGS_ADD,
					   STORE_FLAG_FLAGGED, NULL, 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	UNIT_CHECK(count == 1 && result[0].modseq == modseq + 2);
	UNIT_CHECK(store_message_append(t.store, inbox, &m, 1, &uid, &uidvalidity,
					&t.error) == STORE_OK && uid == 3);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 3); /* a read inside the group */
	/* nothing is visible elsewhere, nor published, before the commit */
	{
		struct store_mailbox_status status = { 0 };

		UNIT_CHECK(store_mailbox_status(other, inbox, &status, &t.error) == STORE_OK);
		UNIT_CHECK(status.highestmodseq == modseq && status.uidnext == 3);
	}
	UNIT_CHECK(test_watcher_calls(&w) == 0);
	UNIT_CHECK(store_group_commit(t.store, &t.error) == STORE_OK);
	UNIT_CHECK(test_watcher_calls(&w) >= 1);
	pthread_mutex_lock(&w.lock);
	seen_modseq = w.modseq;
	pthread_mutex_unlock(&w.lock);
	UNIT_CHECK(seen_modseq == modseq + 3);
	{
		struct store_mailbox_status status = { 0 };

		UNIT_CHECK(store_mailbox_status(other, inbox, &status, &t.error) == STORE_OK);
		UNIT_CHECK(status.highestmodseq == modseq + 3 && status.uidnext == 4);
	}
	UNIT_CHECK(store_group_commit(t.store, &t.error) == STORE_EINVALID);

	/* a group rolled back leaves nothing; the handle works on */
	UNIT_CHECK(store_group_begin(t.store, &t.error) == STORE_OK);
	UNIT_CHECK(store_message_set_flags(t.store, inbox, &uid1, 1, STORE_FLAGS_ADD,
					   STORE_FLAG_DELETED, NULL, 0, t.arena, &result, &count,
					   &failed, &failed_count, &t.error) == 0);
	store_group_rollback(t.store);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 3);
	UNIT_CHECK(test_append(&t, inbox, "after", "group", 0) == 4);
	UNIT_CHECK(test_modseq(&t, inbox) == modseq + 4);
	store_bus_unwatch(t.bus, h);
	store_close(other);
	test_close(&t);
}

static void mailbox_and_subscription_changes_are_published(void)
{
	struct test_store t;
	struct test_watcher w = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct store_watch *h;

	test_open(&t);
	h = store_bus_watch(t.bus, t.account, test_watch_fn, &w);
	UNIT_CHECK(store_mailbox_create(t.store, t.account, "Work", 0, &t.error) == 0);
	UNIT_CHECK(w.mailbox_events == 1 && w.mailbox_id == test_mailbox_id(&t, "Work"));
	UNIT_CHECK(store_subscription_set(t.store, t.account, "Work", true, &t.error) == 0);
	UNIT_CHECK(w.subscription_events == 1);
	UNIT_CHECK(store_mailbox_rename(t.store, t.account, "Work", "Play", &t.error) == 0);
	UNIT_CHECK(w.mailbox_events == 2 && w.subscription_events == 2);
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "Play", &t.error) == 0);
	UNIT_CHECK(w.mailbox_events == 3);
	/* a failed change publishes nothing */
	UNIT_CHECK(store_mailbox_delete(t.store, t.account, "Play", &t.error) == STORE_ENOTFOUND);
	UNIT_CHECK(w.mailbox_events == 3);
	store_bus_unwatch(t.bus, h);
	test_close(&t);
}

/* Wait (polling, bounded) until *field of w reaches want. */
static bool test_wait_count(struct test_watcher *w, int *field, int want)
{
	for (int i = 0; i < 1000; i++) {
		if (test_watcher_count(w, field) >= want)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static void feed_republishes_only_other_processes_changes(void)
{
	struct test_store t;
	struct test_watcher w = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct store_bus *other_bus = store_bus_new(); /* "another process" */
	struct store *other;
	struct store_feed *feed;
	struct store_watch *h;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	UNIT_CHECK(store_bus_origin(t.bus) != store_bus_origin(other_bus));
	UNIT_CHECK(store_bus_origin(NULL) == 0);
	UNIT_CHECK(store_feed_start(TEST_SQLITE(t.dir), t.bus, &feed, &t.error) == STORE_OK);
	UNIT_CHECK(store_open(TEST_SQLITE(t.dir), other_bus, &other, &t.error) == STORE_OK);
	h = store_bus_watch(t.bus, t.account, test_watch_fn, &w);

	/* our own commit: published once, by the committer, not again */
	UNIT_CHECK(test_append(&t, inbox, "ours", "x", 0) == 1);
	UNIT_CHECK(test_watcher_count(&w, &w.calls) == 1);
	/* the other's: only through the feed, with the mailbox and modseq */
	{
		const char *text = "Subject: theirs\r\n\r\nx\r\n";
		struct store_new_message m = { .data = text, .size = strlen(text) };
		uint32_t uid, uidvalidity;

		UNIT_CHECK(store_message_append(other, inbox, &m, 1, &uid, &uidvalidity,
						&t.error) == STORE_OK);
	}
	UNIT_CHECK(test_wait_count(&w, &w.calls, 2));
	UNIT_CHECK(w.mailbox_id == inbox && w.modseq == test_modseq(&t, inbox));
	UNIT_CHECK(store_mailbox_create(other, t.account, "Theirs", 0, &t.error) == 0);
	UNIT_CHECK(test_wait_count(&w, &w.mailbox_events, 1));
	UNIT_CHECK(store_subscription_set(other, t.account, "Theirs", true, &t.error) == 0);
	UNIT_CHECK(test_wait_count(&w, &w.subscription_events, 1));
	/* give the feed time to publish anything twice; it must not */
	usleep(500 * 1000);
	UNIT_CHECK(test_watcher_count(&w, &w.calls) == 2);
	UNIT_CHECK(test_watcher_count(&w, &w.mailbox_events) == 1);
	store_bus_unwatch(t.bus, h);
	store_feed_stop(feed);
	store_close(other);
	store_bus_free(other_bus);
	test_close(&t);
}

/* ---- durability and concurrency ------------------------------------------ */

static void reopen_keeps_everything(void)
{
	struct test_store t;
	struct store_message_state *list, *result;
	struct store_mailbox_status status;
	uint32_t two = 2, *failed, *expunged;
	size_t count, fc;
	uint64_t highest;
	int64_t inbox;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	test_append(&t, inbox, "a", "1", 0);
	test_append(&t, inbox, "b", "2", 0);
	UNIT_CHECK(store_message_set_flags(t.store, inbox, &two, 1, STORE_FLAGS_ADD,
					   STORE_FLAG_DELETED, "Kept", 0, t.arena, &result, &count,
					   &failed, &fc, &t.error) == 0);
	test_reopen(&t);
	UNIT_CHECK(store_message_list(t.store, inbox, 1, t.arena, &list, &count, &highest,
				      &t.error) == 0);
	UNIT_CHECK(count == 2);
	if (count == 2)
		UNIT_CHECK(list[1].flags == STORE_FLAG_DELETED && strcmp(list[1].keywords, "Kept") == 0);
	/* expunge the last message; UIDNEXT must not go back after a restart */
	UNIT_CHECK(store_message_expunge(t.store, inbox, NULL, 0, t.arena, &expunged, &count,
					 &t.error) == 0);
	test_reopen(&t);
	UNIT_CHECK(store_mailbox_status(t.store, inbox, &status, &t.error) == 0);
	UNIT_CHECK(status.uidnext == 3 && status.messages == 1);
	UNIT_CHECK(test_append(&t, inbox, "c", "3", 0) == 3);
	UNIT_CHECK(store_account_find(t.store, "alice@example.test", t.arena,
				      &(struct store_account){ 0 }, &t.error) == 0);
	test_close(&t);
}

static void concurrent_appends_get_unique_uids(void)
{
	struct test_store t;
	struct test_appender a[TEST_THREADS];
	pthread_t threads[TEST_THREADS];
	struct store_message_state *list;
	size_t count;
	uint64_t highest;
	int64_t inbox;
	char seen[TEST_THREADS * TEST_APPENDS_PER_THREAD + 1] = { 0 };
	bool unique = true, ascending = true;

	test_open(&t);
	inbox = test_mailbox_id(&t, "INBOX");
	for (int i = 0; i < TEST_THREADS; i++) {
		a[i] = (struct test_appender){ .dir = t.dir, .bus = t.bus, .mailbox_id = inbox,
					       .count = TEST_APPENDS_PER_THREAD };
		UNIT_CHECK(pthread_create(&threads[i], NULL, test_appender_run, &a[i]) == 0);
	}
	for (int i = 0; i < TEST_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < TEST_THREADS; i++) {
		UNIT_CHECK(a[i].errors == 0);
		for (int j = 0; j < TEST_APPENDS_PER_THREAD; j++) {
			uint32_t uid = a[i].uids[j];

			if (uid == 0 || uid > TEST_THREADS * TEST_APPENDS_PER_THREAD || seen[uid])
				unique = false;
			else
				seen[uid] = 1;
			if (j > 0 && uid <= a[i].uids[j - 1])
				ascending = false;
		}
	}
	UNIT_CHECK(unique && ascending);
	UNIT_CHECK(store_message_list(t.store, inbox, 1, t.arena, &list, &count, &highest,
				      &t.error) == 0);
	UNIT_CHECK(count == TEST_THREADS * TEST_APPENDS_PER_THREAD);
	UNIT_CHECK(highest == 1 + TEST_THREADS * TEST_APPENDS_PER_THREAD);
	test_close(&t);
}

int main(void)
{
	UNIT_RUN(open_reports_unusable_data_dir);
	UNIT_RUN(open_names_the_back_end_that_failed);
	UNIT_RUN(open_creates_private_wal_database);
	UNIT_RUN(schema_version_is_the_one_the_store_knows);
	UNIT_RUN(account_create_find_list_passwd);
	UNIT_RUN(account_has_default_folders);
	UNIT_RUN(account_ensure_defaults_is_idempotent);
	UNIT_RUN(account_delete_removes_all_mail);
	UNIT_RUN(account_delete_keeps_mail_shared_by_delivery);
	UNIT_RUN(deliver_batch_isolates_a_failed_delivery);
	UNIT_RUN(remove_expunges_exactly_the_named_uids);
	UNIT_RUN(quota_usage_is_exact_and_limits_refuse_growth);
	UNIT_RUN(quota_migration_counts_existing_mail);
	UNIT_RUN(acl_and_per_user_seen);
	UNIT_RUN(display_migration_keeps_old_messages);
	UNIT_RUN(mailbox_create_list_delete);
	UNIT_RUN(mailbox_rename_moves_children);
	UNIT_RUN(mailbox_rename_inbox_moves_messages);
	UNIT_RUN(mailbox_status_counts);
	UNIT_RUN(subscriptions_are_names);
	UNIT_RUN(append_assigns_ascending_uids);
	UNIT_RUN(append_keeps_parse_results);
	UNIT_RUN(append_accepts_odd_messages);
	UNIT_RUN(list_and_changes_follow_modseq);
	UNIT_RUN(set_flags_add_remove_replace);
	UNIT_RUN(set_flags_unchangedsince_fails_changed_messages);
	UNIT_RUN(expunge_only_deleted_messages);
	UNIT_RUN(copy_shares_blob_and_maps_uids);
	UNIT_RUN(search_text_substrings);
	UNIT_RUN(iterate_visits_messages_in_uid_order);
	UNIT_RUN(bus_watchers_see_commits_from_other_threads);
	UNIT_RUN(group_commit_shares_one_transaction);
	UNIT_RUN(mailbox_and_subscription_changes_are_published);
	UNIT_RUN(feed_republishes_only_other_processes_changes);
	UNIT_RUN(reopen_keeps_everything);
	UNIT_RUN(concurrent_appends_get_unique_uids);
	return unit_finish();
}
