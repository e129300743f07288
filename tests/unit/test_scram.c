/*
 * test_scram: the server side of SCRAM-SHA-256 against the RFC 7677 §3
 * test vector, and the ways a client message can be wrong.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "auth/scram.h"
#include "auth/sasl.h"

/* RFC 7677 §3: user "user", password "pencil". */
#define V_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define V_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define V_SALT_B64 "W22ZaJ0SNY7soEsUEjb6gQ=="
#define V_SERVER_FIRST \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define V_CLIENT_FINAL \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define V_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void vector_keys(struct scram_keys *keys)
{
	struct arena *arena = arena_new();
	char *salt;
	size_t n;

	UNIT_CHECK(sasl_base64_decode(arena, V_SALT_B64, strlen(V_SALT_B64), &salt, &n) == 0);
	UNIT_CHECK(scram_keys_derive("pencil", (unsigned char *)salt, n, 4096, keys) == 0);
	arena_free(arena);
}

static void rfc7677_vector_verifies(void)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	struct scram_keys keys;
	const char *error = NULL, *final = NULL;

	vector_keys(&keys);
	UNIT_CHECK(scram_server_parse_first(&s, arena, V_CLIENT_FIRST, strlen(V_CLIENT_FIRST),
					    &error) == 0);
	UNIT_CHECK_STR(s.username, "user");
	UNIT_CHECK(s.cbind == SCRAM_CBIND_NONE);
	UNIT_CHECK_STR(scram_server_challenge(&s, arena, &keys, V_SERVER_NONCE), V_SERVER_FIRST);
	UNIT_CHECK(scram_server_check_final(&s, arena, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL),
					    NULL, 0, &final, &error) == 0);
	UNIT_CHECK_STR(final, V_SERVER_FINAL);
	arena_free(arena);
}

static void wrong_password_fails_with_minus_two(void)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	struct scram_keys keys;
	const char *error = NULL, *final = NULL;
	unsigned char salt[4] = { 1, 2, 3, 4 };

	UNIT_CHECK(scram_keys_derive("not pencil", salt, sizeof(salt), 4096, &keys) == 0);
	UNIT_CHECK(scram_server_parse_first(&s, arena, V_CLIENT_FIRST, strlen(V_CLIENT_FIRST),
					    &error) == 0);
	(void)scram_server_challenge(&s, arena, &keys, V_SERVER_NONCE);
	UNIT_CHECK(scram_server_check_final(&s, arena, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL),
					    NULL, 0, &final, &error) == -2);
	arena_free(arena);
}

static void tampered_nonce_or_binding_fails(void)
{
	static const char *const finals[] = {
		/* another nonce */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* the client's nonce alone */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* "y,," instead of "n,," in the binding */
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	struct scram_keys keys;

	vector_keys(&keys);
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
		struct arena *arena = arena_new();
		struct scram_server s;
		const char *error = NULL, *final = NULL;
		UNIT_CHECK(scram_server_parse_first(&s, arena, V_CLIENT_FIRST,
						    strlen(V_CLIENT_FIRST), &error) == 0);
		(void)scram_server_challenge(&s, arena, &keys, V_SERVER_NONCE);
		UNIT_CHECK(scram_server_check_final(&s, arena, finals[i], strlen(finals[i]), NULL, 0,
						    &final, &error) == -2);
		arena_free(arena);
	}
}

static void malformed_messages_are_refused(void)
{
	static const char *const firsts[] = {
		"", "n", "n,", "n,,", "x,,n=user,r=abc", "n,,r=abc,n=user", "n,,n=,r=abc",
		"n,,n=us=er,r=abc", "n,,n=user,r=", "n,,n=user", "m=ext,n=user,r=abc",
		"n,,m=ext,n=user,r=abc", "p=,,n=user,r=abc", "p=tls exporter,,n=user,r=abc",
		"n,a=,n=user,r=abc", "n,,n=user,r=a,b", "n,,n=user,r=abc,",
	};
	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		struct arena *arena = arena_new();
		struct scram_server s;
		const char *error = NULL;
		int r = scram_server_parse_first(&s, arena, firsts[i], strlen(firsts[i]), &error);
		if (r != -1)
			printf("# accepted: %s\n", firsts[i]);
		UNIT_CHECK(r == -1);
		UNIT_CHECK(error != NULL);
		arena_free(arena);
	}
}

static void saslname_escapes_decode(void)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	const char *error = NULL;
	const char *msg = "y,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=xyz,x=1";

	UNIT_CHECK(scram_server_parse_first(&s, arena, msg, strlen(msg), &error) == 0);
	UNIT_CHECK_STR(s.username, "a,b=c");
	UNIT_CHECK_STR(s.authzid, "a,b=c");
	UNIT_CHECK(s.cbind == SCRAM_CBIND_UNSUPPORTED);
	UNIT_CHECK_STR(s.gs2_header, "y,a=a=2Cb=3Dc,");
	arena_free(arena);
}

static void stored_keys_round_trip(void)
{
	struct scram_keys keys, derived;
	char *text = NULL;
	const char *error = NULL;

	UNIT_CHECK(scram_keys_new("pencil", &text, &error) == 0);
	UNIT_CHECK(strncmp(text, "SCRAM-SHA-256$4096:", 19) == 0);
	UNIT_CHECK(scram_keys_decode(text, &keys) == 0);
	UNIT_CHECK(keys.iterations == 4096 && keys.salt_len == 16);
	UNIT_CHECK(scram_keys_derive("pencil", keys.salt, keys.salt_len, keys.iterations,
				     &derived) == 0);
	UNIT_CHECK(memcmp(derived.stored_key, keys.stored_key, SCRAM_KEY_LEN) == 0);
	UNIT_CHECK(memcmp(derived.server_key, keys.server_key, SCRAM_KEY_LEN) == 0);
	UNIT_CHECK(scram_keys_decode("$y$j9T$abc", &keys) == -1);
	UNIT_CHECK(scram_keys_decode("SCRAM-SHA-256$0:AAAA$AAAA:AAAA", &keys) == -1);
	UNIT_CHECK(scram_keys_decode("SCRAM-SHA-256$4096:AAAA$AAAA:AAAA", &keys) == -1);
	UNIT_CHECK(scram_keys_decode(NULL, &keys) == -1);
	free(text);
}

int main(void)
{
	UNIT_RUN(rfc7677_vector_verifies);
	UNIT_RUN(wrong_password_fails_with_minus_two);
	UNIT_RUN(tampered_nonce_or_binding_fails);
	UNIT_RUN(malformed_messages_are_refused);
	UNIT_RUN(saslname_escapes_decode);
	UNIT_RUN(stored_keys_round_trip);
	return unit_finish();
}
