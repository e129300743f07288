/*
 * json: a small strict JSON parser (RFC 8259) for the few JSON documents
 * buzon reads from outside: JWT headers and claims, JWKS files, OAuth token
 * introspection answers. Input is hostile, so it is strict: no trailing
 * commas, no comments, no leading zeros, no control characters or invalid
 * UTF-8 in strings, no "\u0000" (strings are C strings), no duplicate
 * object keys (two "sub" claims must not mean different things to two
 * readers), and at most JSON_DEPTH_MAX levels of nesting. The tree lives in
 * the caller's arena. Pure; thread-safe.
 */
#ifndef BUZON_CORE_JSON_H
#define BUZON_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* Deeper nesting than any token or key set has is an attack on the stack. */
#define JSON_DEPTH_MAX 32

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value {
	enum json_type type;
	const char *string;          /* JSON_STRING: decoded UTF-8; JSON_NUMBER: its text */
	size_t string_len;
	bool is_integer;             /* JSON_NUMBER without fraction or exponent, fits int64 */
	int64_t integer;
	size_t count;                /* JSON_ARRAY, JSON_OBJECT: number of members */
	const char **keys;           /* JSON_OBJECT: member names */
	struct json_value **items;   /* JSON_ARRAY elements, JSON_OBJECT values */
};

/* Parse text[0..len) as one JSON value (whitespace around it allowed).
 * 0, or -1 with *error_r. */
int json_parse(struct arena *arena, const char *text, size_t len, struct json_value **value_r,
	       const char **error_r);
/* The value of member key of an object, or NULL (also when v is no object). */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* The string of member key, or NULL when absent or not a string. */
const char *json_get_string(const struct json_value *v, const char *key);
/* Member key as an integer: true and *value_r when it is one. */
bool json_get_integer(const struct json_value *v, const char *key, int64_t *value_r);

#endif
