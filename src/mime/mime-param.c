/*
 * mime-param: Content-Type (RFC 2045 §5.1) and Content-Disposition
 * (RFC 2183) values: a type, then ";"-separated attribute=value parameters,
 * with RFC 2231 continuations and charsets.
 *
 * The choice for RFC 2231 parameters, documented because servers differ:
 * RFC 9051 §7.5.2 says continuations "baz*0", "baz*1" are joined and
 * returned as "baz", and extended ones "foo*0*", "foo*1*" are decoded,
 * converted to UTF-8, joined and returned as "foo*". We do exactly that and
 * keep "foo*" in RFC 2231 §4 form, so clients that decode it still can:
 * the value is "utf-8'LANG'" followed by the UTF-8 bytes percent-encoded
 * where RFC 2231 requires. (Dovecot also reports "FILENAME*"
 * "utf-8''...", joined, so clients see the same shape from both.)
 */
#include "mime/mime-private.h"

#include <string.h>
#include <strings.h>

#include "core/str.h"

/* RFC 2045 §5.1 tspecials. */
static bool mime_is_tspecial(char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool mime_is_token_char(char c)
{
	return (unsigned char)c > ' ' && c != 0x7F && !mime_is_tspecial(c);
}

/* Skip white space and RFC 5322 §3.2.2 comments (nested, with quoted pairs). */
static const char *mime_skip_cfws(const char *p)
{
	for (;;) {
		while (mime_is_wsp(*p))
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

static char *mime_read_token(struct arena *arena, const char **pp)
{
	const char *s = *pp, *p = s;

	while (mime_is_token_char(*p))
		p++;
	*pp = p;
	return arena_strndup(arena, s, (size_t)(p - s));
}

/* A quoted-string (RFC 5322 §3.2.4) at *pp, unquoted; an unclosed one runs
 * to the end. */
static char *mime_read_quoted(struct arena *arena, const char **pp)
{
	const char *p = *pp + 1;
	char *out = arena_alloc(arena, strlen(p) + 1);
	size_t n = 0;

	for (; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
	*pp = *p == '"' ? p + 1 : p;
	return out;
}

/* A parameter value: a quoted-string, or, leniently, anything up to ";",
 * white space or a comment (real boundaries carry unquoted "=" and "."). */
static char *mime_read_value(struct arena *arena, const char **pp)
{
	const char *s = *pp, *p = s;

	if (*s == '"')
		return mime_read_quoted(arena, pp);
	while (*p != '\0' && *p != ';' && !mime_is_wsp(*p) && *p != '(')
		p++;
	*pp = p;
	return arena_strndup(arena, s, (size_t)(p - s));
}

/* RFC 2231 §3: the base name of "name*3*" and its section and flags. */
struct mime_param_name {
	size_t base_len;
	int section;   /* -1 when the name has no section number */
	bool extended; /* a trailing "*": the value is charset'lang'%XX */
};

static void mime_param_name_split(const char *name, struct mime_param_name *r)
{
	const char *star = strchr(name, '*');
	uint32_t sec;

	r->base_len = star ? (size_t)(star - name) : strlen(name);
	r->section = -1;
	r->extended = false;
	if (star == NULL)
		return;
	if (strcmp(star, "*") == 0) {
		r->extended = true;
		return;
	}
	size_t digits = strspn(star + 1, "0123456789");
	const char *after = star + 1 + digits;
	if (digits > 0 && str_parse_u32(star + 1, digits, &sec) == 0 &&
	    sec < MIME_MAX_PARAM_SECTIONS && (*after == '\0' || strcmp(after, "*") == 0)) {
		r->section = (int)sec;
		r->extended = *after == '*';
		return;
	}
	r->base_len = strlen(name); /* not RFC 2231: an ordinary name */
}

/* RFC 2231 §7 attribute-char: what may stand unencoded in an extended value. */
static bool mime_is_attribute_char(char c)
{
	return mime_is_token_char(c) && c != '*' && c != '\'' && c != '%' &&
	       (unsigned char)c < 0x80;
}

/* Percent-decode one extended segment (RFC 2231 §4). */
static void mime_pct_decode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		const char *h1 = s[1] ? strchr(hex, s[1] | 0x20) : NULL;
		const char *h2 = h1 && s[2] ? strchr(hex, s[2] | 0x20) : NULL;
		if (*s == '%' && h1 && h2) {
			buf_append_char(out, (char)((h1 - hex) * 16 + (h2 - hex)));
			s += 2;
		} else {
			buf_append_char(out, *s);
		}
	}
}

/* An RFC 2231 §4 value (after "charset'lang'") percent-decoded. */
char *mime_param_pct_decode(struct arena *arena, const char *s)
{
	struct buf out = BUF_INIT;

	mime_pct_decode(&out, s);
	return mime_buf_to_arena(arena, &out);
}

/* Join the sections of one extended parameter into "utf-8'lang'%XX..". */
static char *mime_param_join_extended(struct arena *arena, char *const *seg,
				      const bool *ext, size_t count)
{
	struct buf raw = BUF_INIT, utf8 = BUF_INIT, out = BUF_INIT;
	const char *charset = "", *lang = "";
	const char *first = seg[0];

	if (ext[0]) {
		char *q1 = strchr(seg[0], '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
		if (q2 != NULL) {
			*q1 = *q2 = '\0';
			charset = seg[0];
			lang = q1 + 1;
			first = q2 + 1;
		}
	}
	for (size_t i = 0; i < count; i++) {
		const char *s = i == 0 ? first : seg[i];
		if (ext[i])
			mime_pct_decode(&raw, s);
		else
			buf_append_str(&raw, s);
	}
	mime_append_utf8(&utf8, charset, raw.data ? raw.data : "", raw.len);
	buf_printf(&out, "utf-8'%s'", lang);
	for (size_t i = 0; i < utf8.len; i++) {
		if (mime_is_attribute_char(utf8.data[i]))
			buf_append_char(&out, utf8.data[i]);
		else
			buf_printf(&out, "%%%02X", (unsigned char)utf8.data[i]);
	}
	buf_free(&raw);
	buf_free(&utf8);
	return mime_buf_to_arena(arena, &out);
}

/* Which reported parameter a raw one feeds: its base name and whether it
 * is plain ("name"), extended ("name*") or sectioned ("name*0", "name*1*"). */
static bool mime_param_same(const char *a, const char *b)
{
	struct mime_param_name pa, pb;

	mime_param_name_split(a, &pa);
	mime_param_name_split(b, &pb);
	if (pa.base_len != pb.base_len || (pa.section >= 0) != (pb.section >= 0))
		return false;
	if (pa.section < 0 && pa.extended != pb.extended)
		return false;
	return strncasecmp(a, b, pa.base_len) == 0;
}

/* Collect the RFC 2231 sections of the parameter whose base name is that
 * of raw[first], join them and add the result to ctype. */
static void mime_param_join(struct arena *arena, const struct mime_param *raw, size_t count,
			    size_t first, struct mime_ctype *ctype)
{
	char *seg[MIME_MAX_PARAM_SECTIONS] = { NULL };
	bool ext[MIME_MAX_PARAM_SECTIONS] = { false };
	struct mime_param_name pn, qn;
	size_t n = 0;
	bool any_ext = false;

	mime_param_name_split(raw[first].name, &pn);
	for (size_t i = first; i < count; i++) {
		mime_param_name_split(raw[i].name, &qn);
		if (qn.section < 0 || seg[qn.section] != NULL ||
		    !mime_param_same(raw[first].name, raw[i].name))
			continue;
		seg[qn.section] = arena_strdup(arena, raw[i].value);
		ext[qn.section] = qn.extended;
	}
	while (n < MIME_MAX_PARAM_SECTIONS && seg[n] != NULL)
		any_ext |= ext[n++];
	if (n == 0)
		return;
	struct mime_param *out = &ctype->params[ctype->param_count++];
	if (!any_ext) {
		struct buf joined = BUF_INIT;
		for (size_t i = 0; i < n; i++)
			buf_append_str(&joined, seg[i]);
		out->name = arena_strndup(arena, raw[first].name, pn.base_len);
		out->value = mime_buf_to_arena(arena, &joined);
		return;
	}
	out->name = arena_printf(arena, "%.*s*", (int)pn.base_len, raw[first].name);
	out->value = mime_param_join_extended(arena, seg, ext, n);
}

/* True when raw[i] belongs to a parameter already reported (a duplicate or
 * a later section). */
static bool mime_param_seen(const struct mime_param *raw, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (mime_param_same(raw[j].name, raw[i].name))
			return true;
	}
	return false;
}

/* RFC 2231: turn the raw attribute=value list into the reported one. */
static void mime_params_finish(struct arena *arena, const struct mime_param *raw, size_t count,
			       struct mime_ctype *ctype)
{
	struct mime_param_name pn;

	ctype->params = arena_alloc(arena, (count ? count : 1) * sizeof(*ctype->params));
	ctype->param_count = 0;
	for (size_t i = 0; i < count; i++) {
		if (mime_param_seen(raw, i))
			continue;
		mime_param_name_split(raw[i].name, &pn);
		if (pn.section >= 0) {
			mime_param_join(arena, raw, count, i, ctype);
		} else if (pn.extended) {
			bool e = true;
			char *v = arena_strdup(arena, raw[i].value);
			struct mime_param *out = &ctype->params[ctype->param_count++];
			out->name = raw[i].name;
			out->value = mime_param_join_extended(arena, &v, &e, 1);
		} else {
			ctype->params[ctype->param_count++] = raw[i];
		}
	}
}

/* Parse the ";" parameter list at p into raw[]; returns how many. */
static size_t mime_params_read(struct arena *arena, const char *p, struct mime_param *raw)
{
	size_t n = 0;

	while (*p != '\0' && n < MIME_MAX_PARAMS) {
		p = strchr(p, ';');
		if (p == NULL)
			break;
		p = mime_skip_cfws(p + 1);
		char *name = mime_read_token(arena, &p);
		p = mime_skip_cfws(p);
		if (*name == '\0' || *p != '=')
			continue;
		p = mime_skip_cfws(p + 1);
		raw[n].name = name;
		raw[n].value = mime_read_value(arena, &p);
		n++;
	}
	return n;
}

/* Parse a Content-Type (or, with disposition, a Content-Disposition) value.
 * RFC 2045 §5.2: a Content-Type that does not parse counts as absent, so
 * type is NULL then and the caller applies the default. */
void mime_parse_ctype(struct arena *arena, const char *value, bool disposition,
		      struct mime_ctype *ctype_r)
{
	struct mime_param raw[MIME_MAX_PARAMS];
	const char *p = mime_skip_cfws(value);

	memset(ctype_r, 0, sizeof(*ctype_r));
	char *type = str_lower(mime_read_token(arena, &p));
	if (*type == '\0')
		return;
	if (!disposition) {
		p = mime_skip_cfws(p);
		if (*p != '/')
			return;
		p = mime_skip_cfws(p + 1);
		ctype_r->subtype = str_lower(mime_read_token(arena, &p));
		if (*ctype_r->subtype == '\0') {
			ctype_r->subtype = NULL;
			return;
		}
	}
	ctype_r->type = type;
	mime_params_finish(arena, raw, mime_params_read(arena, p, raw), ctype_r);
}

/* The value of parameter name (case-insensitive), or NULL. */
const char *mime_param_get(const struct mime_ctype *ctype, const char *name)
{
	for (size_t i = 0; i < ctype->param_count; i++) {
		if (str_eq_nocase(ctype->params[i].name, name))
			return ctype->params[i].value;
	}
	return NULL;
}
