/*
 * parser: see parser.h. The framer works on the connection's input buffer and
 * copies each complete command into its own buffer, so the lexer always sees
 * a whole command and never has to suspend in the middle of a token.
 */
#include "imap/parser.h"
#include "core/str.h"

#include <string.h>

void imap_frame_init(struct imap_frame *frame, uint64_t max_literal)
{
	memset(frame, 0, sizeof(*frame));
	frame->max_literal = max_literal;
}

void imap_frame_free(struct imap_frame *frame)
{
	buf_free(&frame->command);
}

/* Ready for the next command. An over-long line that is still arriving stays
 * in "skipping" until its end, so the stream resynchronises on a line. */
void imap_frame_reset(struct imap_frame *frame)
{
	if (frame->command.cap > IMAP_MAX_LINE)
		buf_free(&frame->command); /* don't keep an APPEND's memory */
	else
		buf_clear(&frame->command);
	frame->literal_left = 0;
	frame->line_start = 0;
	frame->error = NULL;
	frame->error_toobig = false;
}

/* Only APPEND and [UID] REPLACE (RFC 8508) carry message-sized literals
 * (CATENATE's TEXT parts included), and only once the client has logged in
 * (nobody may make us buffer megabytes before that); every other literal
 * is limited to IMAP_MAX_SMALL_LITERAL. */
static bool frame_allows_big_literal(const struct imap_frame *frame)
{
	const char *s = frame->command.data;
	size_t len = frame->command.len;
	size_t i = 0;

	if (!frame->big_literals)
		return false;
	while (i < len && s[i] != ' ')
		i++;
	i++;
	if (i >= len)
		return false;
	if (str_has_prefix_nocase(s + i, "REPLACE ") || str_has_prefix_nocase(s + i, "UID REPLACE "))
		return true;
	return str_has_prefix_nocase(s + i, "APPEND ") || str_has_prefix_nocase(s + i, "APPEND{");
}

/* Does the line [start, end) (without CRLF) end in a literal announcement?
 * Returns 1 with the size and whether it is synchronizing, 0 if not, -1 if
 * it looks like one but the number is malformed or too large. */
static int frame_literal_size(const char *start, const char *end, uint64_t *size_r, bool *sync_r)
{
	const char *p;
	bool nonsync = false;

	if (end == start || end[-1] != '}')
		return 0;
	p = end - 1;
	if (p > start && p[-1] == '+') {
		nonsync = true;
		p--;
	}
	const char *digits_end = p;
	while (p > start && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == start || p[-1] != '{')
		return 0;
	*sync_r = !nonsync;
	if (p == digits_end || str_parse_u64(p, (size_t)(digits_end - p), size_r) < 0)
		return -1;
	return 1;
}

static enum imap_frame_status frame_fail(struct imap_frame *frame, const char *error, bool toobig,
					  enum imap_frame_status status)
{
	frame->error = error;
	frame->error_toobig = toobig;
	return status;
}

/* A line has just been completed: decide whether a literal follows. */
static enum imap_frame_status frame_line_done(struct imap_frame *frame)
{
	const char *start = frame->command.data + frame->line_start;
	const char *end = frame->command.data + frame->command.len;
	uint64_t size;
	bool sync = true;

	if (end > start && end[-1] == '\n')
		end--;
	if (end > start && end[-1] == '\r')
		end--;
	int r = frame_literal_size(start, end, &size, &sync);
	if (r == 0)
		return IMAP_FRAME_COMPLETE;
	/* A bad LITERAL+ size: its bytes are on their way and we cannot know
	 * how many, so the stream is lost (RFC 7888 §4). */
	if (r < 0)
		return frame_fail(frame, "Invalid literal size", false,
				  sync ? IMAP_FRAME_ERROR : IMAP_FRAME_FATAL);
	bool big = frame_allows_big_literal(frame);
	uint64_t limit = big ? frame->max_literal : IMAP_MAX_SMALL_LITERAL;
	/* MULTIAPPEND (RFC 3502) may carry several messages, but one command
	 * holds at most one maximal message plus IMAP_MAX_APPEND_EXTRA in
	 * memory, plus the small arguments around them. */
	uint64_t total = big ? frame->max_literal + IMAP_MAX_APPEND_EXTRA + IMAP_MAX_COMMAND :
			       IMAP_MAX_COMMAND;
	bool too_big = size > limit || frame->command.len + size > total;
	if (too_big) {
		/* RFC 7888 §4: a refused non-synchronizing literal is already on
		 * its way; we cannot find the next command, so we close. */
		return frame_fail(frame, "Literal too big", true,
				  sync ? IMAP_FRAME_ERROR : IMAP_FRAME_FATAL);
	}
	frame->literal_left = size;
	if (size == 0) {
		frame->line_start = frame->command.len;
		return IMAP_FRAME_NEED_MORE;
	}
	buf_reserve(&frame->command, (size_t)size);
	return sync ? IMAP_FRAME_CONTINUE : IMAP_FRAME_NEED_MORE;
}

/* Copy literal bytes. Returns true when the literal is complete. */
static bool frame_take_literal(struct imap_frame *frame, struct buf *in)
{
	size_t n = in->len < frame->literal_left ? in->len : (size_t)frame->literal_left;

	buf_append(&frame->command, in->data, n);
	buf_consume(in, n);
	frame->literal_left -= n;
	if (frame->literal_left > 0)
		return false;
	frame->line_start = frame->command.len;
	return true;
}

/* Discard the rest of an over-long line. Returns true once its LF is gone. */
static bool frame_skip_line(struct imap_frame *frame, struct buf *in)
{
	char *lf = memchr(in->data, '\n', in->len);

	if (lf == NULL) {
		buf_consume(in, in->len);
		return false;
	}
	buf_consume(in, (size_t)(lf - in->data) + 1);
	frame->skipping = false;
	return true;
}

enum imap_frame_status imap_frame_feed(struct imap_frame *frame, struct buf *in)
{
	for (;;) {
		if (frame->skipping && !frame_skip_line(frame, in))
			return IMAP_FRAME_NEED_MORE;
		if (frame->literal_left > 0) {
			if (!frame_take_literal(frame, in))
				return IMAP_FRAME_NEED_MORE;
			continue;
		}
		if (in->len == 0)
			return IMAP_FRAME_NEED_MORE;
		char *lf = memchr(in->data, '\n', in->len);
		size_t take = lf ? (size_t)(lf - in->data) + 1 : in->len;
		if (frame->command.len - frame->line_start + take > IMAP_MAX_LINE) {
			frame->skipping = lf == NULL;
			buf_consume(in, take);
			return frame_fail(frame, "Line too long", true, IMAP_FRAME_ERROR);
		}
		buf_append(&frame->command, in->data, take);
		buf_consume(in, take);
		if (lf == NULL)
			return IMAP_FRAME_NEED_MORE;
		enum imap_frame_status status = frame_line_done(frame);
		if (status != IMAP_FRAME_NEED_MORE)
			return status;
	}
}

int imap_frame_line(struct imap_frame *frame, struct buf *in)
{
	char *lf = memchr(in->data, '\n', in->len);
	size_t take = lf ? (size_t)(lf - in->data) + 1 : in->len;

	if (frame->command.len + take > IMAP_MAX_LINE) {
		buf_consume(in, take);
		frame->skipping = lf == NULL;
		return -1;
	}
	buf_append(&frame->command, in->data, take);
	buf_consume(in, take);
	if (lf == NULL)
		return 0;
	struct buf *c = &frame->command;
	c->len--;
	if (c->len > 0 && c->data[c->len - 1] == '\r')
		c->len--;
	c->data[c->len] = '\0';
	return 1;
}

/* ---- lexing ------------------------------------------------------------- */

void imap_parser_init(struct imap_parser *parser, struct arena *arena, const char *data,
		      size_t len)
{
	parser->p = data;
	parser->end = data + len;
	parser->arena = arena;
	parser->error = NULL;
}

bool imap_parser_fail(struct imap_parser *parser, const char *error)
{
	if (parser->error == NULL)
		parser->error = error;
	return false;
}

/* RFC 9051 §9: atom-specials are ( ) { SP CTL % * " \ ] */
static bool imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

bool imap_parse_sp(struct imap_parser *parser)
{
	if (parser->p < parser->end && *parser->p == ' ') {
		parser->p++;
		return true;
	}
	return imap_parser_fail(parser, "Expected a space");
}

bool imap_at_end(const struct imap_parser *parser)
{
	const char *p = parser->p;

	if (p < parser->end && *p == '\r')
		p++;
	if (p < parser->end && *p == '\n')
		p++;
	return p == parser->end;
}

bool imap_parse_eol(struct imap_parser *parser)
{
	if (imap_at_end(parser)) {
		parser->p = parser->end;
		return true;
	}
	return imap_parser_fail(parser, "Unexpected extra arguments");
}

bool imap_peek_char(const struct imap_parser *parser, char c)
{
	return parser->p < parser->end && *parser->p == c;
}

bool imap_parse_char(struct imap_parser *parser, char c)
{
	if (imap_peek_char(parser, c)) {
		parser->p++;
		return true;
	}
	return imap_parser_fail(parser, "Unexpected character");
}

bool imap_parse_tag(struct imap_parser *parser, char **tag_r)
{
	const char *start = parser->p;

	while (parser->p < parser->end &&
	       (imap_is_atom_char((unsigned char)*parser->p) || *parser->p == ']') &&
	       *parser->p != '+')
		parser->p++;
	if (parser->p == start)
		return imap_parser_fail(parser, "Missing tag");
	*tag_r = arena_strndup(parser->arena, start, (size_t)(parser->p - start));
	return true;
}

bool imap_parse_atom(struct imap_parser *parser, char **atom_r)
{
	const char *start = parser->p;

	while (parser->p < parser->end && imap_is_atom_char((unsigned char)*parser->p))
		parser->p++;
	if (parser->p == start)
		return imap_parser_fail(parser, "Expected an atom");
	*atom_r = arena_strndup(parser->arena, start, (size_t)(parser->p - start));
	return true;
}

bool imap_parse_word(struct imap_parser *parser, const char *stop, char **word_r)
{
	const char *start = parser->p;
	int depth = 0;

	/* Spaces and parentheses inside [...] belong to the word:
	 * BODY[HEADER.FIELDS (FROM TO)]. */
	while (parser->p < parser->end) {
		unsigned char c = (unsigned char)*parser->p;
		if (c == '[')
			depth++;
		else if (c == ']' && depth > 0)
			depth--;
		else if (depth == 0 && (c <= 0x20 || c >= 0x7f || strchr(stop, c) != NULL))
			break;
		else if (c < 0x20 || c == 0x7f)
			break;
		parser->p++;
	}
	if (parser->p == start || depth != 0) {
		parser->p = start;
		return imap_parser_fail(parser, "Expected a word");
	}
	*word_r = arena_strndup(parser->arena, start, (size_t)(parser->p - start));
	return true;
}

bool imap_parse_literal_ref(struct imap_parser *parser, const char **data_r, size_t *len_r,
			    bool *binary_r)
{
	const char *p = parser->p;
	uint64_t n = 0;
	bool binary = false;

	if (p < parser->end && *p == '~') {
		binary = true;
		p++;
	}
	if (p >= parser->end || *p != '{')
		return imap_parser_fail(parser, "Expected a literal");
	p++;
	const char *digits = p;
	while (p < parser->end && *p >= '0' && *p <= '9')
		p++;
	if (str_parse_u64(digits, (size_t)(p - digits), &n) < 0)
		return imap_parser_fail(parser, "Invalid literal");
	if (p < parser->end && *p == '+')
		p++;
	if (p >= parser->end || *p != '}')
		return imap_parser_fail(parser, "Invalid literal");
	p++;
	if (p < parser->end && *p == '\r')
		p++;
	if (p >= parser->end || *p != '\n')
		return imap_parser_fail(parser, "Invalid literal");
	p++;
	if ((uint64_t)(parser->end - p) < n)
		return imap_parser_fail(parser, "Truncated literal");
	*data_r = p;
	*len_r = (size_t)n;
	*binary_r = binary;
	parser->p = p + n;
	return true;
}

/* Well-formed UTF-8 (RFC 3629 §4): no overlong forms, no surrogates, at
 * most U+10FFFF. */
bool imap_utf8_valid(const char *s, size_t len)
{
	if (len == 0)
		return true;
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p++;
		int n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			c >= 0xf0 && c <= 0xf4 ? 3 : -1;
		if (n < 0 || end - p < n)
			return false;
		unsigned cp = n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
	}
	return true;
}

static bool imap_parse_quoted(struct imap_parser *parser, char **str_r, size_t *len_r)
{
	const char *p = parser->p + 1;
	struct buf tmp = BUF_INIT;

	for (; p < parser->end && *p != '"'; p++) {
		if (*p == '\r' || *p == '\n' || *p == '\0')
			break;
		if (*p == '\\') {
			p++;
			if (p >= parser->end || (*p != '"' && *p != '\\'))
				break;
		}
		buf_append_char(&tmp, *p);
	}
	if (p >= parser->end || *p != '"') {
		buf_free(&tmp);
		return imap_parser_fail(parser, "Invalid quoted string");
	}
	/* RFC 6855 §3 / RFC 9051 utf8-quoted: 8-bit must be well-formed UTF-8 */
	if (!imap_utf8_valid(tmp.data, tmp.len)) {
		buf_free(&tmp);
		return imap_parser_fail(parser, "Invalid UTF-8 in quoted string");
	}
	*str_r = arena_memdup(parser->arena, tmp.data ? tmp.data : "", tmp.len);
	*len_r = tmp.len;
	buf_free(&tmp);
	parser->p = p + 1;
	return true;
}

bool imap_parse_string(struct imap_parser *parser, char **str_r, size_t *len_r)
{
	const char *data;
	size_t len;
	bool binary;

	if (imap_peek_char(parser, '"'))
		return imap_parse_quoted(parser, str_r, len_r);
	if (!imap_parse_literal_ref(parser, &data, &len, &binary))
		return false;
	*str_r = arena_memdup(parser->arena, data, len);
	*len_r = len;
	return true;
}

bool imap_parse_astring(struct imap_parser *parser, char **str_r, size_t *len_r)
{
	const char *start = parser->p;

	if (imap_peek_char(parser, '"') || imap_peek_char(parser, '{') || imap_peek_char(parser, '~'))
		return imap_parse_string(parser, str_r, len_r);
	while (parser->p < parser->end &&
	       (imap_is_atom_char((unsigned char)*parser->p) || *parser->p == ']'))
		parser->p++;
	if (parser->p == start)
		return imap_parser_fail(parser, "Expected a string");
	*len_r = (size_t)(parser->p - start);
	*str_r = arena_strndup(parser->arena, start, *len_r);
	return true;
}

bool imap_parse_nstring(struct imap_parser *parser, char **str_r, size_t *len_r)
{
	if ((size_t)(parser->end - parser->p) >= 3 && str_eq_nocase_n(parser->p, 3, "NIL") &&
	    (parser->end - parser->p == 3 || !imap_is_atom_char((unsigned char)parser->p[3]))) {
		parser->p += 3;
		*str_r = NULL;
		*len_r = 0;
		return true;
	}
	return imap_parse_string(parser, str_r, len_r);
}

bool imap_parse_number64(struct imap_parser *parser, uint64_t *n_r)
{
	const char *start = parser->p;

	while (parser->p < parser->end && *parser->p >= '0' && *parser->p <= '9')
		parser->p++;
	if (str_parse_u64(start, (size_t)(parser->p - start), n_r) < 0) {
		parser->p = start;
		return imap_parser_fail(parser, "Expected a number");
	}
	return true;
}

bool imap_parse_number(struct imap_parser *parser, uint32_t *n_r)
{
	const char *start = parser->p;
	uint64_t n;

	if (!imap_parse_number64(parser, &n))
		return false;
	if (n > UINT32_MAX) {
		parser->p = start;
		return imap_parser_fail(parser, "Number too large");
	}
	*n_r = (uint32_t)n;
	return true;
}

/* ---- output helpers ------------------------------------------------------- */

/* Quoted strings cannot hold CR, LF or NUL; 8-bit only for UTF-8 clients.
 * Long values go as literals, which is cheaper for the client to parse. */
static bool imap_can_quote(const char *s, size_t len, bool utf8)
{
	if (len > 1024)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			return false;
	}
	return true;
}

void imap_write_string(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (!imap_can_quote(s, len, utf8)) {
		buf_printf(out, "{%zu}\r\n", len);
		buf_append(out, s, len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, s[i]);
	}
	buf_append_char(out, '"');
}

void imap_write_nstring(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (s == NULL)
		buf_append_str(out, "NIL");
	else
		imap_write_string(out, s, len, utf8);
}

void imap_write_astring(struct buf *out, const char *s, bool utf8)
{
	size_t len = strlen(s);
	bool atom = len > 0 && !str_eq_nocase(s, "NIL");

	for (size_t i = 0; atom && i < len; i++)
		atom = imap_is_atom_char((unsigned char)s[i]) || s[i] == ']';
	if (atom)
		buf_append(out, s, len);
	else
		imap_write_string(out, s, len, utf8);
}
