/*
 * fuzz_json: libFuzzer target for the parsers of bearer-token input: the
 * JSON parser (core/json.c) on the raw bytes, a JWT made of them
 * (auth/jwt.c: base64url, header and claims JSON, with an empty key set so
 * only parsing runs), and the OAUTHBEARER and XOAUTH2 client messages
 * (auth/sasl.c). Nothing here may crash, hang or leak.
 */
#include "auth/jwt.h"
#include "auth/sasl.h"
#include "core/arena.h"
#include "core/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new();
	struct json_value *v;
	const char *error, *account;
	char *a, *b;
	int64_t n;

	if (json_parse(arena, (const char *)data, size, &v, &error) == 0) {
		(void)json_get_string(v, "email");
		(void)json_get_integer(v, "exp", &n);
	}
	char *text = arena_strndup(arena, (const char *)data, size);
	if (strlen(text) == size) {
		struct jwt_keys *keys = jwt_keys_new();
		struct jwt_expect expect = { "iss", "aud", "email", 1700000000 };
		(void)jwt_verify(keys, arena, text, &expect, &account);
		(void)jwt_keys_add_jwks(keys, text, size, &error);
		jwt_keys_free(keys);
	}
	(void)sasl_oauthbearer_decode(arena, (const char *)data, size, &a, &b, &error);
	(void)sasl_xoauth2_decode(arena, (const char *)data, size, &a, &b, &error);
	arena_free(arena);
	return 0;
}
