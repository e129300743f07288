/*
 * json: see json.h. A recursive-descent parser over a cursor; recursion is
 * bounded by JSON_DEPTH_MAX.
 */
#include "core/json.h"

#include <string.h>

#include "core/array.h"

struct json_parser {
	struct arena *arena;
	const char *p, *end;
	const char *error;
	unsigned depth;
};

static void json_skip_space(struct json_parser *jp)
{
	while (jp->p < jp->end &&
	       (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static bool json_fail(struct json_parser *jp, const char *error)
{
	if (jp->error == NULL)
		jp->error = error;
	return false;
}

static int json_hex(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u". */
static bool json_read_u16(struct json_parser *jp, unsigned *out)
{
	unsigned v = 0;

	if (jp->end - jp->p < 4)
		return json_fail(jp, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		int h = json_hex(jp->p[i]);
		if (h < 0)
			return json_fail(jp, "bad \\u escape");
		v = v << 4 | (unsigned)h;
	}
	jp->p += 4;
	*out = v;
	return true;
}

static size_t json_put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t json_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A string at the opening quote; decoded into the arena. */
static bool json_parse_string(struct json_parser *jp, const char **out, size_t *out_len)
{
	const char *start = ++jp->p;
	/* The decoded form is never longer than the source. */
	const char *close = start;
	while (close < jp->end && *close != '"') {
		if (*close == '\\')
			close++;
		close++;
	}
	if (close >= jp->end)
		return json_fail(jp, "unterminated string");
	char *buf = arena_alloc(jp->arena, (size_t)(close - start) + 1);
	size_t n = 0;

	while (jp->p < jp->end && *jp->p != '"') {
		unsigned char c = (unsigned char)*jp->p;
		if (c < 0x20)
			return json_fail(jp, "control character in string");
		if (c != '\\') {
			size_t len = json_utf8_len((const unsigned char *)jp->p,
						   (const unsigned char *)jp->end);
			if (len == 0)
				return json_fail(jp, "invalid UTF-8 in string");
			memcpy(buf + n, jp->p, len);
			n += len;
			jp->p += len;
			continue;
		}
		if (++jp->p >= jp->end)
			return json_fail(jp, "unterminated escape");
		char e = *jp->p++;
		unsigned cp;
		switch (e) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case '/': buf[n++] = '/'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u':
			if (!json_read_u16(jp, &cp))
				return false;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u')
					return json_fail(jp, "lone surrogate");
				jp->p += 2;
				if (!json_read_u16(jp, &lo))
					return false;
				if (lo < 0xdc00 || lo > 0xdfff)
					return json_fail(jp, "lone surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return json_fail(jp, "lone surrogate");
			} else if (cp == 0) {
				return json_fail(jp, "NUL in string");
			}
			/* Six source bytes become at most four. */
			n += json_put_utf8(buf + n, cp);
			break;
		default:
			return json_fail(jp, "bad escape");
		}
	}
	if (jp->p >= jp->end)
		return json_fail(jp, "unterminated string");
	jp->p++;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return true;
}

/* RFC 8259 §6: -? int frac? exp? */
static bool json_parse_number(struct json_parser *jp, struct json_value *v)
{
	const char *start = jp->p;
	bool integer = true;

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
		return json_fail(jp, "bad number");
	if (*jp->p == '0') {
		jp->p++;
	} else {
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && *jp->p == '.') {
		integer = false;
		jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return json_fail(jp, "bad number");
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		integer = false;
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return json_fail(jp, "bad number");
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	v->type = JSON_NUMBER;
	v->string = arena_strndup(jp->arena, start, (size_t)(jp->p - start));
	v->string_len = (size_t)(jp->p - start);
	if (integer) {
		const char *d = start + (*start == '-');
		uint64_t u = 0;
		bool fits = true;
		for (; d < jp->p; d++) {
			unsigned digit = (unsigned)(*d - '0');
			if (u > (UINT64_MAX - digit) / 10) {
				fits = false;
				break;
			}
			u = u * 10 + digit;
		}
		if (fits && u <= (uint64_t)INT64_MAX) {
			v->is_integer = true;
			v->integer = *start == '-' ? -(int64_t)u : (int64_t)u;
		}
	}
	return true;
}

static bool json_parse_value(struct json_parser *jp, struct json_value **out);

static bool json_parse_literal(struct json_parser *jp, const char *word, enum json_type type,
			       struct json_value *v)
{
	size_t n = strlen(word);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
		return json_fail(jp, "unexpected character");
	jp->p += n;
	v->type = type;
	return true;
}

static bool json_parse_container(struct json_parser *jp, struct json_value *v, bool object)
{
	ARRAY(struct json_value *) items = ARRAY_INIT;
	ARRAY(const char *) keys = ARRAY_INIT;
	bool ok = false;
	char close = object ? '}' : ']';

	if (++jp->depth > JSON_DEPTH_MAX) {
		json_fail(jp, "nested too deeply");
		goto out;
	}
	jp->p++;
	json_skip_space(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		ok = true;
		goto out;
	}
	for (;;) {
		json_skip_space(jp);
		if (object) {
			const char *key;
			size_t key_len;
			if (jp->p >= jp->end || *jp->p != '"') {
				json_fail(jp, "expected a member name");
				goto out;
			}
			if (!json_parse_string(jp, &key, &key_len))
				goto out;
			for (size_t i = 0; i < keys.count; i++) {
				if (strcmp(keys.items[i], key) == 0) {
					json_fail(jp, "duplicate member name");
					goto out;
				}
			}
			array_push(&keys, key);
			json_skip_space(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				json_fail(jp, "expected ':'");
				goto out;
			}
			jp->p++;
		}
		struct json_value *item;
		if (!json_parse_value(jp, &item))
			goto out;
		array_push(&items, item);
		json_skip_space(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == close) {
			jp->p++;
			ok = true;
			break;
		}
		json_fail(jp, object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto out;
	}
out:
	jp->depth--;
	if (ok) {
		v->type = object ? JSON_OBJECT : JSON_ARRAY;
		v->count = items.count;
		v->items = arena_alloc(jp->arena, (items.count + 1) * sizeof(*v->items));
		if (items.count > 0)
			memcpy(v->items, items.items, items.count * sizeof(*v->items));
		if (object) {
			v->keys = arena_alloc(jp->arena, (keys.count + 1) * sizeof(*v->keys));
			if (keys.count > 0)
				memcpy(v->keys, keys.items, keys.count * sizeof(*v->keys));
		}
	}
	array_free(&items);
	array_free(&keys);
	return ok;
}

static bool json_parse_value(struct json_parser *jp, struct json_value **out)
{
	struct json_value *v = arena_zalloc(jp->arena, sizeof(*v));

	*out = v;
	json_skip_space(jp);
	if (jp->p >= jp->end)
		return json_fail(jp, "unexpected end");
	switch (*jp->p) {
	case '{':
		return json_parse_container(jp, v, true);
	case '[':
		return json_parse_container(jp, v, false);
	case '"':
		v->type = JSON_STRING;
		return json_parse_string(jp, &v->string, &v->string_len);
	case 't':
		return json_parse_literal(jp, "true", JSON_TRUE, v);
	case 'f':
		return json_parse_literal(jp, "false", JSON_FALSE, v);
	case 'n':
		return json_parse_literal(jp, "null", JSON_NULL, v);
	default:
		return json_parse_number(jp, v);
	}
}

int json_parse(struct arena *arena, const char *text, size_t len, struct json_value **value_r,
	       const char **error_r)
{
	struct json_parser jp = { arena, text, text + len, NULL, 0 };

	if (!json_parse_value(&jp, value_r)) {
		*error_r = jp.error != NULL ? jp.error : "invalid JSON";
		return -1;
	}
	json_skip_space(&jp);
	if (jp.p != jp.end) {
		*error_r = "trailing data after JSON value";
		return -1;
	}
	return 0;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (v == NULL || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->count; i++) {
		if (strcmp(v->keys[i], key) == 0)
			return v->items[i];
	}
	return NULL;
}

const char *json_get_string(const struct json_value *v, const char *key)
{
	const struct json_value *m = json_get(v, key);

	return m != NULL && m->type == JSON_STRING ? m->string : NULL;
}

bool json_get_integer(const struct json_value *v, const char *key, int64_t *value_r)
{
	const struct json_value *m = json_get(v, key);

	if (m == NULL || m->type != JSON_NUMBER || !m->is_integer)
		return false;
	*value_r = m->integer;
	return true;
}
