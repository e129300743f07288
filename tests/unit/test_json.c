/*
 * test_json: the strict JSON parser (core/json.c) and the pieces of
 * auth/jwt.c and auth/sasl.c that read bearer-token input.
 */
#include "unit.h"

#include <string.h>

#include "auth/jwt.h"
#include "auth/sasl.h"
#include "core/json.h"

static struct json_value *parse(struct arena *arena, const char *text)
{
	struct json_value *v = NULL;
	const char *error = NULL;

	if (json_parse(arena, text, strlen(text), &v, &error) < 0)
		return NULL;
	return v;
}

static void objects_arrays_and_scalars_parse(void)
{
	struct arena *arena = arena_new();
	struct json_value *v = parse(arena,
		" {\"a\": [1, -2, 3.5e1, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\","
		" \"big\": 12345678901234567890, \"o\": {}} ");
	int64_t n;

	UNIT_CHECK(v != NULL && v->type == JSON_OBJECT && v->count == 4);
	const struct json_value *a = json_get(v, "a");
	UNIT_CHECK(a != NULL && a->type == JSON_ARRAY && a->count == 6);
	UNIT_CHECK(a->items[1]->is_integer && a->items[1]->integer == -2);
	UNIT_CHECK(!a->items[2]->is_integer);
	UNIT_CHECK(a->items[3]->type == JSON_TRUE && a->items[5]->type == JSON_NULL);
	UNIT_CHECK_STR(json_get_string(v, "s"), "x\xc3\xa9\xf0\x9f\x98\x80\n");
	UNIT_CHECK(!json_get_integer(v, "big", &n)); /* does not fit int64 */
	UNIT_CHECK(json_get(v, "missing") == NULL);
	arena_free(arena);
}

static void malformed_json_is_refused(void)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", ".5", "1e", "tru",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\"",
		"\"a\tb\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "{\"a\":1,\"a\":2}",
		"[1] x", "{1:2}", "NaN", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct arena *arena = arena_new();
		if (parse(arena, bad[i]) != NULL)
			printf("# accepted: %s\n", bad[i]);
		UNIT_CHECK(parse(arena, bad[i]) == NULL);
		arena_free(arena);
	}
}

static void base64url_is_strict(void)
{
	struct arena *arena = arena_new();
	unsigned char *out;
	size_t n;

	UNIT_CHECK(jwt_base64url_decode(arena, "aGk", 3, &out, &n) == 0 && n == 2 &&
		   memcmp(out, "hi", 2) == 0);
	UNIT_CHECK(jwt_base64url_decode(arena, "-_8", 3, &out, &n) == 0 && n == 2);
	UNIT_CHECK(jwt_base64url_decode(arena, "aGk=", 4, &out, &n) < 0);  /* padding */
	UNIT_CHECK(jwt_base64url_decode(arena, "a+k", 3, &out, &n) < 0);   /* not url-safe */
	UNIT_CHECK(jwt_base64url_decode(arena, "aGl", 3, &out, &n) < 0);   /* stray bits */
	UNIT_CHECK(jwt_base64url_decode(arena, "a", 1, &out, &n) < 0);
	UNIT_CHECK(jwt_looks_like("a.b.c") && jwt_looks_like("a.b.") && !jwt_looks_like("a.b") &&
		   !jwt_looks_like("a..c") && !jwt_looks_like("a.b.c.d") &&
		   !jwt_looks_like("opaque"));
	arena_free(arena);
}

static void oauth_client_messages_decode(void)
{
	struct arena *arena = arena_new();
	char *user, *token;
	const char *error;
	const char ob[] = "n,a=a=2Cb@x,\001host=h\001port=1\001auth=Bearer  tok.en_-~+/==\001\001";
	const char xo[] = "user=u@x\001auth=Bearer abc\001\001";

	UNIT_CHECK(sasl_oauthbearer_decode(arena, ob, strlen(ob), &user, &token, &error) == 0);
	UNIT_CHECK_STR(user, "a,b@x");
	UNIT_CHECK_STR(token, "tok.en_-~+/==");
	UNIT_CHECK(sasl_oauthbearer_decode(arena, "n,,\001" "auth=Bearer t\001\001", 19, &user,
					   &token, &error) == 0);
	UNIT_CHECK(user == NULL);
	UNIT_CHECK(sasl_xoauth2_decode(arena, xo, strlen(xo), &user, &token, &error) == 0);
	UNIT_CHECK_STR(user, "u@x");
	UNIT_CHECK_STR(token, "abc");
	static const char *const bad[] = {
		"n,,\001\001", "p=x,,\001" "auth=Bearer t\001\001", "n,,auth=Bearer t\001\001",
		"n,,\001" "auth=Bearer t\001", "n,,\001" "auth=Bearer \001\001",
		"n,,\001" "auth=Bearer t t\001\001", "n,,\001" "auth=Basic t\001\001",
		"n,,\001" "auth=Bearer a\001" "auth=Bearer b\001\001", "n,a=,\001" "auth=Bearer t\001\001",
		"n,,\001" "=x\001" "auth=Bearer t\001\001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		UNIT_CHECK(sasl_oauthbearer_decode(arena, bad[i], strlen(bad[i]), &user, &token,
						   &error) < 0);
	UNIT_CHECK(sasl_xoauth2_decode(arena, "user=u\001" "auth=Bearer t\001", 21, &user, &token,
				       &error) < 0);
	UNIT_CHECK(sasl_xoauth2_decode(arena, "user=\001" "auth=Bearer t\001\001", 21, &user,
				       &token, &error) < 0);
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(objects_arrays_and_scalars_parse);
	UNIT_RUN(malformed_json_is_refused);
	UNIT_RUN(base64url_is_strict);
	UNIT_RUN(oauth_client_messages_decode);
	return unit_finish();
}
