/*
 * mime-header: splitting a header block into fields (RFC 5322 §2.2), the
 * unfolding of their values (§2.2.3), and the two header helpers FETCH and
 * SEARCH use directly (mime_header_filter, mime_header_get).
 *
 * Lines end at LF; a CR before it is part of the line end, so bare-LF mail
 * works with the same code. A header ends at the first empty line or at the
 * end of the data.
 */
#include "mime/mime-private.h"

#include <string.h>

#include "core/str.h"

/* Field names the tree builder keeps, in enum mime_header_id order. */
static const char *const mime_header_names[MIME_H_COUNT] = {
	"Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
	"Content-Disposition", "Content-Language", "Content-Location", "Content-MD5",
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID", "References",
};

/* RFC 5322 §2.2.3: WSP is space or horizontal tab. */
bool mime_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Where the line starting at pos ends: just past its LF, or end. */
static size_t mime_line_end(const char *data, size_t pos, size_t end)
{
	const char *lf = memchr(data + pos, '\n', end - pos);

	return lf ? (size_t)(lf - data) + 1 : end;
}

/* True when the line at pos is empty (CRLF, LF, or a lone CR at the end). */
static bool mime_line_is_blank(const char *data, size_t pos, size_t end)
{
	if (data[pos] == '\n')
		return true;
	return data[pos] == '\r' && (pos + 1 == end || data[pos + 1] == '\n');
}

/* One header field starting at *pos (RFC 5322 §2.2: a name, a colon, a value
 * whose continuation lines start with WSP). False at the blank line ending
 * the header or at the end of the data; *pos is then left there. */
bool mime_header_next(const char *data, size_t end, size_t *pos, struct mime_field *field_r)
{
	size_t p = *pos, line_end, colon;

	if (p >= end || mime_line_is_blank(data, p, end))
		return false;
	line_end = mime_line_end(data, p, end);
	const char *c = memchr(data + p, ':', line_end - p);
	field_r->start = p;
	field_r->name = data + p;
	field_r->has_colon = c != NULL;
	colon = c ? (size_t)(c - data) : line_end;
	field_r->name_len = colon - p;
	while (field_r->name_len > 0 && mime_is_wsp(field_r->name[field_r->name_len - 1]))
		field_r->name_len--;
	while (line_end < end && mime_is_wsp(data[line_end]))
		line_end = mime_line_end(data, line_end, end);
	field_r->value = c ? data + colon + 1 : data + line_end;
	field_r->value_len = c ? line_end - colon - 1 : 0;
	field_r->end = line_end;
	*pos = line_end;
	return true;
}

/* RFC 5322 §2.2.3: unfolding removes the line breaks, keeping the WSP that
 * follows them; leading and trailing white space of the value goes too, as
 * every IMAP server does for ENVELOPE strings. */
char *mime_unfold(struct arena *arena, const char *value, size_t len)
{
	char *out = arena_alloc(arena, len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			out[n++] = value[i];
	}
	size_t s = 0;
	while (s < n && mime_is_wsp(out[s]))
		s++;
	while (n > s && mime_is_wsp(out[n - 1]))
		n--;
	memmove(out, out + s, n - s);
	out[n - s] = '\0';
	return out;
}

/* Address fields that may be repeated: RFC 5322 §3.6 allows each once,
 * but mail with two Cc: lines exists, and (like Dovecot) we report all the
 * addresses rather than lose some. */
static bool mime_header_is_address(int id)
{
	return id == MIME_H_FROM || id == MIME_H_SENDER || id == MIME_H_REPLY_TO ||
	       id == MIME_H_TO || id == MIME_H_CC || id == MIME_H_BCC;
}

/* Keep the first occurrence of each field the parser needs, unfolded;
 * repeated address fields are joined with ", ". */
void mime_headers_collect(struct arena *arena, const char *data, size_t start, size_t end,
			  struct mime_headers *headers_r)
{
	struct buf joined[MIME_H_COUNT];
	struct mime_field f;
	size_t pos = start;

	memset(headers_r, 0, sizeof(*headers_r));
	memset(joined, 0, sizeof(joined));
	while (mime_header_next(data, end, &pos, &f)) {
		for (int i = 0; f.has_colon && i < MIME_H_COUNT; i++) {
			if (!str_eq_nocase_n(f.name, f.name_len, mime_header_names[i]))
				continue;
			if (headers_r->value[i] == NULL) {
				headers_r->value[i] = mime_unfold(arena, f.value, f.value_len);
			} else if (mime_header_is_address(i)) {
				if (joined[i].len == 0)
					buf_append_str(&joined[i], headers_r->value[i]);
				buf_append_str(&joined[i], ", ");
				buf_append_str(&joined[i], mime_unfold(arena, f.value, f.value_len));
			}
			break;
		}
	}
	for (int i = 0; i < MIME_H_COUNT; i++) {
		if (joined[i].len > 0)
			headers_r->value[i] = mime_buf_to_arena(arena, &joined[i]);
	}
}

/* True when the field's name is one of names[0..count). */
static bool mime_name_listed(const struct mime_field *f, const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (str_eq_nocase_n(f->name, f->name_len, names[i]))
			return true;
	}
	return false;
}

/* RFC 9051 §6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT: the matching fields as
 * they are in the message (folding kept), then the blank line. */
void mime_header_filter(const char *header, size_t len, const char *const *names, size_t count,
			bool exclude, struct buf *out)
{
	struct mime_field f;
	size_t pos = 0;

	while (mime_header_next(header, len, &pos, &f)) {
		if (!f.has_colon || mime_name_listed(&f, names, count) == exclude)
			continue;
		buf_append(out, header + f.start, f.end - f.start);
		if (header[f.end - 1] != '\n')
			buf_append(out, "\r\n", 2);
	}
	buf_append(out, "\r\n", 2);
}

/* The first field called name, unfolded; NULL when there is none. */
char *mime_header_get(struct arena *arena, const char *header, size_t len, const char *name)
{
	struct mime_field f;
	size_t pos = 0;

	while (mime_header_next(header, len, &pos, &f)) {
		if (f.has_colon && str_eq_nocase_n(f.name, f.name_len, name))
			return mime_unfold(arena, f.value, f.value_len);
	}
	return NULL;
}
