/*
 * sqlite-sql: the text of every statement the SQLite back end runs, in one
 * table indexed by enum sqlite_sql. Keeping the SQL apart from the C logic
 * is what lets a second back end (PostgreSQL) share the logic's shape; the
 * schema these statements run against is in sqlite-open.c.
 *
 * Every query that runs per message or per command is served by an index:
 * message by its primary key (mailbox_id, uid) or message_modseq, expunged
 * by (mailbox_id, uid) or expunged_modseq, mailbox by id or
 * (account_id, name), blob and blob_data by id, blob_text by rowid.
 */
#include "store/sqlite/sqlite-private.h"

/* Columns of SQL_MESSAGE_GET and SQL_MESSAGE_ITERATE share their first
 * positions; see sqlite-message.c for the names. */
#define SQL_MESSAGE_COLUMNS \
	"m.uid, m.flags, m.modseq, m.keywords, m.internal_date, m.internal_date_tz, " \
	"m.save_date, m.size, m.blob_id, " \
	"b.preview, b.subject, b.from_text, b.to_text, b.cc_text, b.bcc_text, " \
	"b.from_addr, b.to_addr, b.cc_addr, b.sent_date, b.message_id, b.in_reply_to, b.refs, " \
	"b.from_display, b.to_display"

const char *const sqlite_sql_text[SQL_COUNT] = {
	[SQL_BEGIN_READ] = "BEGIN",
	[SQL_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_SAVEPOINT] = "SAVEPOINT one_delivery",
	[SQL_SAVEPOINT_RELEASE] = "RELEASE one_delivery",
	[SQL_SAVEPOINT_ROLLBACK] = "ROLLBACK TO one_delivery",
	[SQL_JOB_SAVEPOINT] = "SAVEPOINT one_job",
	[SQL_JOB_RELEASE] = "RELEASE one_job",
	[SQL_JOB_ROLLBACK] = "ROLLBACK TO one_job",

	[SQL_ACCOUNT_INSERT] =
		"INSERT INTO account (address, password_hash, created) VALUES (?1, ?2, ?3)",
	[SQL_ACCOUNT_FIND] =
		"SELECT id, address, password_hash, scram FROM account WHERE address = ?1",
	[SQL_ACCOUNT_LIST] =
		"SELECT id, address, password_hash, scram FROM account ORDER BY address",
	[SQL_ACCOUNT_SET_PASSWORD] =
		"UPDATE account SET password_hash = ?2, scram = NULL WHERE address = ?1",
	[SQL_ACCOUNT_SET_SCRAM] =
		"UPDATE account SET scram = ?2 WHERE address = ?1",
	[SQL_APP_PASSWORD_INSERT] =
		"INSERT INTO app_password (account_id, name, hash, created) VALUES (?1, ?2, ?3, ?4)",
	[SQL_APP_PASSWORD_DELETE] =
		"DELETE FROM app_password WHERE account_id = ?1 AND name = ?2",
	[SQL_APP_PASSWORD_LIST] =
		"SELECT id, name, hash, created, last_used FROM app_password WHERE account_id = ?1 "
		"ORDER BY name",
	[SQL_APP_PASSWORD_TOUCH] =
		"UPDATE app_password SET last_used = ?2 WHERE id = ?1",
	/* A blob delivered to several accounts belongs to the first; before
	 * that account goes, hand its still-shared blobs to another owner so
	 * the cascade does not take the others' mail with it. */
	[SQL_ACCOUNT_REOWN_BLOBS] =
		"UPDATE blob SET account_id = (SELECT m.account_id FROM message m"
		" WHERE m.blob_id = blob.id AND m.account_id <> ?1 LIMIT 1)"
		" WHERE account_id = ?1 AND EXISTS (SELECT 1 FROM message m"
		" WHERE m.blob_id = blob.id AND m.account_id <> ?1)",
	[SQL_ACCOUNT_DELETE] =
		"DELETE FROM account WHERE id = ?1",
	/* Time-based but strictly increasing per account: never reused, even
	 * for a name deleted and created again within one second. */
	[SQL_ACCOUNT_NEXT_UIDVALIDITY] =
		"UPDATE account SET last_uidvalidity = max(last_uidvalidity + 1, ?2) "
		"WHERE id = ?1 RETURNING last_uidvalidity",

	[SQL_QUOTA_GET] =
		"SELECT used_bytes, used_messages, quota_storage, quota_messages "
		"FROM account WHERE id = ?1",
	[SQL_QUOTA_SET] =
		"UPDATE account SET quota_storage = ?2, quota_messages = ?3 WHERE id = ?1",

	[SQL_ACL_LIST] =
		"SELECT identifier, rights FROM acl WHERE mailbox_id = ?1 ORDER BY identifier",
	[SQL_ACL_SET] =
		"INSERT OR REPLACE INTO acl (mailbox_id, identifier, rights) VALUES (?1, ?2, ?3)",
	[SQL_ACL_DELETE] =
		"DELETE FROM acl WHERE mailbox_id = ?1 AND identifier = ?2",
	/* ?1 the asking account, ?2 its address; acl_identifier serves it. */
	[SQL_ACL_SHARED_WITH] =
		"SELECT m.id, m.name, m.uidvalidity, m.uidnext, m.highestmodseq, m.special_use, "
		"m.account_id, a.address, acl.identifier, acl.rights "
		"FROM acl JOIN mailbox m ON m.id = acl.mailbox_id "
		"JOIN account a ON a.id = m.account_id "
		"WHERE acl.identifier IN (?2, '-' || ?2, 'anyone', '-anyone', 'authenticated', "
		"'-authenticated') AND m.account_id <> ?1 ORDER BY a.address, m.name, m.id",
	/* An address that goes must not hand its rights to a later account of
	 * the same name. */
	[SQL_ACL_FORGET] =
		"DELETE FROM acl WHERE identifier = ?1 OR identifier = '-' || ?1",
	[SQL_SEEN_LIST] =
		"SELECT uid FROM seen WHERE mailbox_id = ?1 AND account_id = ?2 ORDER BY uid",
	[SQL_SEEN_ADD] =
		"INSERT OR IGNORE INTO seen (mailbox_id, account_id, uid) VALUES (?1, ?2, ?3)",
	[SQL_SEEN_REMOVE] =
		"DELETE FROM seen WHERE mailbox_id = ?1 AND account_id = ?2 AND uid = ?3",
	[SQL_MESSAGE_SET_MODSEQ] =
		"UPDATE message SET modseq = ?3 WHERE mailbox_id = ?1 AND uid = ?2",

	/* ?3 an entry: itself and everything below it, [e/, e0) as for
	 * mailbox names, served by the primary key. */
	[SQL_METADATA_GET] =
		"SELECT entry, value FROM metadata WHERE mailbox_id = ?1 AND account_id = ?2 AND "
		"(entry = ?3 OR (entry >= ?3 || '/' AND entry < ?3 || '0')) ORDER BY entry",
	[SQL_METADATA_SET] =
		"INSERT OR REPLACE INTO metadata (mailbox_id, account_id, entry, value) "
		"VALUES (?1, ?2, ?3, ?4)",
	[SQL_METADATA_DELETE] =
		"DELETE FROM metadata WHERE mailbox_id = ?1 AND account_id = ?2 AND entry = ?3",
	[SQL_METADATA_COUNT] =
		"SELECT count(*) FROM metadata WHERE mailbox_id = ?1 AND account_id = ?2",

	[SQL_MAILBOX_INSERT] =
		"INSERT INTO mailbox (account_id, name, uidvalidity, special_use) "
		"VALUES (?1, ?2, ?3, ?4)",
	[SQL_MAILBOX_LIST] =
		"SELECT id, name, uidvalidity, uidnext, highestmodseq, special_use "
		"FROM mailbox WHERE account_id = ?1 ORDER BY name",
	[SQL_MAILBOX_FIND] =
		"SELECT id, name, uidvalidity, uidnext, highestmodseq, special_use "
		"FROM mailbox WHERE account_id = ?1 AND name = ?2",
	[SQL_MAILBOX_GET] =
		"SELECT account_id, uidvalidity, uidnext, highestmodseq FROM mailbox WHERE id = ?1",
	[SQL_MAILBOX_DELETE] =
		"DELETE FROM mailbox WHERE id = ?1",
	/* ?1 account, ?2 old name, ?3 new name, ?4 character position just
	 * past the old name. A mailbox and its children are the range
	 * [old/, old0) ('0' follows '/'), which the (account_id, name) index
	 * serves. */
	[SQL_MAILBOX_RENAME_CONFLICTS] =
		"SELECT count(*) FROM mailbox WHERE account_id = ?1 AND name IN ("
		"SELECT ?3 || substr(name, ?4) FROM mailbox WHERE account_id = ?1 AND "
		"(name = ?2 OR (name >= ?2 || '/' AND name < ?2 || '0')))",
	[SQL_MAILBOX_RENAME] =
		"UPDATE mailbox SET name = ?3 || substr(name, ?4) WHERE account_id = ?1 AND "
		"(name = ?2 OR (name >= ?2 || '/' AND name < ?2 || '0'))",
	[SQL_MAILBOX_TOUCH] =
		"UPDATE mailbox SET highestmodseq = highestmodseq + 1 WHERE id = ?1 "
		"RETURNING account_id, highestmodseq",
	[SQL_MAILBOX_RESERVE_UIDS] =
		"UPDATE mailbox SET uidnext = uidnext + ?2 WHERE id = ?1 "
		"RETURNING uidnext, uidvalidity",
	[SQL_MAILBOX_STATUS] =
		"SELECT count(*), total((flags & 1) = 0), total((flags & 8) != 0), total(size), "
		"total(CASE WHEN (flags & 8) != 0 THEN size END) "
		"FROM message WHERE mailbox_id = ?1",

	[SQL_SUBSCRIPTION_ADD] =
		"INSERT OR IGNORE INTO subscription (account_id, name) VALUES (?1, ?2)",
	[SQL_SUBSCRIPTION_REMOVE] =
		"DELETE FROM subscription WHERE account_id = ?1 AND name = ?2",
	[SQL_SUBSCRIPTION_LIST] =
		"SELECT name FROM subscription WHERE account_id = ?1 ORDER BY name",
	/* Same parameters as SQL_MAILBOX_RENAME; OR REPLACE because the new
	 * name may already be subscribed. */
	[SQL_SUBSCRIPTION_RENAME] =
		"UPDATE OR REPLACE subscription SET name = ?3 || substr(name, ?4) "
		"WHERE account_id = ?1 AND (name = ?2 OR (name >= ?2 || '/' AND name < ?2 || '0'))",

	[SQL_BLOB_INSERT] =
		"INSERT INTO blob (account_id, size, header_size, sent_date, sent_date_tz, "
		"envelope, bodystructure, body, parts, preview, subject, from_text, to_text, "
		"cc_text, bcc_text, from_addr, to_addr, cc_addr, message_id, in_reply_to, refs, "
		"from_display, to_display) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
		"?17, ?18, ?19, ?20, ?21, ?22, ?23)",
	[SQL_BLOB_DATA_INSERT] =
		"INSERT INTO blob_data (blob_id, data) VALUES (?1, ?2)",
	[SQL_BLOB_TEXT_INSERT] =
		"INSERT INTO blob_text (rowid, header, body) VALUES (?1, ?2, ?3)",
	[SQL_MESSAGE_INSERT] =
		"INSERT INTO message (mailbox_id, uid, account_id, blob_id, modseq, flags, "
		"keywords, size, internal_date, internal_date_tz, save_date) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[SQL_MESSAGE_LIST] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid",
	[SQL_MESSAGE_CHANGED] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	[SQL_EXPUNGED_SINCE] =
		"SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	[SQL_MESSAGE_STATE_ONE] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE mailbox_id = ?1 AND uid = ?2",
	[SQL_MESSAGE_STATE_RANGE] =
		"SELECT uid, flags, modseq, keywords FROM message "
		"WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
	[SQL_MESSAGE_SET_FLAGS] =
		"UPDATE message SET flags = ?3, keywords = ?4, modseq = ?5 "
		"WHERE mailbox_id = ?1 AND uid = ?2",
	[SQL_MESSAGE_DELETED_ALL] =
		"SELECT uid FROM message WHERE mailbox_id = ?1 AND (flags & 8) != 0 ORDER BY uid",
	[SQL_MESSAGE_DELETE] =
		"DELETE FROM message WHERE mailbox_id = ?1 AND uid = ?2",
	[SQL_EXPUNGED_INSERT] =
		"INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
	/* ?1 source mailbox, ?2 source uid, ?3 dest mailbox, ?4 dest uid,
	 * ?5 modseq, ?6 save date. The blob is shared, not copied. */
	/* Between accounts \Seen (bit 1, STORE_FLAG_SEEN) stays behind: it is
	 * per user (store.h). */
	[SQL_MESSAGE_COPY] =
		"INSERT INTO message (mailbox_id, uid, account_id, blob_id, modseq, flags, "
		"keywords, size, internal_date, internal_date_tz, save_date) "
		"SELECT ?3, ?4, d.account_id, blob_id, ?5, "
		"CASE WHEN d.account_id = m.account_id THEN flags ELSE flags & ~1 END, "
		"keywords, size, internal_date, internal_date_tz, ?6 "
		"FROM message m, (SELECT account_id FROM mailbox WHERE id = ?3) d "
		"WHERE m.mailbox_id = ?1 AND m.uid = ?2",
	[SQL_MESSAGE_GET] =
		"SELECT " SQL_MESSAGE_COLUMNS ", b.header_size, b.envelope, b.bodystructure, "
		"b.body, b.parts FROM message m JOIN blob b ON b.id = m.blob_id "
		"WHERE m.mailbox_id = ?1 AND m.uid = ?2",
	[SQL_MESSAGE_ITERATE] =
		"SELECT " SQL_MESSAGE_COLUMNS " FROM message m JOIN blob b ON b.id = m.blob_id "
		"WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	/* Trigram index: any substring of 3 or more characters. */
	[SQL_SEARCH_INDEX] =
		"SELECT uid FROM message WHERE mailbox_id = ?1 AND blob_id IN "
		"(SELECT rowid FROM blob_text WHERE blob_text MATCH ?2) ORDER BY uid",
	/* Shorter needles: read the stored text and look in C. */
	[SQL_SEARCH_SCAN] =
		"SELECT m.uid, t.body, t.header FROM message m JOIN blob_text t "
		"ON t.rowid = m.blob_id WHERE m.mailbox_id = ?1 ORDER BY m.uid",

	/* The change log (sqlite-feed.c): one row per event of a write
	 * transaction, in it; kept short by pruning all but the newest rows,
	 * by rowid (the primary key), in the same transaction. */
	[SQL_CHANGE_LOG_INSERT] =
		"INSERT INTO change_log (origin, kind, account_id, mailbox_id, modseq)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_CHANGE_LOG_PRUNE] =
		"DELETE FROM change_log WHERE id <= last_insert_rowid() - ?1",
	[SQL_CHANGE_LOG_LAST] =
		"SELECT coalesce(max(id), 0) FROM change_log",
	[SQL_CHANGE_LOG_SINCE] =
		"SELECT id, origin, kind, account_id, mailbox_id, modseq FROM change_log"
		" WHERE id > ?1 ORDER BY id",
	[SQL_MAILBOX_ALL] =
		"SELECT account_id, id, highestmodseq FROM mailbox",
};
