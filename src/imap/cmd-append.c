/*
 * cmd-append: APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315).
 *
 * The framer has already collected the literal (bounded by
 * max_message_size, so a hostile {4294967295} is refused before a byte is
 * read). The store acknowledges only after fsync (rule 1), so the OK means
 * the message is safe.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"

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

/* One message: [flag-list SP] [date-time SP] (literal / UTF8 (literal8)). */
static bool append_parse_message(struct imap_parser *p, struct store_new_message *msg)
{
	bool binary;

	memset(msg, 0, sizeof(*msg));
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
	/* RFC 6855 §4: utf8-literal = "UTF8" SP "(" literal8 ")" */
	if (imap_peek_char(p, 'U') || imap_peek_char(p, 'u')) {
		char *word;
		if (!imap_parse_atom(p, &word) || !str_eq_nocase(word, "UTF8") ||
		    !imap_parse_sp(p) || !imap_parse_char(p, '(') ||
		    !imap_parse_literal_ref(p, &msg->data, &msg->size, &binary) || !binary ||
		    !imap_parse_char(p, ')'))
			return imap_parser_fail(p, "Expected UTF8 (~{n} message)");
		return true;
	}
	return imap_parse_literal_ref(p, &msg->data, &msg->size, &binary);
}

/* APPEND mailbox message *(SP message) */
static bool append_parse(struct imap_session *s, struct imap_parser *p, char **mailbox_r,
			 struct store_new_message **msgs_r, size_t *count_r)
{
	struct store_new_message *msgs = NULL;
	size_t count = 0;

	if (!imap_parse_sp(p) || (*mailbox_r = imap_parse_mailbox(s, p)) == NULL ||
	    !imap_parse_sp(p))
		return false;
	do {
		if (count == APPEND_MAX_MESSAGES)
			return imap_parser_fail(p, "Too many messages in one APPEND");
		struct store_new_message *grown = arena_alloc(s->cmd_arena,
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

/* All messages in one store transaction: RFC 3502 §6.3.11 wants all or
 * none; APPENDUID then names every new UID (RFC 4315 §3). */
static enum imap_cmd_status cmd_append(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct store_new_message *msgs = NULL;
	struct store_mailbox mb;
	const char *error;
	char *name;
	size_t count = 0;
	uint32_t uidvalidity;

	if (!append_parse(s, p, &name, &msgs, &count))
		return imap_cmd_syntax(s, p);
	int r = store_mailbox_find(s->store, s->account_id, name, s->cmd_arena, &mb, &error);
	if (r == STORE_ENOTFOUND) {
		imap_cmd_no(s, "[TRYCREATE] No such mailbox");
		return IMAP_CMD_DONE;
	}
	uint32_t *uids = arena_alloc(s->cmd_arena, count * sizeof(uint32_t));
	if (r == 0)
		r = store_message_append(s->store, mb.id, msgs, count, uids, &uidvalidity, &error);
	if (r < 0) {
		log_error("imap: append to %s for %s: %s", name, s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Message not saved");
		return IMAP_CMD_DONE;
	}
	struct buf set = BUF_INIT;
	imap_write_uidset(&set, uids, count);
	imap_cmd_ok(s, "[APPENDUID %u %s] APPEND completed", uidvalidity, set.data);
	buf_free(&set);
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_append = { "APPEND", AUTHED, 0, cmd_append };
