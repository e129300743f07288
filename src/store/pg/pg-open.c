/*
 * pg-open: the PostgreSQL back end's connection, schema and helpers, and
 * its ops table.
 *
 * One libpq connection per struct store (each event loop, the delivery
 * writer and each command-line process has its own), as SQLite has one
 * connection per thread. Any number of buzon processes on any number of
 * machines may share the database: the counters that must be unique (UIDs,
 * MODSEQs, mailbox and blob numbers, UIDVALIDITY) are taken with
 * UPDATE ... RETURNING on their row, whose lock is held to COMMIT.
 *
 * Durability (DESIGN.md rule 1): every connection sets synchronous_commit
 * to on, so COMMIT returns only after the WAL is flushed (and, with
 * synchronous standbys configured, sent); the store returns 0 only after
 * COMMIT returned.
 *
 * Schema: numbered steps in pg_migrations[], applied in one transaction
 * under an advisory lock when a store opens (so nodes starting at once
 * agree) and by `buzon db migrate`; the version is the one row of
 * buzon_schema. Every table's primary key starts with account_id (rule 7):
 * distributed by account (Citus create_distributed_table(..., 'account_id')
 * for all but account, which is keyed by its id), each account's mail is in
 * one shard and every statement of pg-sql.c is routed to one shard.
 *
 *   account(id bigserial PK, address UNIQUE lower case, password_hash,
 *           scram, created, last_uidvalidity, last_mailbox, last_blob
 *           (counters of the numbers below), quota_storage, quota_messages
 *           (NULL = the configured default, -1 = none), used_bytes,
 *           used_messages (kept by the message triggers))
 *   mailbox(account_id -> account, id, name COLLATE "C", uidvalidity,
 *           uidnext, highestmodseq, special_use, PK(account_id, id),
 *           UNIQUE(account_id, name))
 *   subscription(account_id -> account, name, PK(account_id, name))
 *   blob(account_id -> account, id, refcount, size, header_size, ... the
 *        parse results of rule 2 as in SQLite ..., PK(account_id, id))
 *   blob_data(account_id, blob_id, data bytea STORAGE EXTERNAL,
 *        PK(account_id, blob_id) -> blob)    -- pg-blob.c only
 *   blob_text(account_id, blob_id, header, body, PK -> blob), pg_trgm GIN
 *        indexes on header and body          -- SEARCH BODY / TEXT
 *   message(account_id, mailbox_id, uid, blob_id, modseq, flags, keywords,
 *           size, internal_date, internal_date_tz, save_date,
 *           PK(account_id, mailbox_id, uid) -> mailbox,
 *           INDEX(account_id, mailbox_id, modseq), INDEX(account_id, blob_id))
 *   expunged(account_id, mailbox_id, uid, modseq, PK(account_id,
 *           mailbox_id, uid) -> mailbox, INDEX(account_id, mailbox_id,
 *           modseq))
 *
 * Mailbox and blob ids are (account_id << 32) | the account's counter
 * (pg_id_account). Blobs are per account: a delivery to several local
 * accounts parses once and writes one blob per account (so no row of one
 * account points into another's shard); copies inside an account share
 * theirs. Triggers count a blob's messages and drop it (and its bytes and
 * text, by cascade) when none is left, and keep the account's usage.
 */
#include "store/pg/pg-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/mem.h"

/* What every connection sets: rule 1 whatever the server's default, and
 * quiet NOTICEs (IF NOT EXISTS) kept off stderr. */
#define PG_SESSION_SETTINGS "SET synchronous_commit = on; SET client_min_messages = warning"

/* Any constant will do: the key of the advisory lock migrations take. */
#define PG_MIGRATE_LOCK 0x62757a6f6e

/* One step of the schema's history (as sqlite_migrations[]): append one,
 * never edit one that has shipped. */
struct pg_migration {
	int to;
	const char *sql;
};

static const struct pg_migration pg_migrations[] = {
	/* 0 -> 1: accounts, mailboxes, subscriptions, messages and their
	 * blobs, the expunged UIDs (QRESYNC), full text (pg_trgm). */
	{ 1, "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
	     "CREATE TABLE account ("
	     " id bigserial PRIMARY KEY,"
	     " address text NOT NULL UNIQUE,"
	     " password_hash text NOT NULL,"
	     " scram text,"
	     " created bigint NOT NULL,"
	     " last_uidvalidity bigint NOT NULL DEFAULT 0,"
	     " last_mailbox bigint NOT NULL DEFAULT 0,"
	     " last_blob bigint NOT NULL DEFAULT 0,"
	     " quota_storage bigint, quota_messages bigint,"
	     " used_bytes bigint NOT NULL DEFAULT 0,"
	     " used_messages bigint NOT NULL DEFAULT 0);"
	     "CREATE TABLE mailbox ("
	     " account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	     " id bigint NOT NULL,"
	     " name text COLLATE \"C\" NOT NULL,"
	     " uidvalidity bigint NOT NULL,"
	     " uidnext bigint NOT NULL DEFAULT 1,"
	     " highestmodseq bigint NOT NULL DEFAULT 1,"
	     " special_use integer NOT NULL DEFAULT 0,"
	     " PRIMARY KEY (account_id, id),"
	     " UNIQUE (account_id, name));"
	     "CREATE TABLE subscription ("
	     " account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	     " name text COLLATE \"C\" NOT NULL,"
	     " PRIMARY KEY (account_id, name));"
	     "CREATE TABLE blob ("
	     " account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	     " id bigint NOT NULL,"
	     " refcount integer NOT NULL DEFAULT 0,"
	     " size bigint NOT NULL,"
	     " header_size bigint NOT NULL,"
	     " sent_date bigint, sent_date_tz integer,"
	     " envelope text NOT NULL, bodystructure text NOT NULL, body text NOT NULL,"
	     " parts text NOT NULL, preview text,"
	     " subject text, from_text text, to_text text, cc_text text, bcc_text text,"
	     " from_addr text, to_addr text, cc_addr text,"
	     " message_id text, in_reply_to text, refs text,"
	     " from_display text, to_display text,"
	     " PRIMARY KEY (account_id, id));"
	     "CREATE TABLE blob_data ("
	     " account_id bigint NOT NULL,"
	     " blob_id bigint NOT NULL,"
	     " data bytea NOT NULL,"
	     " PRIMARY KEY (account_id, blob_id),"
	     " FOREIGN KEY (account_id, blob_id) REFERENCES blob ON DELETE CASCADE);"
	     "ALTER TABLE blob_data ALTER COLUMN data SET STORAGE EXTERNAL;"
	     "CREATE TABLE blob_text ("
	     " account_id bigint NOT NULL,"
	     " blob_id bigint NOT NULL,"
	     " header text NOT NULL,"
	     " body text NOT NULL,"
	     " PRIMARY KEY (account_id, blob_id),"
	     " FOREIGN KEY (account_id, blob_id) REFERENCES blob ON DELETE CASCADE);"
	     "CREATE INDEX blob_text_header ON blob_text USING gin (header gin_trgm_ops);"
	     "CREATE INDEX blob_text_body ON blob_text USING gin (body gin_trgm_ops);"
	     "CREATE TABLE message ("
	     " account_id bigint NOT NULL,"
	     " mailbox_id bigint NOT NULL,"
	     " uid bigint NOT NULL,"
	     " blob_id bigint NOT NULL,"
	     " modseq bigint NOT NULL,"
	     " flags integer NOT NULL,"
	     " keywords text,"
	     " size bigint NOT NULL,"
	     " internal_date bigint NOT NULL,"
	     " internal_date_tz integer NOT NULL,"
	     " save_date bigint NOT NULL,"
	     " PRIMARY KEY (account_id, mailbox_id, uid),"
	     " FOREIGN KEY (account_id, mailbox_id) REFERENCES mailbox ON DELETE CASCADE);"
	     "CREATE INDEX message_modseq ON message (account_id, mailbox_id, modseq);"
	     "CREATE INDEX message_blob ON message (account_id, blob_id);"
	     "CREATE TABLE expunged ("
	     " account_id bigint NOT NULL,"
	     " mailbox_id bigint NOT NULL,"
	     " uid bigint NOT NULL,"
	     " modseq bigint NOT NULL,"
	     " PRIMARY KEY (account_id, mailbox_id, uid),"
	     " FOREIGN KEY (account_id, mailbox_id) REFERENCES mailbox ON DELETE CASCADE);"
	     "CREATE INDEX expunged_modseq ON expunged (account_id, mailbox_id, modseq);"
	     "CREATE FUNCTION buzon_message_added() RETURNS trigger LANGUAGE plpgsql AS $$"
	     " BEGIN"
	     "  UPDATE blob SET refcount = refcount + 1"
	     "   WHERE account_id = NEW.account_id AND id = NEW.blob_id;"
	     "  UPDATE account SET used_bytes = used_bytes + NEW.size,"
	     "   used_messages = used_messages + 1 WHERE id = NEW.account_id;"
	     "  RETURN NULL;"
	     " END $$;"
	     "CREATE FUNCTION buzon_message_removed() RETURNS trigger LANGUAGE plpgsql AS $$"
	     " BEGIN"
	     "  DELETE FROM blob WHERE account_id = OLD.account_id AND id = OLD.blob_id"
	     "   AND refcount <= 1;"
	     "  UPDATE blob SET refcount = refcount - 1"
	     "   WHERE account_id = OLD.account_id AND id = OLD.blob_id;"
	     "  UPDATE account SET used_bytes = used_bytes - OLD.size,"
	     "   used_messages = used_messages - 1 WHERE id = OLD.account_id;"
	     "  RETURN NULL;"
	     " END $$;"
	     "CREATE TRIGGER message_added AFTER INSERT ON message"
	     " FOR EACH ROW EXECUTE FUNCTION buzon_message_added();"
	     "CREATE TRIGGER message_removed AFTER DELETE ON message"
	     " FOR EACH ROW EXECUTE FUNCTION buzon_message_removed();" },
};

#define PG_MIGRATION_COUNT (sizeof(pg_migrations) / sizeof(pg_migrations[0]))
#define PG_SCHEMA_VERSION (pg_migrations[PG_MIGRATION_COUNT - 1].to)

int pg_fail(struct pg_store *store, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store->error, sizeof(store->error), fmt, ap);
	va_end(ap);
	return code;
}

int pg_result(struct pg_store *store, int rc, const char **error_r)
{
	if (rc < 0 && error_r != NULL)
		*error_r = store->error;
	return rc;
}

int64_t pg_now(void)
{
	return (int64_t)time(NULL);
}

void pg_params_init(struct pg_params *p)
{
	p->count = 0;
}

void pg_param_int(struct pg_params *p, int64_t value)
{
	int i = p->count++;

	snprintf(p->numbers[i], sizeof(p->numbers[i]), "%lld", (long long)value);
	p->values[i] = p->numbers[i];
	p->lengths[i] = 0;
	p->formats[i] = 0;
	p->owned[i] = NULL;
}

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not one
 * PostgreSQL accepts (overlong forms, surrogates, past U+10FFFF). */
static int pg_utf8_sequence(const unsigned char *s)
{
	unsigned c = s[0];
	int n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
		: c >= 0xF0 && c <= 0xF4 ? 4 : 0;

	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	}
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
	    (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* Text as PostgreSQL takes it: hostile mail may carry bytes that are not
 * UTF-8 in its headers; each such byte becomes '?', so the message is
 * stored (and searchable) rather than refused. NULL when s is valid as it
 * is (the usual case: nothing copied). */
static char *pg_utf8_clean(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	char *out;
	int n;

	while (u[i] != '\0' && (n = pg_utf8_sequence(u + i)) > 0)
		i += (size_t)n;
	if (u[i] == '\0')
		return NULL;
	out = mem_alloc(strlen(s) + 1);
	memcpy(out, s, i);
	o = i;
	while (u[i] != '\0') {
		n = pg_utf8_sequence(u + i);
		if (n == 0) {
			out[o++] = '?';
			i++;
		} else {
			memcpy(out + o, s + i, (size_t)n);
			o += (size_t)n;
			i += (size_t)n;
		}
	}
	out[o] = '\0';
	return out;
}

void pg_param_str(struct pg_params *p, const char *s)
{
	int i = p->count++;

	p->owned[i] = s != NULL ? pg_utf8_clean(s) : NULL;
	if (p->owned[i] != NULL)
		s = p->owned[i];
	p->values[i] = s;
	p->lengths[i] = 0;
	p->formats[i] = 0;
}

void pg_param_bytes(struct pg_params *p, const void *data, size_t size)
{
	int i = p->count++;

	p->values[i] = size > 0 ? data : "";
	p->lengths[i] = (int)size;
	p->formats[i] = 1;
	p->owned[i] = NULL;
}

static void pg_params_free(struct pg_params *p)
{
	for (int i = 0; p != NULL && i < p->count; i++) {
		free(p->owned[i]);
		p->owned[i] = NULL;
	}
}

/* "what: <PostgreSQL's message>" without its trailing newline. */
static int pg_fail_conn(struct pg_store *store, const char *what, const PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(store->conn);
	size_t len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	return pg_fail(store, STORE_EFAIL, "%s: %.*s", what, (int)len, msg);
}

/* The statement prepared on this connection, by its enum name. */
static int pg_prepare(struct pg_store *store, enum pg_sql id)
{
	char name[16];
	PGresult *res;
	int rc = STORE_OK;

	if (store->prepared[id])
		return STORE_OK;
	snprintf(name, sizeof(name), "b%d", (int)id);
	res = PQprepare(store->conn, name, pg_sql_text[id], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail_conn(store, "prepare", res);
	else
		store->prepared[id] = true;
	PQclear(res);
	return rc;
}

/* A connection the server dropped (restart, failover, network) is made
 * again before the next transaction starts: never inside one, whose
 * earlier statements are gone with the old connection (the caller's
 * statement then fails and the protocol says so; nothing was committed). */
static int pg_reconnect(struct pg_store *store)
{
	if (PQstatus(store->conn) == CONNECTION_OK || store->in_transaction)
		return STORE_OK;
	PQreset(store->conn);
	if (PQstatus(store->conn) != CONNECTION_OK)
		return pg_fail_conn(store, "postgres: reconnect", NULL);
	memset(store->prepared, 0, sizeof(store->prepared));
	return pg_exec_text(store, PG_SESSION_SETTINGS, "postgres: settings");
}

static int pg_exec_format(struct pg_store *store, enum pg_sql id, struct pg_params *p,
			  const char *what, PGresult **res_r, int result_format)
{
	char name[16];
	PGresult *res;
	int rc = pg_reconnect(store);

	if (rc == STORE_OK)
		rc = pg_prepare(store, id);

	if (res_r != NULL)
		*res_r = NULL;
	if (rc < 0) {
		pg_params_free(p);
		return rc;
	}
	snprintf(name, sizeof(name), "b%d", (int)id);
	res = PQexecPrepared(store->conn, name, p != NULL ? p->count : 0,
			     p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
			     p != NULL ? p->formats : NULL, result_format);
	/* The connection was found dead by this statement: outside a
	 * transaction every statement is a BEGIN or one that may run twice
	 * (reads, idempotent UPDATEs), so connect again and run it once more. */
	if (PQstatus(store->conn) != CONNECTION_OK && !store->in_transaction &&
	    pg_reconnect(store) == STORE_OK && pg_prepare(store, id) == STORE_OK) {
		PQclear(res);
		res = PQexecPrepared(store->conn, name, p != NULL ? p->count : 0,
				     p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
				     p != NULL ? p->formats : NULL, result_format);
	}
	pg_params_free(p);
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		if (res_r != NULL) {
			*res_r = res;
			return STORE_OK;
		}
		break;
	default: {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* 23505: unique_violation, the one error callers act on. */
		rc = state != NULL && strcmp(state, "23505") == 0
			     ? pg_fail(store, STORE_EEXISTS, "%s: already exists", what)
			     : pg_fail_conn(store, what, res);
		break;
	}
	}
	PQclear(res);
	return rc;
}

int pg_exec(struct pg_store *store, enum pg_sql id, struct pg_params *p, const char *what,
	    PGresult **res_r)
{
	return pg_exec_format(store, id, p, what, res_r, 0);
}

int pg_exec_binary(struct pg_store *store, enum pg_sql id, struct pg_params *p,
		   const char *what, PGresult **res_r)
{
	return pg_exec_format(store, id, p, what, res_r, 1);
}

int pg_exec_text(struct pg_store *store, const char *sql, const char *what)
{
	PGresult *res = PQexec(store->conn, sql);
	int rc = STORE_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_fail_conn(store, what, res);
	PQclear(res);
	return rc;
}

int64_t pg_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool pg_is_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) != 0;
}

char *pg_strdup(struct arena *arena, const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return arena_strndup(arena, PQgetvalue(res, row, col),
			     (size_t)PQgetlength(res, row, col));
}

void *pg_arena_copy(struct arena *arena, const void *p, size_t n)
{
	return arena_memdup(arena, p, n);
}

int pg_unsupported(struct store *base, const char *what, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);

	return pg_result(store, pg_fail(store, STORE_EINVALID,
					"%s: not supported by the postgres store yet", what),
			 error_r);
}

/* The schema's version: 0 for a database buzon has never used (two
 * queries: a statement naming a missing table does not even plan). */
static int pg_schema_version(struct pg_store *store, int *version_r)
{
	PGresult *res = PQexec(store->conn, "SELECT to_regclass('buzon_schema') IS NOT NULL");
	int rc = STORE_OK;
	bool exists;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = pg_fail_conn(store, "read schema version", res);
		PQclear(res);
		return rc;
	}
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	*version_r = 0;
	if (!exists)
		return STORE_OK;
	res = PQexec(store->conn, "SELECT coalesce(max(version), 0) FROM buzon_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = pg_fail_conn(store, "read schema version", res);
	else
		*version_r = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* Bring the schema up to date in one transaction, holding an advisory
 * lock so that nodes starting at once run each step once. The lock is
 * taken BEFORE the transaction starts: a transaction begun earlier could
 * read the catalog as it was before another node's schema commit, and
 * create the tables a second time. A database newer than this program is
 * refused, never touched. */
static int pg_migrate(struct pg_store *store, int *from_r, int *to_r)
{
	char sql[96];
	int version = 0, from = 0;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", (long long)PG_MIGRATE_LOCK);
	if ((rc = pg_exec_text(store, sql, "lock schema")) < 0)
		return rc;
	rc = pg_exec_text(store, "BEGIN", "begin migration");
	if (rc == STORE_OK)
		rc = pg_schema_version(store, &version);
	from = version;
	if (rc == STORE_OK && version > PG_SCHEMA_VERSION)
		rc = pg_fail(store, STORE_EFAIL, "database schema version %d, this program knows %d",
			     version, PG_SCHEMA_VERSION);
	if (rc == STORE_OK && version == 0)
		rc = pg_exec_text(store, "CREATE TABLE buzon_schema (version integer NOT NULL);"
				  "INSERT INTO buzon_schema VALUES (0)", "create schema");
	for (size_t i = 0; rc == STORE_OK && i < PG_MIGRATION_COUNT; i++) {
		if (pg_migrations[i].to <= version)
			continue;
		rc = pg_exec_text(store, pg_migrations[i].sql, "schema step");
		version = pg_migrations[i].to;
	}
	if (rc == STORE_OK) {
		snprintf(sql, sizeof(sql), "UPDATE buzon_schema SET version = %d", version);
		rc = pg_exec_text(store, sql, "record schema version");
	}
	if (rc == STORE_OK)
		rc = pg_exec_text(store, "COMMIT", "commit schema");
	else
		PQclear(PQexec(store->conn, "ROLLBACK"));
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", (long long)PG_MIGRATE_LOCK);
	PQclear(PQexec(store->conn, sql));
	if (from_r != NULL)
		*from_r = from;
	if (to_r != NULL)
		*to_r = rc == STORE_OK ? version : from;
	return rc;
}

static void pg_store_close(struct store *base);

/* The error of a failed open outlives the store it was recorded in. */
static int pg_open_failed(struct pg_store *store, int rc, const char **error_r)
{
	static _Thread_local char error[PG_ERROR_MAX];

	memcpy(error, store->error, sizeof(error));
	pg_store_close(&store->base);
	if (error_r != NULL)
		*error_r = error;
	return rc;
}

/* Connect and set what every connection needs; no schema work. */
static int pg_connect(const struct store_settings *settings, struct store_bus *bus,
		      struct pg_store **store_r, const char **error_r)
{
	struct pg_store *store = mem_zalloc(sizeof(*store));

	store->base.ops = &pg_store_ops;
	store->bus = bus;
	store->default_quota_kib = STORE_QUOTA_NONE;
	store->default_quota_messages = STORE_QUOTA_NONE;
	*store_r = NULL;
	if (settings->postgres_url == NULL)
		return pg_open_failed(store, pg_fail(store, STORE_EINVALID, "no postgres_url"),
				      error_r);
	store->conn = PQconnectdb(settings->postgres_url);
	if (store->conn == NULL || PQstatus(store->conn) != CONNECTION_OK)
		return pg_open_failed(store, store->conn == NULL
					      ? pg_fail(store, STORE_EFAIL, "postgres: out of memory")
					      : pg_fail_conn(store, "postgres: connect", NULL),
				      error_r);
	if (pg_exec_text(store, PG_SESSION_SETTINGS, "postgres: settings") < 0)
		return pg_open_failed(store, STORE_EFAIL, error_r);
	*store_r = store;
	return STORE_OK;
}

/* store_open for STORE_BACKEND_POSTGRES: connect, and bring the schema up
 * to date (the first node to start creates it). */
int pg_store_open(const struct store_settings *settings, struct store_bus *bus,
		  struct store **store_r, const char **error_r)
{
	struct pg_store *store;
	int version = 0, rc;

	*store_r = NULL;
	if ((rc = pg_connect(settings, bus, &store, error_r)) < 0)
		return rc;
	/* The usual case, every open: the schema is current, no lock taken. */
	if ((rc = pg_schema_version(store, &version)) < 0)
		return pg_open_failed(store, rc, error_r);
	if (version != PG_SCHEMA_VERSION && (rc = pg_migrate(store, NULL, NULL)) < 0)
		return pg_open_failed(store, rc, error_r);
	*store_r = &store->base;
	return STORE_OK;
}

/* `buzon db migrate`: the version before and after. */
int pg_store_migrate(const struct store_settings *settings, int *from_r, int *to_r,
		     const char **error_r)
{
	struct pg_store *store;
	int rc = pg_connect(settings, NULL, &store, error_r);

	if (rc < 0)
		return rc;
	if ((rc = pg_migrate(store, from_r, to_r)) < 0)
		return pg_open_failed(store, rc, error_r);
	pg_store_close(&store->base);
	return STORE_OK;
}

/* store_close: the connection (prepared statements go with it). */
static void pg_store_close(struct store *base)
{
	struct pg_store *store = pg_store_of(base);

	PQfinish(store->conn);
	array_free(&store->touched);
	free(store);
}

/* store.h, as this back end does it (store-backend.h). */
const struct store_ops pg_store_ops = {
	.close = pg_store_close,
	.account_create = pg_store_account_create,
	.account_find = pg_store_account_find,
	.account_set_password = pg_store_account_set_password,
	.account_set_scram = pg_store_account_set_scram,
	.app_password_add = pg_store_app_password_add,
	.app_password_delete = pg_store_app_password_delete,
	.app_password_list = pg_store_app_password_list,
	.app_password_touch = pg_store_app_password_touch,
	.account_delete = pg_store_account_delete,
	.account_list = pg_store_account_list,
	.account_ensure_defaults = pg_store_account_ensure_defaults,
	.quota_set_default = pg_store_quota_set_default,
	.quota_get = pg_store_quota_get,
	.quota_set = pg_store_quota_set,
	.mailbox_list = pg_store_mailbox_list,
	.mailbox_find = pg_store_mailbox_find,
	.mailbox_create = pg_store_mailbox_create,
	.mailbox_delete = pg_store_mailbox_delete,
	.mailbox_rename = pg_store_mailbox_rename,
	.mailbox_status = pg_store_mailbox_status,
	.subscription_set = pg_store_subscription_set,
	.subscription_list = pg_store_subscription_list,
	.message_append = pg_store_message_append,
	.message_replace = pg_store_message_replace,
	.message_list = pg_store_message_list,
	.message_changes = pg_store_message_changes,
	.message_set_flags = pg_store_message_set_flags,
	.message_expunge = pg_store_message_expunge,
	.message_remove = pg_store_message_remove,
	.message_copy = pg_store_message_copy,
	.message_get = pg_store_message_get,
	.message_iterate = pg_store_message_iterate,
	.blob_read = pg_store_blob_read,
	.message_deliver = pg_store_message_deliver,
	.message_deliver_batch = pg_store_message_deliver_batch,
	.group_begin = pg_store_group_begin,
	.group_commit = pg_store_group_commit,
	.group_rollback = pg_store_group_rollback,
	.search_text = pg_store_search_text,
	.acl_list = pg_store_acl_list,
	.acl_set = pg_store_acl_set,
	.acl_shared_with = pg_store_acl_shared_with,
	.seen_list = pg_store_seen_list,
	.seen_set = pg_store_seen_set,
	.account_system = pg_store_account_system,
	.metadata_get = pg_store_metadata_get,
	.metadata_set = pg_store_metadata_set,
};
