/*
 * cmd-urlauth: RESETKEY, GENURLAUTH and URLFETCH (RFC 4467 §7), the IMAP
 * side of URLAUTH. The URL checks, the keys and the tokens are urlauth.c's,
 * shared with submission's BURL (RFC 4468).
 *
 * URLFETCH answers NIL for any URL that fails (RFC 4467 §7: whatever the
 * reason, so it tells nothing), takes RFC 5524's per-URL parameters
 * (URLAUTH=BINARY: BODY, BINARY, BODYPARTSTRUCTURE; BINARY and
 * BODYPARTSTRUCTURE need a URL naming a whole part, else NIL), and gathers
 * all the data of one command
 * in memory first: its total is bounded by URLFETCH_MAX_TOTAL(config), and
 * a command asking for more gets NO [LIMIT] (RFC 5530) instead.
 */
#include "imap/session.h"
#include "imap/url.h"
#include "imap/urlauth.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <string.h>
#include <time.h>

/* URLs in one GENURLAUTH or URLFETCH: a client forwards a message with a
 * handful of parts; the command line (64 KB) bounds them anyway. */
#define URLAUTH_MAX_URLS 100
/* The data of one URLFETCH: at most two maximal messages' worth. */
#define URLFETCH_MAX_TOTAL(config) (2 * (uint64_t)(config)->max_message_size)

/* mechanism = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / "."): only INTERNAL
 * is implemented (the URLMECH list). */
static bool urlauth_parse_mechanism(struct imap_parser *p)
{
	char *mech;

	if (!imap_parse_atom(p, &mech))
		return false;
	if (!str_eq_nocase(mech, "INTERNAL"))
		return imap_parser_fail(p, "Unsupported URLAUTH mechanism");
	return true;
}

/* RESETKEY [SP mailbox *(SP mechanism)] (RFC 4467 §7). */
static enum imap_cmd_status cmd_resetkey(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_mailbox_ref ref;
	const char *error;
	char *name;

	if (imap_at_end(p)) {
		if (imap_urlauth_key_reset(s->store, s->account_id, s->account_name, 0,
					   s->cmd_arena, &error) < 0) {
			log_error("imap: %s: resetkey: %s", s->account_name, error);
			imap_cmd_no(s, "[SERVERBUG] Keys not removed");
		} else {
			imap_cmd_ok(s, "All keys removed");
		}
		return IMAP_CMD_DONE;
	}
	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL)
		return s->result_status != NULL ? IMAP_CMD_DONE : imap_cmd_syntax(s, p);
	while (imap_peek_char(p, ' ')) {
		p->p++;
		if (!urlauth_parse_mechanism(p))
			return imap_cmd_syntax(s, p);
	}
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (imap_mailbox_resolve(s, name, &ref) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (imap_mailbox_denied(s, &ref, ACL_READ))
		return IMAP_CMD_DONE;
	if (imap_urlauth_key_reset(s->store, s->account_id, s->account_name, ref.mailbox.id,
				   s->cmd_arena, &error) < 0) {
		log_error("imap: %s: resetkey %s: %s", s->account_name, name, error);
		imap_cmd_no(s, "[SERVERBUG] Key not changed");
		return IMAP_CMD_DONE;
	}
	/* §8 URLMECH: in the tagged OK instead of an untagged one. */
	imap_cmd_ok(s, "[URLMECH INTERNAL] Key reset");
	return IMAP_CMD_DONE;
}

/* GENURLAUTH 1*(SP url-rump SP mechanism) (RFC 4467 §7): all or nothing;
 * one "* GENURLAUTH url-full ..." for every URL. */
static enum imap_cmd_status cmd_genurlauth(struct imap_session *s, struct imap_parser *p,
					   bool uid)
{
	char *urls[URLAUTH_MAX_URLS];
	size_t lens[URLAUTH_MAX_URLS], count = 0;

	do {
		if (count == URLAUTH_MAX_URLS)
			return imap_parser_fail(p, "Too many URLs"), imap_cmd_syntax(s, p);
		if (!imap_parse_sp(p) || !imap_parse_astring(p, &urls[count], &lens[count]) ||
		    !imap_parse_sp(p) || !urlauth_parse_mechanism(p))
			return imap_cmd_syntax(s, p);
		count++;
	} while (imap_peek_char(p, ' '));
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	struct buf *out = &s->scratch;
	buf_append_str(out, "* GENURLAUTH");
	for (size_t i = 0; i < count; i++) {
		const char *full, *error;
		bool failed;

		if (!imap_urlauth_generate(s->store, s->cmd_arena, s->server->config->hostname,
					   s->account_id, s->account_name, urls[i], lens[i], &full,
					   &error, &failed)) {
			buf_free(out);
			if (failed) {
				log_error("imap: %s: genurlauth: %s", s->account_name, error);
				imap_cmd_no(s, "[SERVERBUG] Cannot generate a URLAUTH");
			} else {
				/* §7: every failed check is a tagged BAD */
				imap_cmd_bad(s, "%s", error);
			}
			return IMAP_CMD_DONE;
		}
		buf_append_char(out, ' ');
		imap_write_string(out, full, strlen(full), s->utf8);
	}
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
	imap_cmd_ok(s, "GENURLAUTH completed");
	return IMAP_CMD_DONE;
}

/* One URL of URLFETCH and what RFC 5524 asks for it (ext NULL: as RFC
 * 4467, the URL alone or in parentheses with no parameter). */
struct urlfetch_arg {
	char *url;
	size_t len;
	struct imap_urlauth_extended *ext;
};

/* url-fetch-arg = url-full / "(" url-full *(SP url-fetch-param) ")"
 * (RFC 5524 §5); each parameter once, never both BINARY and BODY. */
static bool urlfetch_parse_arg(struct imap_session *s, struct imap_parser *p,
			       struct urlfetch_arg *arg)
{
	arg->ext = NULL;
	if (!imap_peek_char(p, '('))
		return imap_parse_astring(p, &arg->url, &arg->len);
	p->p++;
	if (!imap_parse_astring(p, &arg->url, &arg->len))
		return false;
	struct imap_urlauth_extended ext = { 0 };
	bool any = false;
	while (imap_peek_char(p, ' ')) {
		char *param;
		bool *flag;
		p->p++;
		if (!imap_parse_atom(p, &param))
			return false;
		if (str_eq_nocase(param, "BODY"))
			flag = &ext.body;
		else if (str_eq_nocase(param, "BINARY"))
			flag = &ext.binary;
		else if (str_eq_nocase(param, "BODYPARTSTRUCTURE"))
			flag = &ext.bodypartstructure;
		else
			return imap_parser_fail(p, "Unknown URLFETCH parameter");
		if (*flag)
			return imap_parser_fail(p, "URLFETCH parameter repeated");
		*flag = any = true;
	}
	if (ext.body && ext.binary)
		return imap_parser_fail(p, "BODY and BINARY exclude each other");
	if (!imap_parse_char(p, ')'))
		return false;
	if (any) {
		arg->ext = arena_alloc(s->cmd_arena, sizeof(ext));
		*arg->ext = ext;
	}
	return true;
}

/* The data of one URL: a string, a literal8 when it holds a NUL (RFC
 * 5524 §5 url-meta-binary). */
static void urlfetch_write_data(struct imap_session *s, struct buf *out, const struct buf *data)
{
	const char *bytes = data->data != NULL ? data->data : "";

	if (memchr(bytes, '\0', data->len) != NULL) {
		buf_printf(out, "~{%zu}\r\n", data->len);
		buf_append(out, bytes, data->len);
		return;
	}
	imap_write_string(out, bytes, data->len, s->utf8);
}

/* URLFETCH 1*(SP url-fetch-arg) (RFC 4467 §7, RFC 5524): one "* URLFETCH"
 * with each URL and its data, or NIL for every URL that does not resolve,
 * then OK. */
static enum imap_cmd_status cmd_urlfetch(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct urlfetch_arg args[URLAUTH_MAX_URLS];
	size_t count = 0;

	do {
		if (count == URLAUTH_MAX_URLS)
			return imap_parser_fail(p, "Too many URLs"), imap_cmd_syntax(s, p);
		if (!imap_parse_sp(p) || !urlfetch_parse_arg(s, p, &args[count]))
			return imap_cmd_syntax(s, p);
		count++;
	} while (imap_peek_char(p, ' '));
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);

	const struct imap_urlauth_requester who = {
		.account_id = s->account_id, .address = s->account_name, .submit = false,
	};
	uint64_t budget = URLFETCH_MAX_TOTAL(s->server->config), used = 0;
	int64_t now = (int64_t)time(NULL);
	struct buf data = BUF_INIT, *out = &s->scratch;
	buf_append_str(out, "* URLFETCH");
	for (size_t i = 0; i < count; i++) {
		struct imap_urlauth_extended *ext = args[i].ext;
		data.len = 0;
		enum imap_urlauth_result r =
			imap_urlauth_fetch(s->store, s->cmd_arena, s->server->config->hostname,
					   &who, args[i].url, args[i].len, now, budget - used, ext,
					   &data);
		if (r == IMAP_URLAUTH_TOOBIG || r == IMAP_URLAUTH_FAILED) {
			buf_free(&data);
			buf_free(out);
			if (r == IMAP_URLAUTH_TOOBIG)
				imap_cmd_no(s, "[LIMIT] URLFETCH data too large; ask for fewer URLs");
			else
				imap_cmd_no(s, "[SERVERBUG] URLFETCH failed; try again");
			return IMAP_CMD_DONE;
		}
		buf_append_char(out, ' ');
		imap_write_string(out, args[i].url, args[i].len, s->utf8);
		if (r != IMAP_URLAUTH_OK) {
			log_info("imap: %s: urlfetch refused (%d)", s->account_name, (int)r);
			buf_append_str(out, " NIL");
			continue;
		}
		used += data.len;
		if (ext == NULL) {
			/* RFC 4467 §7: a valid URL whose data is empty is "", never NIL */
			buf_append_char(out, ' ');
			urlfetch_write_data(s, out, &data);
			continue;
		}
		/* RFC 5524 §3.2: the metadata items asked for, each in parentheses */
		if (ext->bodypartstructure)
			buf_printf(out, " (BODYPARTSTRUCTURE %s)", ext->structure);
		if (ext->binary && ext->undecodable) {
			buf_append_str(out, " (BINARY NIL)");
		} else if (ext->binary || ext->body) {
			buf_append_str(out, ext->binary ? " (BINARY " : " (BODY ");
			urlfetch_write_data(s, out, &data);
			buf_append_char(out, ')');
		}
	}
	buf_free(&data);
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
	imap_cmd_ok(s, "URLFETCH completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_genurlauth = { "GENURLAUTH", AUTHED, 0, cmd_genurlauth };
const struct imap_command imap_cmd_def_resetkey = { "RESETKEY", AUTHED, 0, cmd_resetkey };
const struct imap_command imap_cmd_def_urlfetch = { "URLFETCH", AUTHED, 0, cmd_urlfetch };
