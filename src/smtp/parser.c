/*
 * parser: see parser.h. Pure functions over bytes; every length is checked
 * before it is used.
 */
#include "smtp/parser.h"
#include "core/str.h"

#include <ctype.h>
#include <string.h>

/* ---- command lines ----------------------------------------------------- */

enum smtp_line_status smtp_line_take(struct smtp_line_reader *reader, struct buf *in,
				     size_t max, struct arena *arena, char **line_r,
				     size_t *len_r)
{
	size_t look = in->len < max ? in->len : max;
	const char *lf = memchr(in->data, '\n', look);

	if (lf == NULL) {
		if (!reader->skipping && in->len < max)
			return SMTP_LINE_NEED_MORE;
		/* Over the limit: skip up to the line's end if it is here,
		 * else drop what we have and keep skipping. */
		reader->skipping = true;
		lf = memchr(in->data, '\n', in->len);
		if (lf == NULL) {
			buf_consume(in, in->len);
			return SMTP_LINE_NEED_MORE;
		}
	}
	size_t end = (size_t)(lf - in->data);
	if (reader->skipping) {
		reader->skipping = false;
		buf_consume(in, end + 1);
		return SMTP_LINE_TOO_LONG;
	}
	size_t len = end > 0 && in->data[end - 1] == '\r' ? end - 1 : end;
	*line_r = arena_strndup(arena, in->data, len);
	*len_r = len;
	buf_consume(in, end + 1);
	return SMTP_LINE_OK;
}

/* ---- verbs --------------------------------------------------------------- */

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "AUTH", SMTP_VERB_AUTH }, { "BDAT", SMTP_VERB_BDAT }, { "BURL", SMTP_VERB_BURL },
	{ "DATA", SMTP_VERB_DATA },
	{ "EHLO", SMTP_VERB_EHLO }, { "EXPN", SMTP_VERB_EXPN }, { "HELO", SMTP_VERB_HELO },
	{ "HELP", SMTP_VERB_HELP }, { "LHLO", SMTP_VERB_LHLO }, { "MAIL", SMTP_VERB_MAIL },
	{ "NOOP", SMTP_VERB_NOOP }, { "QUIT", SMTP_VERB_QUIT }, { "RCPT", SMTP_VERB_RCPT },
	{ "RSET", SMTP_VERB_RSET }, { "STARTTLS", SMTP_VERB_STARTTLS },
	{ "VRFY", SMTP_VERB_VRFY },
};

enum smtp_verb smtp_parse_verb(const char *line, const char **args_r)
{
	size_t n = strcspn(line, " ");
	enum smtp_verb verb = SMTP_VERB_UNKNOWN;

	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++) {
		if (str_eq_nocase_n(line, n, smtp_verbs[i].name)) {
			verb = smtp_verbs[i].verb;
			break;
		}
	}
	*args_r = line[n] == ' ' ? line + n + 1 : line + n;
	/* RFC 5321 §4.1.1.2, §4.1.1.3: "MAIL FROM:" and "RCPT TO:" are one
	 * token; without it the command is a syntax error (args NULL). */
	if (verb == SMTP_VERB_MAIL || verb == SMTP_VERB_RCPT) {
		const char *key = verb == SMTP_VERB_MAIL ? "FROM:" : "TO:";
		if (str_has_prefix_nocase(*args_r, key))
			*args_r += strlen(key);
		else
			*args_r = NULL;
	}
	return verb;
}

/* ---- paths ------------------------------------------------------------------- */

/* RFC 5322 atext, plus any UTF-8 byte (RFC 6531 §3.3). */
static bool smtp_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL || c >= 0x80;
}

/* local-part = Dot-string / Quoted-string (RFC 5321 §4.1.2). */
static bool smtp_valid_local_part(const char *s, size_t len)
{
	if (len == 0 || len > SMTP_LOCAL_PART_MAX)
		return false;
	if (s[0] == '"') {
		if (len < 2 || s[len - 1] != '"')
			return false;
		for (size_t i = 1; i < len - 1; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				if (++i >= len - 1 || (unsigned char)s[i] < 32 || s[i] == 127)
					return false;
			} else if (c < 32 || c == 127 || c == '"') {
				return false;
			}
		}
		return true;
	}
	if (s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !smtp_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Domain (labels of letters, digits, '-', UTF-8) or an address literal. */
static bool smtp_valid_domain(const char *s, size_t len)
{
	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return false;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return false;
		for (size_t i = 1; i < len - 1; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c <= 32 || c >= 127 || c == '[' || c == ']' || c == '\\')
				return false;
		}
		return true;
	}
	if (s[0] == '.' || s[0] == '-' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' ? s[i + 1] == '.' : !(isalnum(c) || c == '-' || c >= 0x80))
			return false;
	}
	return true;
}

/* mailbox = local-part "@" domain; the '@' that separates them is the last
 * one outside a quoted local part. */
static bool smtp_valid_mailbox(const char *s, size_t len)
{
	const char *at = NULL;

	if (len > 0 && s[0] == '"') {
		size_t i = 1;
		while (i < len && s[i] != '"')
			i += s[i] == '\\' ? 2 : 1;
		if (i + 1 >= len || s[i + 1] != '@')
			return false;
		at = s + i + 1;
	} else {
		at = memchr(s, '@', len);
		if (at == NULL)
			return false;
	}
	return smtp_valid_local_part(s, (size_t)(at - s)) &&
	       smtp_valid_domain(at + 1, len - (size_t)(at - s) - 1);
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). */
static bool smtp_valid_keyword(const char *s, size_t len)
{
	if (len == 0 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531 §3.3). */
static bool smtp_valid_value(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c == '=' || c == 127)
			return false;
	}
	return true;
}

static int smtp_parse_params(struct arena *arena, const char *p, struct smtp_path_args *out,
			     const char **error_r)
{
	while (*p != '\0') {
		if (*p != ' ') {
			*error_r = "501 5.5.4 Syntax error in parameters";
			return -1;
		}
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq != NULL ? (size_t)(eq - p) : n;
		if (!smtp_valid_keyword(p, klen) ||
		    (eq != NULL && !smtp_valid_value(eq + 1, n - klen - 1))) {
			*error_r = "501 5.5.4 Syntax error in parameters";
			return -1;
		}
		if (out->param_count == SMTP_PARAMS_MAX) {
			*error_r = "501 5.5.4 Too many parameters";
			return -1;
		}
		struct smtp_param *param = &out->params[out->param_count++];
		param->name = arena_strndup(arena, p, klen);
		for (char *c = param->name; *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
		param->value = eq != NULL ? arena_strndup(arena, eq + 1, n - klen - 1) : NULL;
		p += n;
	}
	return 0;
}

int smtp_parse_path_args(struct arena *arena, const char *args, bool allow_empty,
			 bool allow_postmaster, struct smtp_path_args *out_r,
			 const char **error_r)
{
	const char *bad = allow_empty ? "501 5.1.7 Bad sender address syntax" :
					"501 5.1.3 Bad recipient address syntax";
	const char *p = args, *start, *end;

	memset(out_r, 0, sizeof(*out_r));
	while (*p == ' ')
		p++;
	if (*p != '<') {
		*error_r = "501 5.5.4 Syntax: expected <address>";
		return -1;
	}
	start = p + 1;
	/* The closing '>', outside a quoted local part. */
	bool quoted = false;
	for (end = start; *end != '\0'; end++) {
		if (quoted && *end == '\\' && end[1] != '\0')
			end++;
		else if (*end == '"')
			quoted = !quoted;
		else if (!quoted && *end == '>')
			break;
	}
	if (*end != '>') {
		*error_r = bad;
		return -1;
	}
	if ((size_t)(end - p + 1) > SMTP_PATH_MAX) {
		*error_r = "501 5.5.4 Path too long";
		return -1;
	}
	/* RFC 5321 §4.1.2 / C: a source route "@a,@b:" is accepted and ignored. */
	if (*start == '@') {
		const char *colon = memchr(start, ':', (size_t)(end - start));
		if (colon == NULL) {
			*error_r = bad;
			return -1;
		}
		start = colon + 1;
	}
	size_t len = (size_t)(end - start);
	if (len == 0) {
		if (!allow_empty) {
			*error_r = bad;
			return -1;
		}
	} else if (!(allow_postmaster && str_eq_nocase_n(start, len, "postmaster")) &&
		   !smtp_valid_mailbox(start, len)) {
		*error_r = bad;
		return -1;
	}
	out_r->address = arena_strndup(arena, start, len);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)start[i] >= 0x80)
			out_r->utf8 = true;
	}
	return smtp_parse_params(arena, end + 1, out_r, error_r);
}

const struct smtp_param *smtp_param_find(const struct smtp_path_args *args, const char *name)
{
	for (size_t i = 0; i < args->param_count; i++) {
		if (strcmp(args->params[i].name, name) == 0)
			return &args->params[i];
	}
	return NULL;
}

const char *smtp_address_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

/* ---- DATA ------------------------------------------------------------------ */

enum {
	SMTP_DATA_LINE_START, /* at the start of a line (also right after DATA) */
	SMTP_DATA_MIDDLE,     /* inside a line */
	SMTP_DATA_CR,         /* after a CR inside a line */
	SMTP_DATA_DOT,        /* after a '.' at the start of a line */
	SMTP_DATA_DOT_CR,     /* after ".\r" at the start of a line */
};

void smtp_data_init(struct smtp_data_reader *reader)
{
	memset(reader, 0, sizeof(*reader));
}

size_t smtp_data_feed(struct smtp_data_reader *reader, const char *in, size_t len,
		      struct buf *out, uint64_t max, bool *done_r)
{
	/* Un-stuffing never grows the data except ".\rX", which gives back the
	 * CR held since the previous call: at most one byte more. */
	bool keep = !reader->too_big;
	char *w = keep ? buf_reserve(out, len + 1) : NULL;
	size_t produced = 0, i;
	int state = reader->state;

	*done_r = false;
#define SMTP_EMIT(c) (keep ? (void)(w[produced++] = (char)(c)) : (void)produced++)
	for (i = 0; i < len && !*done_r; i++) {
		unsigned char c = (unsigned char)in[i];
		switch (state) {
		case SMTP_DATA_LINE_START:
			if (c == '.') {
				state = SMTP_DATA_DOT;
				break;
			}
			/* fall through */
		case SMTP_DATA_MIDDLE:
			SMTP_EMIT(c);
			state = c == '\r' ? SMTP_DATA_CR : SMTP_DATA_MIDDLE;
			break;
		case SMTP_DATA_CR:
			SMTP_EMIT(c);
			state = c == '\n' ? SMTP_DATA_LINE_START :
			        c == '\r' ? SMTP_DATA_CR : SMTP_DATA_MIDDLE;
			break;
		case SMTP_DATA_DOT:
			/* RFC 5321 §4.5.2: the first '.' of a line is dropped. */
			if (c == '\r') {
				state = SMTP_DATA_DOT_CR;
				break;
			}
			SMTP_EMIT(c);
			state = SMTP_DATA_MIDDLE;
			break;
		case SMTP_DATA_DOT_CR:
			if (c == '\n') {
				*done_r = true;
				state = SMTP_DATA_LINE_START;
				break;
			}
			SMTP_EMIT('\r');
			SMTP_EMIT(c);
			state = c == '\n' ? SMTP_DATA_LINE_START :
			        c == '\r' ? SMTP_DATA_CR : SMTP_DATA_MIDDLE;
			break;
		}
	}
#undef SMTP_EMIT
	reader->state = state;
	reader->size += produced;
	if (reader->size > max)
		reader->too_big = true;
	if (!reader->too_big)
		buf_commit(out, produced);
	else if (keep)
		buf_free(out); /* what was kept is useless now */
	return i;
}

/* ---- small helpers ---------------------------------------------------------- */

bool smtp_valid_domain_arg(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 32 || c == 127)
			return false;
	}
	return true;
}

bool smtp_valid_xtext(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '+') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
				return false;
			s += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		}
	}
	return true;
}
