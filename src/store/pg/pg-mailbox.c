/*
 * pg-mailbox: mailboxes of an account (RFC 9051 §6.3: CREATE, DELETE,
 * RENAME, STATUS and the listing behind LIST), as sqlite-mailbox.c.
 *
 * A mailbox's id is (account << 32) | the account's mailbox counter, and
 * its UIDVALIDITY is time-based but strictly increasing per account; both
 * come from one UPDATE ... RETURNING on the account row, so no two nodes
 * ever hand out the same, and a deleted and recreated name never sees an
 * old value again.
 */
#include "store/pg/pg-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Fill a mailbox from a row of id, name, uidvalidity, uidnext,
 * highestmodseq, special_use (PG_MAILBOX_LIST and PG_MAILBOX_FIND). */
static void pg_mailbox_read(const PGresult *res, int row, struct arena *arena,
			    struct store_mailbox *mailbox)
{
	mailbox->id = pg_int(res, row, 0);
	mailbox->name = pg_strdup(arena, res, row, 1);
	mailbox->uidvalidity = (uint32_t)pg_int(res, row, 2);
	mailbox->uidnext = (uint32_t)pg_int(res, row, 3);
	mailbox->highestmodseq = (uint64_t)pg_int(res, row, 4);
	mailbox->special_use = (unsigned)pg_int(res, row, 5);
}

int pg_mailbox_insert(struct pg_store *store, int64_t account_id, const char *name,
		      unsigned special_use, int64_t *id_r)
{
	struct pg_params p;
	PGresult *res;
	int64_t number, uidvalidity;
	int rc;

	if (name[0] == '\0')
		return pg_fail(store, STORE_EINVALID, "empty mailbox name");
	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_int(&p, (int64_t)(uint32_t)pg_now());
	if ((rc = pg_exec(store, PG_ACCOUNT_NEXT_MAILBOX, &p, "new mailbox", &res)) < 0)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(store, STORE_ENOTFOUND, "no account %lld", (long long)account_id);
	}
	number = pg_int(res, 0, 0);
	uidvalidity = pg_int(res, 0, 1);
	PQclear(res);
	if (number > (int64_t)UINT32_MAX || uidvalidity > (int64_t)UINT32_MAX)
		return pg_fail(store, STORE_EFAIL, "account has run out of mailbox numbers");
	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_int(&p, pg_id_make(account_id, number));
	pg_param_str(&p, name);
	pg_param_int(&p, uidvalidity);
	pg_param_int(&p, (int64_t)special_use);
	rc = pg_exec(store, PG_MAILBOX_INSERT, &p, "create mailbox", NULL);
	if (rc == STORE_EEXISTS)
		return pg_fail(store, STORE_EEXISTS, "mailbox %s exists", name);
	if (rc < 0)
		return rc;
	*id_r = pg_id_make(account_id, number);
	pg_note_event(store, STORE_EVENT_MAILBOXES, account_id, *id_r);
	return STORE_OK;
}

int pg_mailbox_get(struct pg_store *store, int64_t mailbox_id, uint32_t *uidvalidity_r,
		   uint32_t *uidnext_r, uint64_t *highestmodseq_r)
{
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	if ((rc = pg_exec(store, PG_MAILBOX_GET, &p, "read mailbox", &res)) < 0)
		return rc;
	if (PQntuples(res) == 1) {
		if (uidvalidity_r != NULL)
			*uidvalidity_r = (uint32_t)pg_int(res, 0, 0);
		if (uidnext_r != NULL)
			*uidnext_r = (uint32_t)pg_int(res, 0, 1);
		if (highestmodseq_r != NULL)
			*highestmodseq_r = (uint64_t)pg_int(res, 0, 2);
	} else {
		rc = pg_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	}
	PQclear(res);
	return rc;
}

int pg_store_mailbox_list(struct store *base, int64_t account_id, struct arena *arena,
			  struct store_mailbox **list_r, size_t *count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	int rc;

	*list_r = NULL;
	*count_r = 0;
	pg_params_init(&p);
	pg_param_int(&p, account_id);
	rc = pg_exec(store, PG_MAILBOX_LIST, &p, "list mailboxes", &res);
	if (rc == STORE_OK) {
		int n = PQntuples(res);

		*list_r = arena_zalloc(arena, ((size_t)n + 1) * sizeof(**list_r));
		for (int row = 0; row < n; row++)
			pg_mailbox_read(res, row, arena, &(*list_r)[row]);
		*count_r = (size_t)n;
		PQclear(res);
	}
	return pg_result(store, rc, error_r);
}

int pg_store_mailbox_find(struct store *base, int64_t account_id, const char *name,
			  struct arena *arena, struct store_mailbox *mailbox_r,
			  const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_str(&p, name);
	rc = pg_exec(store, PG_MAILBOX_FIND, &p, "find mailbox", &res);
	if (rc == STORE_OK) {
		if (PQntuples(res) == 1)
			pg_mailbox_read(res, 0, arena, mailbox_r);
		else
			rc = pg_fail(store, STORE_ENOTFOUND, "no mailbox %s", name);
		PQclear(res);
	}
	return pg_result(store, rc, error_r);
}

/* Inside the write transaction: every missing superior of name ("a" and
 * "a/b" for "a/b/c"), so nobody sees a child before its parents. */
static int pg_mailbox_insert_parents(struct pg_store *store, int64_t account_id,
				     const char *name)
{
	char *copy = mem_strdup(name);
	int rc = STORE_OK;

	for (char *slash = strchr(copy, '/'); slash != NULL && rc == STORE_OK;
	     slash = strchr(slash + 1, '/')) {
		struct arena *arena;
		struct store_mailbox existing;
		int64_t id;

		*slash = '\0';
		if (copy[0] != '\0') {
			/* Look first: a failed INSERT would abort the whole
			 * PostgreSQL transaction. */
			arena = arena_new();
			rc = pg_store_mailbox_find(&store->base, account_id, copy, arena, &existing,
						   NULL);
			arena_free(arena);
			if (rc == STORE_ENOTFOUND)
				rc = pg_mailbox_insert(store, account_id, copy, 0, &id);
		}
		*slash = '/';
	}
	free(copy);
	return rc;
}

int pg_store_mailbox_create(struct store *base, int64_t account_id, const char *name,
			    unsigned special_use, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	int64_t id;
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		rc = pg_mailbox_insert_parents(store, account_id, name);
		if (rc == STORE_OK)
			rc = pg_mailbox_insert(store, account_id, name, special_use, &id);
		rc = pg_finish(store, rc);
	}
	return pg_result(store, rc, error_r);
}

/* Inside the write transaction: delete one mailbox (messages first, for
 * their triggers; expunged rows cascade) and wake whoever has it open. */
static int pg_mailbox_remove(struct pg_store *store, const struct store_mailbox *mailbox,
			     int64_t account_id)
{
	struct pg_touched t = { account_id, mailbox->id, mailbox->highestmodseq + 1,
				STORE_EVENT_MESSAGES };
	struct pg_params p;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_int(&p, mailbox->id);
	rc = pg_exec(store, PG_MAILBOX_DELETE_MESSAGES, &p, "delete messages", NULL);
	if (rc == STORE_OK) {
		pg_params_init(&p);
		pg_param_int(&p, account_id);
		pg_param_int(&p, mailbox->id);
		rc = pg_exec(store, PG_MAILBOX_DELETE, &p, "delete mailbox", NULL);
	}
	if (rc == STORE_OK) {
		array_push(&store->touched, t);
		pg_note_event(store, STORE_EVENT_MAILBOXES, account_id, mailbox->id);
	}
	return rc;
}

int pg_store_mailbox_delete(struct store *base, int64_t account_id, const char *name,
			    const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct arena *arena;
	struct store_mailbox mailbox;
	int rc;

	/* RFC 9051 §6.3.4: deleting INBOX is an error. */
	if (strcmp(name, "INBOX") == 0)
		return pg_result(store, pg_fail(store, STORE_EINVALID, "INBOX cannot be deleted"),
				 error_r);
	if ((rc = pg_begin_write(store)) < 0)
		return pg_result(store, rc, error_r);
	arena = arena_new();
	rc = pg_store_mailbox_find(&store->base, account_id, name, arena, &mailbox, NULL);
	if (rc == STORE_OK)
		rc = pg_mailbox_remove(store, &mailbox, account_id);
	rc = pg_finish(store, rc);
	arena_free(arena);
	return pg_result(store, rc, error_r);
}

/* Every UID of a mailbox, ascending (heap; caller frees). */
static int pg_mailbox_uids(struct pg_store *store, int64_t mailbox_id, uint32_t **uids_r,
			   size_t *count_r)
{
	struct pg_params p;
	PGresult *res;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, 1);
	if ((rc = pg_exec(store, PG_MESSAGE_LIST, &p, "list messages", &res)) < 0)
		return rc;
	*count_r = (size_t)PQntuples(res);
	*uids_r = mem_alloc((*count_r + 1) * sizeof(**uids_r));
	for (size_t i = 0; i < *count_r; i++)
		(*uids_r)[i] = (uint32_t)pg_int(res, (int)i, 0);
	PQclear(res);
	return STORE_OK;
}

/* RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox
 * and leaves INBOX empty; INBOX's children stay where they are. */
static int pg_rename_inbox(struct pg_store *store, int64_t account_id,
			   const struct store_mailbox *inbox, const char *new_name)
{
	uint32_t *uids, *dest_uids = NULL, uidvalidity;
	size_t count;
	int64_t new_id;
	int rc = pg_mailbox_insert(store, account_id, new_name, 0, &new_id);

	if (rc < 0)
		return rc;
	rc = pg_mailbox_uids(store, inbox->id, &uids, &count);
	if (rc == STORE_OK && count > 0) {
		dest_uids = mem_alloc(count * sizeof(*dest_uids));
		rc = pg_copy_uids(store, inbox->id, uids, count, new_id, dest_uids, &uidvalidity);
		if (rc == STORE_OK)
			rc = pg_expunge_uids(store, inbox->id, uids, count);
	}
	free(dest_uids);
	free(uids);
	return rc;
}

/* Number of UTF-8 characters in s: SQL substr() counts characters. */
static int pg_utf8_length(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A mailbox and everything below it: every new name must be free. */
static int pg_rename_tree(struct pg_store *store, int64_t account_id, const char *old_name,
			  const char *new_name)
{
	static const enum pg_sql steps[] = { PG_MAILBOX_RENAME, PG_SUBSCRIPTION_RENAME_DROP,
					     PG_SUBSCRIPTION_RENAME };
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_str(&p, old_name);
	pg_param_str(&p, new_name);
	pg_param_int(&p, pg_utf8_length(old_name) + 1);
	if ((rc = pg_exec(store, PG_MAILBOX_RENAME_CONFLICTS, &p, "rename mailbox", &res)) < 0)
		return rc;
	if (pg_int(res, 0, 0) > 0)
		rc = pg_fail(store, STORE_EEXISTS, "mailbox %s exists", new_name);
	PQclear(res);
	/* Subscriptions follow (as in Dovecot and Cyrus). */
	for (size_t i = 0; rc == STORE_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		pg_params_init(&p);
		pg_param_int(&p, account_id);
		pg_param_str(&p, old_name);
		pg_param_str(&p, new_name);
		pg_param_int(&p, pg_utf8_length(old_name) + 1);
		rc = pg_exec(store, steps[i], &p, "rename mailbox", NULL);
	}
	return rc;
}

/* Renaming a mailbox below itself ("a" to "a/b") would make it its own
 * ancestor. */
static bool pg_name_is_below(const char *name, const char *ancestor)
{
	size_t n = strlen(ancestor);

	return strncmp(name, ancestor, n) == 0 && name[n] == '/';
}

int pg_store_mailbox_rename(struct store *base, int64_t account_id, const char *old_name,
			    const char *new_name, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct arena *arena;
	struct store_mailbox mailbox, existing;
	int rc;

	if (new_name[0] == '\0' ||
	    (strcmp(old_name, "INBOX") != 0 && pg_name_is_below(new_name, old_name)))
		return pg_result(store, pg_fail(store, STORE_EINVALID, "cannot rename %s to %s",
						old_name, new_name), error_r);
	if ((rc = pg_begin_write(store)) < 0)
		return pg_result(store, rc, error_r);
	arena = arena_new();
	rc = pg_store_mailbox_find(&store->base, account_id, old_name, arena, &mailbox, NULL);
	/* The target must be free before anything is written (a failed
	 * INSERT would abort the transaction, and the error must say so). */
	if (rc == STORE_OK &&
	    pg_store_mailbox_find(&store->base, account_id, new_name, arena, &existing, NULL) ==
		    STORE_OK)
		rc = pg_fail(store, STORE_EEXISTS, "mailbox %s exists", new_name);
	if (rc == STORE_OK)
		rc = pg_mailbox_insert_parents(store, account_id, new_name);
	if (rc == STORE_OK && strcmp(old_name, "INBOX") == 0)
		rc = pg_rename_inbox(store, account_id, &mailbox, new_name);
	else if (rc == STORE_OK)
		rc = pg_rename_tree(store, account_id, old_name, new_name);
	if (rc == STORE_OK) {
		pg_note_event(store, STORE_EVENT_MAILBOXES, account_id, mailbox.id);
		pg_note_event(store, STORE_EVENT_SUBSCRIPTIONS, account_id, 0);
	}
	rc = pg_finish(store, rc);
	arena_free(arena);
	return pg_result(store, rc, error_r);
}

/* Counters and counts in one snapshot. */
int pg_store_mailbox_status(struct store *base, int64_t mailbox_id,
			    struct store_mailbox_status *status_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	uint32_t uidvalidity = 0, uidnext = 0;
	uint64_t highestmodseq = 0;
	int rc;

	memset(status_r, 0, sizeof(*status_r));
	if ((rc = pg_begin_read(store)) < 0)
		return pg_result(store, rc, error_r);
	rc = pg_mailbox_get(store, mailbox_id, &uidvalidity, &uidnext, &highestmodseq);
	if (rc == STORE_OK) {
		pg_params_init(&p);
		pg_param_int(&p, pg_id_account(mailbox_id));
		pg_param_int(&p, mailbox_id);
		rc = pg_exec(store, PG_MAILBOX_STATUS, &p, "mailbox status", &res);
	}
	if (rc == STORE_OK) {
		status_r->messages = (uint32_t)pg_int(res, 0, 0);
		status_r->unseen = (uint32_t)pg_int(res, 0, 1);
		status_r->deleted = (uint32_t)pg_int(res, 0, 2);
		status_r->size = (uint64_t)pg_int(res, 0, 3);
		status_r->deleted_size = (uint64_t)pg_int(res, 0, 4);
		status_r->uidvalidity = uidvalidity;
		status_r->uidnext = uidnext;
		status_r->highestmodseq = highestmodseq;
		PQclear(res);
	}
	return pg_result(store, pg_finish(store, rc), error_r);
}
