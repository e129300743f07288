/*
 * test_scram: the server side of SCRAM against the RFC 5802 §5
 * (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256) test vectors, byte for
 * byte, and the ways a client message can be wrong.
 */
#include "unit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
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

/* RFC 5802 §5: the same user and password with SCRAM-SHA-1. */
#define V1_CLIENT_FIRST "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
#define V1_SERVER_NONCE "3rfcNHYJY1ZVvWVs7j"
#define V1_SALT_B64 "QSXCR+Q6sek8bf92"
#define V1_SERVER_FIRST "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define V1_CLIENT_FINAL_WITHOUT_PROOF "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
#define V1_PROOF "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define V1_CLIENT_FINAL V1_CLIENT_FINAL_WITHOUT_PROOF ",p=" V1_PROOF
#define V1_SERVER_FINAL "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

static void vector_keys_for(enum scram_digest digest, const char *salt_b64,
			    struct scram_keys *keys)
{
	struct arena *arena = arena_new();
	char *salt;
	size_t n;

	UNIT_CHECK(sasl_base64_decode(arena, salt_b64, strlen(salt_b64), &salt, &n) == 0);
	UNIT_CHECK(scram_keys_derive(digest, "pencil", (unsigned char *)salt, n, 4096, keys) == 0);
	arena_free(arena);
}

static void vector_keys(struct scram_keys *keys)
{
	vector_keys_for(SCRAM_DIGEST_SHA256, V_SALT_B64, keys);
}

/* The client's side of RFC 5802 §3, computed here independently of
 * scram.c: ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage),
 * base64 into the arena. It must give the vector's p= byte for byte. */
static const char *client_proof(struct arena *arena, const EVP_MD *md, const char *salt_b64,
				const char *auth_message)
{
	unsigned char salted[32], client_key[32], stored[32], signature[32], proof[32];
	unsigned int len = 0, slen = 0;
	size_t key_len = (size_t)EVP_MD_get_size(md), n;
	char *salt;

	UNIT_CHECK(sasl_base64_decode(arena, salt_b64, strlen(salt_b64), &salt, &n) == 0);
	UNIT_CHECK(PKCS5_PBKDF2_HMAC("pencil", 6, (unsigned char *)salt, (int)n, 4096, md,
				     (int)key_len, salted) == 1);
	UNIT_CHECK(HMAC(md, salted, (int)key_len, (const unsigned char *)"Client Key", 10,
			client_key, &len) != NULL);
	UNIT_CHECK(EVP_Digest(client_key, key_len, stored, &slen, md, NULL) == 1);
	UNIT_CHECK(HMAC(md, stored, (int)key_len, (const unsigned char *)auth_message,
			strlen(auth_message), signature, &len) != NULL);
	for (size_t i = 0; i < key_len; i++)
		proof[i] = client_key[i] ^ signature[i];
	return scram_base64_encode(arena, proof, key_len);
}

static void run_vector(enum scram_digest digest, const char *salt_b64, const char *client_first,
		       const char *server_nonce, const char *server_first,
		       const char *client_final, const char *server_final)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	struct scram_keys keys;
	const char *error = NULL, *final = NULL;

	vector_keys_for(digest, salt_b64, &keys);
	UNIT_CHECK(keys.digest == digest);
	UNIT_CHECK(scram_server_parse_first(&s, arena, client_first, strlen(client_first),
					    &error) == 0);
	UNIT_CHECK_STR(s.username, "user");
	UNIT_CHECK(s.cbind == SCRAM_CBIND_NONE);
	UNIT_CHECK_STR(scram_server_challenge(&s, arena, &keys, server_nonce), server_first);
	UNIT_CHECK(scram_server_check_final(&s, arena, client_final, strlen(client_final), NULL,
					    0, &final, &error) == 0);
	UNIT_CHECK_STR(final, server_final);
	arena_free(arena);
}

static void rfc7677_vector_verifies(void)
{
	run_vector(SCRAM_DIGEST_SHA256, V_SALT_B64, V_CLIENT_FIRST, V_SERVER_NONCE,
		   V_SERVER_FIRST, V_CLIENT_FINAL, V_SERVER_FINAL);
}

static void rfc5802_sha1_vector_verifies(void)
{
	run_vector(SCRAM_DIGEST_SHA1, V1_SALT_B64, V1_CLIENT_FIRST, V1_SERVER_NONCE,
		   V1_SERVER_FIRST, V1_CLIENT_FINAL, V1_SERVER_FINAL);
}

/* The client-final-messages of both vectors, rebuilt from the password:
 * the AuthMessage we sign is the RFC's, byte for byte. */
static void both_vectors_client_proofs_match(void)
{
	struct arena *arena = arena_new();

	UNIT_CHECK_STR(client_proof(arena, EVP_sha1(), V1_SALT_B64,
				    "n=user,r=fyko+d2lbbFgONRv9qkxdawL," V1_SERVER_FIRST
				    "," V1_CLIENT_FINAL_WITHOUT_PROOF),
		       V1_PROOF);
	UNIT_CHECK_STR(client_proof(arena, EVP_sha256(), V_SALT_B64,
				    "n=user,r=rOprNGfwEbeRWgbNEkqO," V_SERVER_FIRST
				    ",c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"),
		       "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	arena_free(arena);
}

/* A SHA-256 proof is not a SHA-1 one: keys of one hash never verify the
 * other's exchange. */
static void sha1_keys_refuse_the_sha256_exchange(void)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	struct scram_keys keys;
	const char *error = NULL, *final = NULL;

	vector_keys_for(SCRAM_DIGEST_SHA1, V_SALT_B64, &keys);
	UNIT_CHECK(scram_server_parse_first(&s, arena, V_CLIENT_FIRST, strlen(V_CLIENT_FIRST),
					    &error) == 0);
	(void)scram_server_challenge(&s, arena, &keys, V_SERVER_NONCE);
	UNIT_CHECK(scram_server_check_final(&s, arena, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL),
					    NULL, 0, &final, &error) == -1);
	arena_free(arena);
}

static void wrong_password_fails_with_minus_two(void)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	struct scram_keys keys;
	const char *error = NULL, *final = NULL;
	unsigned char salt[4] = { 1, 2, 3, 4 };

	UNIT_CHECK(scram_keys_derive(SCRAM_DIGEST_SHA256, "not pencil", salt, sizeof(salt), 4096,
				     &keys) == 0);
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
	UNIT_CHECK(keys.digest == SCRAM_DIGEST_SHA256);
	UNIT_CHECK(scram_keys_derive(SCRAM_DIGEST_SHA256, "pencil", keys.salt, keys.salt_len,
				     keys.iterations, &derived) == 0);
	UNIT_CHECK(memcmp(derived.stored_key, keys.stored_key, SCRAM_KEY_LEN) == 0);
	UNIT_CHECK(memcmp(derived.server_key, keys.server_key, SCRAM_KEY_LEN) == 0);
	UNIT_CHECK(scram_keys_decode("$y$j9T$abc", &keys) == -1);
	UNIT_CHECK(scram_keys_decode("SCRAM-SHA-256$0:AAAA$AAAA:AAAA", &keys) == -1);
	UNIT_CHECK(scram_keys_decode("SCRAM-SHA-256$4096:AAAA$AAAA:AAAA", &keys) == -1);
	UNIT_CHECK(scram_keys_decode(NULL, &keys) == -1);
	free(text);
}

/* RFC 5803's SCRAM-SHA-1 form decodes to 20-byte keys; a SHA-256-sized
 * key under the SHA-1 name is refused. */
static void sha1_stored_keys_decode(void)
{
	struct scram_keys keys, derived;

	vector_keys_for(SCRAM_DIGEST_SHA1, V1_SALT_B64, &derived);
	struct arena *arena = arena_new();
	const char *text = arena_printf(arena, "SCRAM-SHA-1$4096:%s$%s:%s", V1_SALT_B64,
					scram_base64_encode(arena, derived.stored_key, 20),
					scram_base64_encode(arena, derived.server_key, 20));
	UNIT_CHECK(scram_keys_decode(text, &keys) == 0);
	UNIT_CHECK(keys.digest == SCRAM_DIGEST_SHA1);
	UNIT_CHECK(memcmp(keys.stored_key, derived.stored_key, 20) == 0);
	UNIT_CHECK(memcmp(keys.server_key, derived.server_key, 20) == 0);
	text = arena_printf(arena, "SCRAM-SHA-1$4096:%s$%s:%s", V1_SALT_B64,
			    scram_base64_encode(arena, derived.stored_key, 32),
			    scram_base64_encode(arena, derived.server_key, 32));
	UNIT_CHECK(scram_keys_decode(text, &keys) == -1);
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(rfc7677_vector_verifies);
	UNIT_RUN(rfc5802_sha1_vector_verifies);
	UNIT_RUN(both_vectors_client_proofs_match);
	UNIT_RUN(sha1_keys_refuse_the_sha256_exchange);
	UNIT_RUN(sha1_stored_keys_decode);
	UNIT_RUN(wrong_password_fails_with_minus_two);
	UNIT_RUN(tampered_nonce_or_binding_fails);
	UNIT_RUN(malformed_messages_are_refused);
	UNIT_RUN(saslname_escapes_decode);
	UNIT_RUN(stored_keys_round_trip);
	return unit_finish();
}
