/*
 * pg-sql: the text of every statement the PostgreSQL back end runs, in one
 * table indexed by enum pg_sql (the SQLite back end's sqlite-sql.c, in
 * PostgreSQL's dialect). The schema is in pg-open.c.
 *
 * Every statement names the account first ($1 is the account id wherever a
 * table is read or written), so each is served by the primary key or an
 * index that starts with account_id, and each touches one account's shard
 * when the tables are distributed by account (Citus). Mailbox and blob ids
 * carry their account (pg_id_account), so callers always know it.
 */
#include "store/pg/pg-private.h"

/* Columns of PG_MESSAGE_GET and PG_MESSAGE_ITERATE share their first
 * positions; see pg-message.c for the names. */
#define PG_MESSAGE_COLUMNS \
	"m.uid, m.flags, m.modseq, m.keywords, m.internal_date, m.internal_date_tz, " \
	"m.save_date, m.size, m.blob_id, " \
	"b.preview, b.subject, b.from_text, b.to_text, b.cc_text, b.bcc_text, " \
	"b.from_addr, b.to_addr, b.cc_addr, b.sent_date, b.message_id, b.in_reply_to, b.refs, " \
	"b.from_display, b.to_display"

/* A mailbox and the mailboxes below it: name = $2 or in [$2/, $20)
 * ('0' follows '/'), bytewise (the name columns are COLLATE "C"). */
#define PG_NAME_TREE "(name = $2 OR (name >= $2 || '/' AND name < $2 || '0'))"

const char *const pg_sql_text[PG_SQL_COUNT] = {
	/* READ COMMITTED: a writer that waits on a mailbox's row lock then
	 * sees the committed counters, so UIDs and MODSEQs stay ordered. */
	[PG_BEGIN_WRITE] = "BEGIN",
	[PG_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	[PG_COMMIT] = "COMMIT",
	[PG_ROLLBACK] = "ROLLBACK",
	[PG_SAVEPOINT] = "SAVEPOINT one_delivery",
	[PG_SAVEPOINT_RELEASE] = "RELEASE SAVEPOINT one_delivery",
	[PG_SAVEPOINT_ROLLBACK] = "ROLLBACK TO SAVEPOINT one_delivery",

	[PG_ACCOUNT_INSERT] =
		"INSERT INTO account (address, password_hash, created) VALUES ($1, $2, $3) "
		"RETURNING id",
	[PG_ACCOUNT_FIND] =
		"SELECT id, address, password_hash, scram FROM account WHERE address = $1",
	[PG_ACCOUNT_LIST] =
		"SELECT id, address, password_hash, scram FROM account ORDER BY address",
	[PG_ACCOUNT_SET_PASSWORD] =
		"UPDATE account SET password_hash = $2, scram = NULL WHERE address = $1",
	[PG_ACCOUNT_SET_SCRAM] =
		"UPDATE account SET scram = $2 WHERE address = $1",
	/* Messages first, so their triggers see the account and blobs. */
	[PG_ACCOUNT_DELETE_MESSAGES] =
		"DELETE FROM message WHERE account_id = $1",
	[PG_ACCOUNT_DELETE] =
		"DELETE FROM account WHERE id = $1",
	/* A new mailbox's number in its account and its UIDVALIDITY: time
	 * based but strictly increasing per account, never reused. */
	[PG_ACCOUNT_NEXT_MAILBOX] =
		"UPDATE account SET last_mailbox = last_mailbox + 1, "
		"last_uidvalidity = greatest(last_uidvalidity + 1, $2) "
		"WHERE id = $1 RETURNING last_mailbox, last_uidvalidity",
	[PG_ACCOUNT_NEXT_BLOBS] =
		"UPDATE account SET last_blob = last_blob + $2 WHERE id = $1 RETURNING last_blob",
	[PG_QUOTA_READ] =
		"SELECT used_bytes, used_messages, quota_storage, quota_messages "
		"FROM account WHERE id = $1",

	[PG_MAILBOX_INSERT] =
		"INSERT INTO mailbox (account_id, id, name, uidvalidity, special_use) "
		"VALUES ($1, $2, $3, $4, $5)",
	[PG_MAILBOX_LIST] =
		"SELECT id, name, uidvalidity, uidnext, highestmodseq, special_use "
		"FROM mailbox WHERE account_id = $1 ORDER BY name",
	[PG_MAILBOX_FIND] =
		"SELECT id, name, uidvalidity, uidnext, highestmodseq, special_use "
		"FROM mailbox WHERE account_id = $1 AND name = $2",
	[PG_MAILBOX_GET] =
		"SELECT uidvalidity, uidnext, highestmodseq FROM mailbox "
		"WHERE account_id = $1 AND id = $2",
	[PG_MAILBOX_DELETE_MESSAGES] =
		"DELETE FROM message WHERE account_id = $1 AND mailbox_id = $2",
	[PG_MAILBOX_DELETE] =
		"DELETE FROM mailbox WHERE account_id = $1 AND id = $2",
	/* $1 account, $2 old name, $3 new name, $4 characters of the old
	 * name plus one. */
	[PG_MAILBOX_RENAME_CONFLICTS] =
		"SELECT count(*) FROM mailbox WHERE account_id = $1 AND name IN ("
		"SELECT $3 || substr(name, $4) FROM mailbox WHERE account_id = $1 AND "
		PG_NAME_TREE ")",
	[PG_MAILBOX_RENAME] =
		"UPDATE mailbox SET name = $3 || substr(name, $4) WHERE account_id = $1 AND "
		PG_NAME_TREE,
	/* The row lock this takes is held to COMMIT: the one MODSEQ counter
	 * of the mailbox (rule 3), whichever node writes. */
	[PG_MAILBOX_TOUCH] =
		"UPDATE mailbox SET highestmodseq = highestmodseq + 1 "
		"WHERE account_id = $1 AND id = $2 RETURNING highestmodseq",
	[PG_MAILBOX_RESERVE_UIDS] =
		"UPDATE mailbox SET uidnext = uidnext + $3 WHERE account_id = $1 AND id = $2 "
		"RETURNING uidnext, uidvalidity",
	[PG_MAILBOX_STATUS] =
		"SELECT count(*), count(*) FILTER (WHERE flags & 1 = 0), "
		"count(*) FILTER (WHERE flags & 8 <> 0), coalesce(sum(size), 0), "
		"coalesce(sum(size) FILTER (WHERE flags & 8 <> 0), 0) "
		"FROM message WHERE account_id = $1 AND mailbox_id = $2",

	[PG_SUBSCRIPTION_ADD] =
		"INSERT INTO subscription (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
	[PG_SUBSCRIPTION_REMOVE] =
		"DELETE FROM subscription WHERE account_id = $1 AND name = $2",
	[PG_SUBSCRIPTION_LIST] =
		"SELECT name FROM subscription WHERE account_id = $1 ORDER BY name",
	/* Renaming subscriptions with the tree: first drop the new names
	 * that are already subscribed (they would collide), then rename. */
	[PG_SUBSCRIPTION_RENAME_DROP] =
		"DELETE FROM subscription WHERE account_id = $1 AND name IN ("
		"SELECT $3 || substr(name, $4) FROM subscription WHERE account_id = $1 AND "
		PG_NAME_TREE ")",
	[PG_SUBSCRIPTION_RENAME] =
		"UPDATE subscription SET name = $3 || substr(name, $4) WHERE account_id = $1 AND "
		PG_NAME_TREE,

	[PG_BLOB_INSERT] =
		"INSERT INTO blob (account_id, id, size, header_size, sent_date, sent_date_tz, "
		"envelope, bodystructure, body, parts, preview, subject, from_text, to_text, "
		"cc_text, bcc_text, from_addr, to_addr, cc_addr, message_id, in_reply_to, refs, "
		"from_display, to_display) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
		"$17, $18, $19, $20, $21, $22, $23, $24)",
	/* $1 source account, $2 source blob, $3 new account, $4 new id. */
	[PG_BLOB_COPY] =
		"INSERT INTO blob (account_id, id, size, header_size, sent_date, sent_date_tz, "
		"envelope, bodystructure, body, parts, preview, subject, from_text, to_text, "
		"cc_text, bcc_text, from_addr, to_addr, cc_addr, message_id, in_reply_to, refs, "
		"from_display, to_display) "
		"SELECT $3, $4, size, header_size, sent_date, sent_date_tz, "
		"envelope, bodystructure, body, parts, preview, subject, from_text, to_text, "
		"cc_text, bcc_text, from_addr, to_addr, cc_addr, message_id, in_reply_to, refs, "
		"from_display, to_display FROM blob WHERE account_id = $1 AND id = $2",
	[PG_BLOB_DATA_INSERT] =
		"INSERT INTO blob_data (account_id, blob_id, data) VALUES ($1, $2, $3)",
	[PG_BLOB_DATA_COPY] =
		"INSERT INTO blob_data (account_id, blob_id, data) "
		"SELECT $3, $4, data FROM blob_data WHERE account_id = $1 AND blob_id = $2",
	/* The data column is stored uncompressed out of line (STORAGE
	 * EXTERNAL), so substring reads only the chunks of the range. $3 is
	 * 1-based. */
	[PG_BLOB_DATA_READ] =
		"SELECT substring(data FROM $3::integer FOR $4::integer) FROM blob_data "
		"WHERE account_id = $1 AND blob_id = $2",
	[PG_BLOB_TEXT_INSERT] =
		"INSERT INTO blob_text (account_id, blob_id, header, body) VALUES ($1, $2, $3, $4)",
	[PG_BLOB_TEXT_COPY] =
		"INSERT INTO blob_text (account_id, blob_id, header, body) "
		"SELECT $3, $4, header, body FROM blob_text WHERE account_id = $1 AND blob_id = $2",

	[PG_MESSAGE_INSERT] =
		"INSERT INTO message (account_id, mailbox_id, uid, blob_id, modseq, flags, "
		"keywords, size, internal_date, internal_date_tz, save_date) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	[PG_MESSAGE_LIST] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE account_id = $1 AND mailbox_id = $2 AND uid >= $3 ORDER BY uid",
	[PG_MESSAGE_CHANGED] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE account_id = $1 AND mailbox_id = $2 AND modseq > $3 ORDER BY uid",
	[PG_EXPUNGED_SINCE] =
		"SELECT uid FROM expunged WHERE account_id = $1 AND mailbox_id = $2 AND modseq > $3 "
		"ORDER BY uid",
	/* FOR UPDATE: the rows a STORE or EXPUNGE decides on stay as read
	 * until COMMIT, whatever another node does meanwhile. */
	[PG_MESSAGE_STATE_RANGE] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE account_id = $1 AND mailbox_id = $2 AND uid BETWEEN $3 AND $4 "
		"ORDER BY uid FOR UPDATE",
	/* $3: the UIDs as an array literal ({5,900000}), for sparse sets. */
	[PG_MESSAGE_STATE_SET] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE account_id = $1 AND mailbox_id = $2 AND uid = ANY ($3::bigint[]) "
		"ORDER BY uid FOR UPDATE",
	[PG_MESSAGE_SET_FLAGS] =
		"UPDATE message SET flags = $4, keywords = $5, modseq = $6 "
		"WHERE account_id = $1 AND mailbox_id = $2 AND uid = $3",
	[PG_MESSAGE_DELETED_ALL] =
		"SELECT uid FROM message WHERE account_id = $1 AND mailbox_id = $2 AND flags & 8 <> 0 "
		"ORDER BY uid FOR UPDATE",
	[PG_MESSAGE_DELETE] =
		"DELETE FROM message WHERE account_id = $1 AND mailbox_id = $2 AND uid = $3",
	[PG_EXPUNGED_INSERT] =
		"INSERT INTO expunged (account_id, mailbox_id, uid, modseq) VALUES ($1, $2, $3, $4) "
		"ON CONFLICT (account_id, mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq",
	[PG_MESSAGE_SOURCE] =
		"SELECT blob_id FROM message WHERE account_id = $1 AND mailbox_id = $2 AND uid = $3",
	/* $1 source account, $2 source mailbox, $3 source uid, $4 dest
	 * account, $5 dest mailbox, $6 dest uid, $7 modseq, $8 save date,
	 * $9 the blob in the dest account. */
	[PG_MESSAGE_COPY] =
		"INSERT INTO message (account_id, mailbox_id, uid, blob_id, modseq, flags, "
		"keywords, size, internal_date, internal_date_tz, save_date) "
		"SELECT $4, $5, $6, $9, $7, flags, keywords, size, internal_date, "
		"internal_date_tz, $8 FROM message "
		"WHERE account_id = $1 AND mailbox_id = $2 AND uid = $3",
	[PG_MESSAGE_GET] =
		"SELECT " PG_MESSAGE_COLUMNS ", b.header_size, b.envelope, b.bodystructure, "
		"b.body, b.parts FROM message m JOIN blob b "
		"ON b.account_id = m.account_id AND b.id = m.blob_id "
		"WHERE m.account_id = $1 AND m.mailbox_id = $2 AND m.uid = $3",
	[PG_MESSAGE_ITERATE] =
		"SELECT " PG_MESSAGE_COLUMNS " FROM message m JOIN blob b "
		"ON b.account_id = m.account_id AND b.id = m.blob_id "
		"WHERE m.account_id = $1 AND m.mailbox_id = $2 ORDER BY m.uid",
	/* $3 an ILIKE pattern; the pg_trgm GIN indexes serve it. */
	[PG_SEARCH_BODY] =
		"SELECT m.uid FROM message m JOIN blob_text t "
		"ON t.account_id = m.account_id AND t.blob_id = m.blob_id "
		"WHERE m.account_id = $1 AND m.mailbox_id = $2 AND t.body ILIKE $3 ORDER BY m.uid",
	[PG_SEARCH_TEXT] =
		"SELECT m.uid FROM message m JOIN blob_text t "
		"ON t.account_id = m.account_id AND t.blob_id = m.blob_id "
		"WHERE m.account_id = $1 AND m.mailbox_id = $2 AND "
		"(t.body ILIKE $3 OR t.header ILIKE $3) ORDER BY m.uid",
};
