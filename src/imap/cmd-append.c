/*
 * cmd-append: APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315),
 * MULTIAPPEND (RFC 3502), CATENATE (RFC 4469), and REPLACE / UID REPLACE
 * (RFC 8508), which is an APPEND and a UID EXPUNGE in one transaction.
 *
 * The framer has already collected the literals (bounded by
 * max_message_size, so a hostile {4294967295} is refused before a byte is
 * read). A CATENATE message is put together here, from TEXT literals and
 * the bytes of messages (or parts) that URLs name (url.h), and is then
 * stored like any APPEND: parsed once, at save (DESIGN.md rule 2). The store
 * acknowledges only after fsync (rule 1), so the OK means the message is
 * safe.
 */
#include "imap/fetch.h"
#include "imap/session.h"
#include "imap/url.h"
#include "imap/urlauth.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <string.h>
#include <time.h>

static const char *const append_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static bool append_digits(const char *s, int n, int *value_r)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*value_r = v;
	return true;
}

/* RFC 9051 §9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). */
bool imap_parse_date_time(const char *s, int64_t *time_r, int *tz_r)
{
	struct tm tm = { 0 };
	int day, year, hh, mm, ss, zh, zm, mon = -1;

	if (strlen(s) != 26 || s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' ||
	    s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
		return false;
	if (!append_digits(s[0] == ' ' ? s + 1 : s, s[0] == ' ' ? 1 : 2, &day) ||
	    !append_digits(s + 7, 4, &year) || !append_digits(s + 12, 2, &hh) ||
	    !append_digits(s + 15, 2, &mm) || !append_digits(s + 18, 2, &ss) ||
	    !append_digits(s + 22, 2, &zh) || !append_digits(s + 24, 2, &zm))
		return false;
	for (int i = 0; i < 12; i++) {
		if (str_eq_nocase_n(s + 3, 3, append_months[i]))
			mon = i;
	}
	if (mon < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59 ||
	    year < 1900)
		return false;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	int tz = (zh * 60 + zm) * (s[21] == '-' ? -1 : 1);
	*time_r = (int64_t)timegm(&tm) - (int64_t)tz * 60;
	*tz_r = tz;
	return true;
}

/* MULTIAPPEND (RFC 3502): at most this many messages in one command; each
 * is a small struct, the bytes stay in the command buffer. */
#define APPEND_MAX_MESSAGES 1000
/* CATENATE (RFC 4469): parts of one message. A client sends a few (header
 * text, the old body, an attachment); the bound keeps one command from
 * asking for thousands of message reads. */
#define APPEND_MAX_CATENATE_PARTS 256

/* One part of a CATENATE: TEXT bytes (in the command buffer) or a URL. */
struct append_part {
	const char *data; /* TEXT */
	size_t size;
	char *url;        /* URL, as sent; NULL for TEXT */
	size_t url_len;
};

/* One message of the command: the plain literal is in msg.data; a
 * CATENATE message has parts instead, joined by append_build. */
struct append_message {
	struct store_new_message msg;
	struct append_part *parts;
	size_t part_count;
	bool catenate;
};

/* cat-part = "TEXT" SP literal / "URL" SP astring (RFC 4469 §5); TEXT may be
 * a literal8 too (RFC 3516 §4.4: APPEND data with NULs). */
static bool append_parse_part(struct imap_parser *p, struct append_part *part)
{
	char *word;
	bool binary;

	memset(part, 0, sizeof(*part));
	if (!imap_parse_atom(p, &word) || !imap_parse_sp(p))
		return imap_parser_fail(p, "Expected TEXT or URL");
	if (str_eq_nocase(word, "TEXT"))
		return imap_parse_literal_ref(p, &part->data, &part->size, &binary);
	if (str_eq_nocase(word, "URL"))
		return imap_parse_astring(p, &part->url, &part->url_len);
	return imap_parser_fail(p, "Expected TEXT or URL");
}

/* "CATENATE" SP "(" cat-part *(SP cat-part) ")", the word already read. */
static bool append_parse_catenate(struct imap_parser *p, struct append_message *m)
{
	struct append_part *parts = NULL;
	size_t count = 0;

	if (!imap_parse_sp(p) || !imap_parse_char(p, '('))
		return imap_parser_fail(p, "Expected CATENATE (parts)");
	do {
		if (count == APPEND_MAX_CATENATE_PARTS)
			return imap_parser_fail(p, "[LIMIT] Too many CATENATE parts");
		struct append_part *grown = arena_alloc(p->arena, (count + 1) * sizeof(*grown));
		if (count > 0)
			memcpy(grown, parts, count * sizeof(*grown));
		parts = grown;
		if (!append_parse_part(p, &parts[count]))
			return false;
		count++;
	} while (imap_peek_char(p, ' ') && p->p++);
	if (!imap_parse_char(p, ')'))
		return imap_parser_fail(p, "Expected ')' after the CATENATE parts");
	m->parts = parts;
	m->part_count = count;
	m->catenate = true;
	return true;
}

/* One message: [flag-list SP] [date-time SP] (literal / literal8 /
 * UTF8 (literal8) / CATENATE (parts)) — RFC 4466 append-message with the
 * append-data of RFC 6855 and RFC 4469. */
static bool append_parse_message(struct imap_parser *p, struct append_message *m)
{
	struct store_new_message *msg = &m->msg;
	bool binary;

	memset(m, 0, sizeof(*m));
	if (imap_peek_char(p, '(')) {
		char *keywords;
		if (!imap_parse_flags(p, true, &msg->flags, &keywords) || !imap_parse_sp(p))
			return false;
		msg->keywords = keywords;
	}
	if (imap_peek_char(p, '"')) {
		char *date;
		size_t len;
		if (!imap_parse_string(p, &date, &len) || !imap_parse_sp(p))
			return false;
		if (!imap_parse_date_time(date, &msg->internal_date, &msg->internal_date_tz))
			return imap_parser_fail(p, "Invalid date-time");
	}
	if (!imap_peek_char(p, '{') && !imap_peek_char(p, '~')) {
		char *word;
		if (!imap_parse_atom(p, &word))
			return imap_parser_fail(p, "Expected a message literal");
		if (str_eq_nocase(word, "CATENATE"))
			return append_parse_catenate(p, m);
		/* RFC 6855 §4: utf8-literal = "UTF8" SP "(" literal8 ")" */
		if (!str_eq_nocase(word, "UTF8") || !imap_parse_sp(p) || !imap_parse_char(p, '(') ||
		    !imap_parse_literal_ref(p, &msg->data, &msg->size, &binary) || !binary ||
		    !imap_parse_char(p, ')'))
			return imap_parser_fail(p, "Expected UTF8 (~{n} message)");
		return true;
	}
	return imap_parse_literal_ref(p, &msg->data, &msg->size, &binary);
}

/* APPEND mailbox message *(SP message) */
static bool append_parse(struct imap_session *s, struct imap_parser *p, char **mailbox_r,
			 struct append_message **msgs_r, size_t *count_r)
{
	struct append_message *msgs = NULL;
	size_t count = 0;

	if (!imap_parse_sp(p) || (*mailbox_r = imap_parse_mailbox(s, p)) == NULL ||
	    !imap_parse_sp(p))
		return false;
	do {
		if (count == APPEND_MAX_MESSAGES)
			return imap_parser_fail(p, "[LIMIT] Too many messages in one APPEND");
		struct append_message *grown = arena_alloc(s->cmd_arena,
							   (count + 1) * sizeof(*grown));
		if (count > 0)
			memcpy(grown, msgs, count * sizeof(*grown));
		msgs = grown;
		if (!append_parse_message(p, &msgs[count]))
			return false;
		count++;
	} while (imap_peek_char(p, ' ') && p->p++);
	*msgs_r = msgs;
	*count_r = count;
	return imap_parse_eol(p);
}

/* Why a message could not be put together (the NO's response code). */
enum append_build_error {
	APPEND_BUILD_OK,
	APPEND_BUILD_BADURL,  /* RFC 4469 §4.1 */
	APPEND_BUILD_TOOBIG,  /* RFC 4469 §4.2: over max_message_size */
	APPEND_BUILD_FAILED,  /* the store failed */
};

/* The mailbox a URL names: the selected one when it names none. The RFC
 * 4469 §3 base URL is imap://user@server/[selected mailbox]. */
static bool append_url_mailbox(struct imap_session *s, const struct imap_url *url,
			       int64_t *mailbox_id_r, uint32_t *uidvalidity_r)
{
	struct store_mailbox mb;
	const char *error;

	if (url->mailbox == NULL) {
		if (s->view == NULL)
			return false;
		*mailbox_id_r = s->view->mailbox_id;
		*uidvalidity_r = s->view->uidvalidity;
		return true;
	}
	/* RFC 9051 §5.1: INBOX in any case, also as a parent */
	char *name = url->mailbox;
	if (str_eq_nocase(name, "INBOX"))
		name = "INBOX";
	else if (str_has_prefix_nocase(name, "INBOX/"))
		memcpy(name, "INBOX", 5);
	if (!imap_utf8_valid(name, strlen(name)) ||
	    store_mailbox_find(s->store, s->account_id, name, s->cmd_arena, &mb, &error) < 0)
		return false;
	*mailbox_id_r = mb.id;
	*uidvalidity_r = mb.uidvalidity;
	return true;
}

/* Append the octets a URL names to out, as FETCH BODY[section]<partial>
 * would return them (RFC 4469 §3), never setting \Seen. Only messages of
 * the logged-in user on this server (RFC 4469 §3 note). The result may not
 * take out beyond limit bytes. */
static enum append_build_error append_url_read(struct imap_session *s, const char *text,
					       size_t len, uint64_t limit, struct buf *out)
{
	struct imap_url url;
	const char *error;
	int64_t mailbox_id;
	uint32_t uidvalidity;

	if (strlen(text) != len || !imap_url_parse(s->cmd_arena, text, len, &url, &error))
		return APPEND_BUILD_BADURL;
	/* A URLAUTH URL is for URLFETCH and BURL (RFC 4467), not here. */
	if (url.access != IMAP_URL_ACCESS_NONE)
		return APPEND_BUILD_BADURL;
	if (url.user != NULL && (!str_eq_nocase(url.user, s->account_name) ||
				 !str_eq_nocase(url.host, s->server->config->hostname)))
		return APPEND_BUILD_BADURL;
	if (!append_url_mailbox(s, &url, &mailbox_id, &uidvalidity) ||
	    (url.uidvalidity != 0 && url.uidvalidity != uidvalidity))
		return APPEND_BUILD_BADURL;
	switch (imap_url_read(s->store, s->cmd_arena, mailbox_id, &url, limit, out)) {
	case IMAP_URLAUTH_OK:
		return APPEND_BUILD_OK;
	case IMAP_URLAUTH_TOOBIG:
		return APPEND_BUILD_TOOBIG;
	case IMAP_URLAUTH_FAILED:
		return APPEND_BUILD_FAILED;
	default:
		return APPEND_BUILD_BADURL;
	}
}

/* Put a CATENATE message together (RFC 4469 §3): the parts in order. On
 * BADURL, *bad_url_r is the first URL that failed (§4.1). *room_r is what
 * the command may still build: the messages of one MULTIAPPEND together
 * hold at most one maximal message plus IMAP_MAX_APPEND_EXTRA, as its
 * literals do (parser.h), whatever the URLs name. */
static enum append_build_error append_build(struct imap_session *s, struct append_message *m,
					    const char **bad_url_r, uint64_t *room_r)
{
	uint64_t limit = s->server->config->max_message_size;
	enum append_build_error r = APPEND_BUILD_OK;
	struct buf out = BUF_INIT;

	if (!m->catenate)
		return APPEND_BUILD_OK;
	if (limit > *room_r)
		limit = *room_r;
	for (size_t i = 0; r == APPEND_BUILD_OK && i < m->part_count; i++) {
		const struct append_part *part = &m->parts[i];
		if (part->url != NULL) {
			r = append_url_read(s, part->url, part->url_len, limit, &out);
			if (r == APPEND_BUILD_BADURL)
				*bad_url_r = part->url;
		} else if (part->size > limit - out.len) {
			r = APPEND_BUILD_TOOBIG;
		} else {
			buf_append(&out, part->data, part->size);
		}
	}
	if (r == APPEND_BUILD_OK) {
		m->msg.data = arena_memdup(s->cmd_arena, out.data != NULL ? out.data : "", out.len);
		m->msg.size = out.len;
		*room_r -= out.len;
	}
	buf_free(&out);
	return r;
}

/* NO for a message that could not be put together. url-resp-text is any
 * TEXT-CHAR but ']' (RFC 4469 §5): other bytes go %-escaped, which names
 * the same URL (RFC 3986 §2.1). */
static void append_build_refuse(struct imap_session *s, enum append_build_error r,
				const char *bad_url)
{
	struct buf url = BUF_INIT;

	switch (r) {
	case APPEND_BUILD_BADURL:
		for (const unsigned char *c = (const unsigned char *)bad_url; *c != '\0'; c++) {
			if (*c == ']' || *c == '\r' || *c == '\n' || *c >= 0x7f)
				buf_printf(&url, "%%%02X", *c);
			else
				buf_append_char(&url, (char)*c);
		}
		imap_cmd_no(s, "[BADURL %s] Cannot use that URL", url.len > 0 ? url.data : "%20");
		break;
	case APPEND_BUILD_TOOBIG:
		imap_cmd_no(s, "[TOOBIG] The message would be larger than %llu octets",
			    (unsigned long long)s->server->config->max_message_size);
		break;
	case APPEND_BUILD_FAILED:
	case APPEND_BUILD_OK:
		imap_cmd_no(s, "[SERVERBUG] Message not saved");
		break;
	}
	buf_free(&url);
}

/* All messages in one store transaction: RFC 3502 §6.3.11 wants all or
 * none; APPENDUID then names every new UID (RFC 4315 §3). */
/* RFC 4314 §4: flags of an APPEND into another account's mailbox are kept
 * only where the user has the right to set them ("t" for \Deleted, "w"
 * for the others; \Seen, with "s", is the user's own: seen[i] says the
 * caller must record it apart). */
static void append_filter_flags(struct store_new_message *msgs, size_t count, unsigned rights,
				bool *seen)
{
	unsigned allowed = 0;

	if (rights & ACL_WRITE)
		allowed |= STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT;
	if (rights & ACL_DELETE_MSG)
		allowed |= STORE_FLAG_DELETED;
	for (size_t i = 0; i < count; i++) {
		seen[i] = (msgs[i].flags & STORE_FLAG_SEEN) && (rights & ACL_SEEN);
		msgs[i].flags &= allowed;
		if (!(rights & ACL_WRITE))
			msgs[i].keywords = NULL;
	}
}

/* An APPEND as the store writer runs it (imap_store_write). */
struct append_write {
	int64_t account_id;
	const char *account_name;  /* for the log */
	const char *name;          /* the mailbox, for the log */
	int64_t mailbox_id;
	const struct store_new_message *news;
	size_t count;
	const bool *seen;          /* per message: the reader's own \Seen */
	struct arena *arena;
	uint32_t *uids;
	uint32_t uidvalidity;
};

/* \Seen given by a reader who does not own the mailbox is their own (RFC
 * 4314 "s", shared.c); the messages are already safe, so a failure here
 * only loses that flag. */
static void append_keep_seen(struct store *store, struct append_write *w)
{
	uint32_t *seen_uids = arena_alloc(w->arena, (w->count + 1) * sizeof(uint32_t));
	struct store_message_state *res;
	size_t nseen = 0, nres;
	const char *error;

	for (size_t i = 0; i < w->count; i++) {
		if (w->seen[i])
			seen_uids[nseen++] = w->uids[i];
	}
	if (nseen > 0 && store_seen_set(store, w->account_id, w->mailbox_id, seen_uids, nseen,
					true, w->arena, &res, &nres, &error) < 0)
		log_warn("imap: append: keeping \\Seen of %s: %s", w->account_name, error);
}

/* On the store writer's thread: the messages (parsed there, rule 2), in
 * the writer's group transaction. */
static int append_write_run(struct store *store, void *state, const char **error_r)
{
	struct append_write *w = state;
	int r = store_message_append(store, w->mailbox_id, w->news, w->count, w->uids,
				     &w->uidvalidity, error_r);

	if (r == 0)
		append_keep_seen(store, w);
	return r;
}

/* Back on the loop, after the commit: APPENDUID (RFC 4315) or why not. */
static void append_written(struct imap_session *s, void *state, int r, const char *error)
{
	struct append_write *w = state;

	if (r == STORE_EOVERQUOTA) {
		imap_cmd_no(s, "[OVERQUOTA] Quota exceeded, message not saved"); /* RFC 9208 §4.3.1 */
		return;
	}
	if (r < 0) {
		log_error("imap: append to %s for %s: %s", w->name, s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Message not saved");
		return;
	}
	imap_notify_own_messages(s, w->mailbox_id, w->uids, w->count);
	struct buf set = BUF_INIT;
	imap_write_uidset(&set, w->uids, w->count);
	imap_cmd_ok(s, "[APPENDUID %u %s] APPEND completed", w->uidvalidity, set.data);
	buf_free(&set);
}

static enum imap_cmd_status cmd_append(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct append_message *msgs = NULL;
	const char *bad_url = "";
	char *name;
	size_t count = 0;

	if (!append_parse(s, p, &name, &msgs, &count))
		return imap_cmd_syntax(s, p);
	struct imap_mailbox_ref ref;
	int r = imap_mailbox_resolve(s, name, &ref);
	if (r == 0 && !ref.exists && !ref.foreign) {
		imap_cmd_no(s, "[TRYCREATE] No such mailbox");
		return IMAP_CMD_DONE;
	}
	if (r == 0 && imap_mailbox_denied(s, &ref, ACL_INSERT)) /* RFC 4314 §4 */
		return IMAP_CMD_DONE;
	struct store_new_message *news = arena_alloc(s->cmd_arena, count * sizeof(*news));
	uint64_t room = s->server->config->max_message_size + IMAP_MAX_APPEND_EXTRA;
	for (size_t i = 0; r == 0 && i < count; i++) {
		enum append_build_error built = append_build(s, &msgs[i], &bad_url, &room);
		if (built != APPEND_BUILD_OK) {
			append_build_refuse(s, built, bad_url);
			return IMAP_CMD_DONE;
		}
		news[i] = msgs[i].msg;
	}
	bool *seen = arena_zalloc(s->cmd_arena, (count + 1) * sizeof(bool));
	if (ref.foreign)
		append_filter_flags(news, count, ref.rights, seen);
	struct append_write *w = arena_zalloc(s->cmd_arena, sizeof(*w));
	*w = (struct append_write){ .account_id = s->account_id, .account_name = s->account_name,
				    .name = name, .mailbox_id = ref.mailbox.id, .news = news,
				    .count = count, .seen = seen, .arena = s->cmd_arena,
				    .uids = arena_alloc(s->cmd_arena,
							(count + 1) * sizeof(uint32_t)) };
	if (r < 0) {
		append_written(s, w, r, "store error");
		return IMAP_CMD_DONE;
	}
	return imap_store_write(s, append_write_run, append_written, w);
}

/* The message REPLACE removes: "seq-number" (or a UID for UID REPLACE) of
 * the selected mailbox. -1 with the reply set when it cannot be used. */
static long replace_find_old(struct imap_session *s, uint32_t number, bool uid)
{
	struct imap_view *view = s->view;
	long index;

	if (uid) {
		index = imap_view_find_uid(view, number);
		if (index < 0) {
			imap_cmd_no(s, "[NONEXISTENT] No message with UID %u", number);
			return -1;
		}
	} else {
		/* RFC 9051 §9 seq-number: a number the client knows */
		if (number == 0 || number > view->exists_told) {
			imap_cmd_bad(s, "Invalid message sequence number");
			return -1;
		}
		index = (long)number - 1;
	}
	if (view->msgs.items[index].expunged) {
		imap_cmd_no(s, "[EXPUNGEISSUED] The message was expunged");
		return -1;
	}
	return index;
}

/* REPLACE / UID REPLACE (RFC 8508 §3): append-message to a mailbox and
 * remove a message of the selected one, as one action. The APPENDUID goes
 * in an untagged OK before the EXPUNGE (RFC 8508 §4.3); the view sync that
 * follows every command sends the EXPUNGE (or VANISHED under QRESYNC,
 * RFC 8508 §4.5) and the EXISTS of a same-mailbox replacement. */
static enum imap_cmd_status cmd_replace(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct append_message m;
	struct store_mailbox mb;
	const char *error, *bad_url = "";
	uint32_t number, new_uid = 0, uidvalidity = 0;
	char *name;

	if (!imap_parse_sp(p) || !imap_parse_number(p, &number) || !imap_parse_sp(p) ||
	    (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_sp(p) ||
	    !append_parse_message(p, &m) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (s->view->readonly) {
		imap_cmd_no(s, "[READ-ONLY] Mailbox is read-only");
		return IMAP_CMD_DONE;
	}
	long index = replace_find_old(s, number, uid);
	if (index < 0)
		return IMAP_CMD_DONE;
	uint32_t old_uid = s->view->msgs.items[index].uid;
	int r = store_mailbox_find(s->store, s->account_id, name, s->cmd_arena, &mb, &error);
	if (r == STORE_ENOTFOUND) {
		imap_cmd_no(s, "[TRYCREATE] No such mailbox");
		return IMAP_CMD_DONE;
	}
	uint64_t room = s->server->config->max_message_size;
	enum append_build_error built = r < 0 ? APPEND_BUILD_FAILED :
						append_build(s, &m, &bad_url, &room);
	if (built != APPEND_BUILD_OK) {
		append_build_refuse(s, built, bad_url);
		return IMAP_CMD_DONE;
	}
	r = store_message_replace(s->store, mb.id, &m.msg, s->view->mailbox_id, old_uid, &new_uid,
				  &uidvalidity, &error);
	if (r == STORE_ENOTFOUND) {
		imap_cmd_no(s, "[EXPUNGEISSUED] The message was expunged meanwhile");
		return IMAP_CMD_DONE;
	}
	if (r == STORE_EOVERQUOTA) { /* RFC 9208 §4.3.1; the old message stays */
		imap_cmd_no(s, "[OVERQUOTA] Quota exceeded, message not replaced");
		return IMAP_CMD_DONE;
	}
	if (r < 0) {
		log_error("imap: replace in %s for %s: %s", name, s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Message not replaced");
		return IMAP_CMD_DONE;
	}
	imap_notify_own_messages(s, mb.id, &new_uid, 1);
	imap_untagged(s, "OK [APPENDUID %u %u] Replacement message ready", uidvalidity, new_uid);
	s->view->msgs.items[index].expunged = true;
	s->view->has_expunged = true;
	imap_cmd_ok(s, "%sREPLACE completed", uid ? "UID " : "");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_append = { "APPEND", AUTHED, 0, cmd_append };
/* RFC 8508 §3.5: selected state only, and a UID form */
const struct imap_command imap_cmd_def_replace = { "REPLACE", IMAP_STATE_SELECTED, IMAP_CMD_UID,
						   cmd_replace };
