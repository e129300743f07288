/*
 * pg-account: accounts, their default folders and their subscriptions (as
 * sqlite-account.c: lower-case addresses, the RFC 6154 folders every new
 * account gets, subscribed).
 */
#include "store/pg/pg-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/str.h"

/* The folders of a new account (RFC 6154 names as most clients expect). */
static const struct {
	const char *name;
	unsigned special_use;
} pg_default_mailboxes[] = {
	{ "INBOX", 0 },
	{ "Sent", STORE_USE_SENT },
	{ "Drafts", STORE_USE_DRAFTS },
	{ "Trash", STORE_USE_TRASH },
	{ "Junk", STORE_USE_JUNK },
	{ "Archive", STORE_USE_ARCHIVE },
};
#define PG_DEFAULT_COUNT (sizeof(pg_default_mailboxes) / sizeof(pg_default_mailboxes[0]))

/* Which default folders an account lacks: INBOX by name; the others by
 * special use (a renamed Sent is not made again) or name. Returns how
 * many, or < 0. */
static int pg_defaults_missing(struct pg_store *store, int64_t account_id,
			       bool missing[PG_DEFAULT_COUNT])
{
	struct pg_params p;
	PGresult *res;
	unsigned uses = 0;
	int rc, count = 0;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	if ((rc = pg_exec(store, PG_MAILBOX_LIST, &p, "list mailboxes", &res)) < 0)
		return rc;
	for (size_t i = 0; i < PG_DEFAULT_COUNT; i++)
		missing[i] = true;
	for (int row = 0; row < PQntuples(res); row++) {
		const char *name = PQgetvalue(res, row, 1);

		uses |= (unsigned)pg_int(res, row, 5);
		for (size_t i = 0; i < PG_DEFAULT_COUNT; i++) {
			if (strcmp(name, pg_default_mailboxes[i].name) == 0)
				missing[i] = false;
		}
	}
	PQclear(res);
	for (size_t i = 0; i < PG_DEFAULT_COUNT; i++) {
		if ((uses & pg_default_mailboxes[i].special_use) != 0)
			missing[i] = false;
		count += missing[i];
	}
	return count;
}

static int pg_subscribe(struct pg_store *store, int64_t account_id, const char *name,
			bool subscribed)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_str(&p, name);
	pg_note_event(store, STORE_EVENT_SUBSCRIPTIONS, account_id, 0);
	return pg_exec(store, subscribed ? PG_SUBSCRIPTION_ADD : PG_SUBSCRIPTION_REMOVE, &p,
		       "subscription", NULL);
}

/* Inside a write transaction: create and subscribe the missing defaults. */
static int pg_create_defaults(struct pg_store *store, int64_t account_id)
{
	bool missing[PG_DEFAULT_COUNT];
	int64_t id;
	int rc = pg_defaults_missing(store, account_id, missing);

	for (size_t i = 0; rc >= 0 && i < PG_DEFAULT_COUNT; i++) {
		if (!missing[i])
			continue;
		rc = pg_mailbox_insert(store, account_id, pg_default_mailboxes[i].name,
				       pg_default_mailboxes[i].special_use, &id);
		if (rc >= 0)
			rc = pg_subscribe(store, account_id, pg_default_mailboxes[i].name, true);
	}
	return rc < 0 ? rc : STORE_OK;
}

/* The account row and its folders in one transaction: nobody sees an
 * account without its INBOX. */
int pg_store_account_create(struct store *base, const char *address, const char *password_hash,
			    int64_t *id_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	char *lower = str_lower(mem_strdup(address));
	struct pg_params p;
	PGresult *res;
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		pg_params_init(&p);
		pg_param_str(&p, lower);
		pg_param_str(&p, password_hash);
		pg_param_int(&p, pg_now());
		rc = pg_exec(store, PG_ACCOUNT_INSERT, &p, "create account", &res);
		if (rc == STORE_EEXISTS)
			rc = pg_fail(store, STORE_EEXISTS, "account %s exists", lower);
		if (rc == STORE_OK) {
			*id_r = pg_int(res, 0, 0);
			PQclear(res);
			rc = pg_create_defaults(store, *id_r);
		}
		rc = pg_finish(store, rc);
	}
	free(lower);
	return pg_result(store, rc, error_r);
}

/* Fill an account from a row of id, address, password_hash, scram. */
static void pg_account_read(const PGresult *res, int row, struct arena *arena,
			    struct store_account *account)
{
	account->id = pg_int(res, row, 0);
	account->address = pg_strdup(arena, res, row, 1);
	account->password_hash = pg_strdup(arena, res, row, 2);
	account->scram = pg_strdup(arena, res, row, 3);
}

/* By address, any case. */
int pg_store_account_find(struct store *base, const char *address, struct arena *arena,
			  struct store_account *account_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	char *lower = str_lower(mem_strdup(address));
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_str(&p, lower);
	rc = pg_exec(store, PG_ACCOUNT_FIND, &p, "find account", &res);
	if (rc == STORE_OK) {
		if (PQntuples(res) == 1)
			pg_account_read(res, 0, arena, account_r);
		else
			rc = pg_fail(store, STORE_ENOTFOUND, "no account %s", lower);
		PQclear(res);
	}
	free(lower);
	return pg_result(store, rc, error_r);
}

/* One UPDATE of an account by address; ENOTFOUND when no row matched. */
static int pg_account_update(struct pg_store *store, enum pg_sql id, const char *address,
			     const char *value, const char *what)
{
	char *lower = str_lower(mem_strdup(address));
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_str(&p, lower);
	pg_param_str(&p, value);
	rc = pg_exec(store, id, &p, what, &res);
	if (rc == STORE_OK) {
		if (strcmp(PQcmdTuples(res), "0") == 0)
			rc = pg_fail(store, STORE_ENOTFOUND, "no account %s", lower);
		PQclear(res);
	}
	free(lower);
	return rc;
}

int pg_store_account_set_password(struct store *base, const char *address,
				  const char *password_hash, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);

	return pg_result(store, pg_account_update(store, PG_ACCOUNT_SET_PASSWORD, address,
						  password_hash, "set password"), error_r);
}

int pg_store_account_set_scram(struct store *base, const char *address, const char *scram,
			       const char **error_r)
{
	struct pg_store *store = pg_store_of(base);

	return pg_result(store, pg_account_update(store, PG_ACCOUNT_SET_SCRAM, address, scram,
						  "set SCRAM keys"), error_r);
}

/* Messages first (their triggers keep blobs and usage right), then the
 * account row, whose deletion cascades to everything else it owns. */
int pg_store_account_delete(struct store *base, const char *address, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct arena *arena = arena_new();
	struct store_account account;
	struct pg_params p;
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		rc = pg_store_account_find(&store->base, address, arena, &account, NULL);
		if (rc == STORE_OK) {
			pg_params_init(&p);
			pg_param_int(&p, account.id);
			rc = pg_exec(store, PG_ACCOUNT_DELETE_MESSAGES, &p, "delete messages",
				     NULL);
		}
		if (rc == STORE_OK) {
			pg_params_init(&p);
			pg_param_int(&p, account.id);
			rc = pg_exec(store, PG_ACCOUNT_DELETE, &p, "delete account", NULL);
		}
		rc = pg_finish(store, rc);
	}
	arena_free(arena);
	return pg_result(store, rc, error_r);
}

int pg_store_account_list(struct store *base, struct arena *arena,
			  struct store_account **list_r, size_t *count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	PGresult *res;
	int rc = pg_exec(store, PG_ACCOUNT_LIST, NULL, "list accounts", &res);

	*list_r = NULL;
	*count_r = 0;
	if (rc == STORE_OK) {
		int n = PQntuples(res);

		*list_r = arena_zalloc(arena, ((size_t)n + 1) * sizeof(**list_r));
		for (int row = 0; row < n; row++)
			pg_account_read(res, row, arena, &(*list_r)[row]);
		*count_r = (size_t)n;
		PQclear(res);
	}
	return pg_result(store, rc, error_r);
}

/* At every login: usually nothing is missing and nothing is written. */
int pg_store_account_ensure_defaults(struct store *base, int64_t account_id,
				     const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	bool missing[PG_DEFAULT_COUNT];
	int rc = pg_defaults_missing(store, account_id, missing);

	if (rc == 0)
		return STORE_OK;
	if (rc > 0 && (rc = pg_begin_write(store)) == STORE_OK)
		rc = pg_finish(store, pg_create_defaults(store, account_id));
	return pg_result(store, rc, error_r);
}

/* A transaction of its own, so the event is published like every change. */
int pg_store_subscription_set(struct store *base, int64_t account_id, const char *name,
			      bool subscribed, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	int rc = pg_begin_write(store);

	if (rc == STORE_OK)
		rc = pg_finish(store, pg_subscribe(store, account_id, name, subscribed));
	return pg_result(store, rc, error_r);
}

int pg_store_subscription_list(struct store *base, int64_t account_id, struct arena *arena,
			       char ***names_r, size_t *count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	int rc;

	*names_r = NULL;
	*count_r = 0;
	pg_params_init(&p);
	pg_param_int(&p, account_id);
	rc = pg_exec(store, PG_SUBSCRIPTION_LIST, &p, "list subscriptions", &res);
	if (rc == STORE_OK) {
		int n = PQntuples(res);

		*names_r = arena_zalloc(arena, ((size_t)n + 1) * sizeof(**names_r));
		for (int row = 0; row < n; row++)
			(*names_r)[row] = pg_strdup(arena, res, row, 0);
		*count_r = (size_t)n;
		PQclear(res);
	}
	return pg_result(store, rc, error_r);
}
