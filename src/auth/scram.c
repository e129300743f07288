/*
 * scram: see scram.h. The grammar is RFC 5802 §7; every message is checked
 * strictly (attribute order, no empty values, printable nonces), since the
 * client is anyone on the network.
 */
#include "auth/scram.h"
#include "auth/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/str.h"

/* RFC 5803's names of the stored forms, indexed by enum scram_digest. */
static const char *const scram_prefixes[] = { "SCRAM-SHA-256$", "SCRAM-SHA-1$" };
#define SCRAM_NEW_SALT_LEN 16
/* A client-first-message longer than this is not a login attempt. */
#define SCRAM_MESSAGE_MAX 4096

static const char scram_b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *scram_base64_encode(struct arena *arena, const unsigned char *data, size_t len)
{
	char *out = arena_alloc(arena, (len + 2) / 3 * 4 + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[n++] = scram_b64_alphabet[v >> 18 & 63];
		out[n++] = scram_b64_alphabet[v >> 12 & 63];
		out[n++] = i + 1 < len ? scram_b64_alphabet[v >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? scram_b64_alphabet[v & 63] : '=';
	}
	out[n] = '\0';
	return out;
}

/* Decode base64 into out (at most max bytes). 0 or -1. */
static int scram_base64_decode_fixed(const char *in, size_t len, unsigned char *out,
				     size_t max, size_t *len_r)
{
	struct arena *arena = arena_new();
	char *data;
	size_t n;
	int r = -1;

	if (sasl_base64_decode(arena, in, len, &data, &n) == 0 && n <= max) {
		memcpy(out, data, n);
		*len_r = n;
		r = 0;
	}
	arena_free(arena);
	return r;
}

/* H() of the mechanism: the only place the digest is chosen. */
static const EVP_MD *scram_md(enum scram_digest digest)
{
	return digest == SCRAM_DIGEST_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t scram_digest_len(enum scram_digest digest)
{
	return digest == SCRAM_DIGEST_SHA1 ? 20 : 32;
}

/* HMAC(key, data) with digest's hash into out (scram_digest_len bytes). */
static int scram_hmac(enum scram_digest digest, const unsigned char *key, size_t key_len,
		      const void *data, size_t len, unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int out_len = SCRAM_KEY_LEN;

	return HMAC(scram_md(digest), key, (int)key_len, data, len, out, &out_len) != NULL &&
			       out_len == scram_digest_len(digest)
		       ? 0 : -1;
}

/* H(data) with digest's hash into out. */
static int scram_hash(enum scram_digest digest, const unsigned char *data, size_t len,
		      unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int out_len = SCRAM_KEY_LEN;

	return EVP_Digest(data, len, out, &out_len, scram_md(digest), NULL) == 1 &&
			       out_len == scram_digest_len(digest)
		       ? 0 : -1;
}

/* RFC 5802 §3: SaltedPassword = Hi(password, salt, i) (PBKDF2-HMAC),
 * ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey),
 * ServerKey = HMAC(SaltedPassword, "Server Key"). */
int scram_keys_derive(enum scram_digest digest, const char *password, const unsigned char *salt,
		      size_t salt_len, unsigned iterations, struct scram_keys *keys_r)
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	size_t key_len = scram_digest_len(digest);
	int r = -1;

	if (salt_len > SCRAM_SALT_MAX || iterations == 0 || iterations > SCRAM_ITERATIONS_MAX)
		return -1;
	memset(keys_r, 0, sizeof(*keys_r));
	keys_r->digest = digest;
	keys_r->iterations = iterations;
	keys_r->salt_len = salt_len;
	memcpy(keys_r->salt, salt, salt_len);
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
			      (int)iterations, scram_md(digest), (int)key_len, salted) == 1 &&
	    scram_hmac(digest, salted, key_len, "Client Key", 10, client_key) == 0 &&
	    scram_hash(digest, client_key, key_len, keys_r->stored_key) == 0 &&
	    scram_hmac(digest, salted, key_len, "Server Key", 10, keys_r->server_key) == 0)
		r = 0;
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return r;
}

int scram_keys_new(const char *password, char **encoded_r, const char **error_r)
{
	unsigned char salt[SCRAM_NEW_SALT_LEN];
	struct scram_keys keys;

	*encoded_r = NULL;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    scram_keys_derive(SCRAM_DIGEST_SHA256, password, salt, sizeof(salt),
			      SCRAM_ITERATIONS, &keys) < 0) {
		*error_r = "SCRAM key derivation failed";
		return -1;
	}
	struct arena *arena = arena_new();
	char *text = arena_printf(arena, "%s%u:%s$%s:%s", scram_prefixes[keys.digest],
				  keys.iterations,
				  scram_base64_encode(arena, keys.salt, keys.salt_len),
				  scram_base64_encode(arena, keys.stored_key, SCRAM_KEY_LEN),
				  scram_base64_encode(arena, keys.server_key, SCRAM_KEY_LEN));
	*encoded_r = mem_strdup(text);
	arena_free(arena);
	OPENSSL_cleanse(&keys, sizeof(keys));
	return 0;
}

int scram_keys_decode(const char *encoded, struct scram_keys *keys_r)
{
	size_t n;
	uint32_t iterations;

	enum scram_digest digest;

	if (encoded == NULL)
		return -1;
	if (strncmp(encoded, scram_prefixes[SCRAM_DIGEST_SHA256],
		    strlen(scram_prefixes[SCRAM_DIGEST_SHA256])) == 0)
		digest = SCRAM_DIGEST_SHA256;
	else if (strncmp(encoded, scram_prefixes[SCRAM_DIGEST_SHA1],
			 strlen(scram_prefixes[SCRAM_DIGEST_SHA1])) == 0)
		digest = SCRAM_DIGEST_SHA1;
	else
		return -1;
	size_t key_len = scram_digest_len(digest);
	const char *p = encoded + strlen(scram_prefixes[digest]);
	const char *colon1 = strchr(p, ':');
	const char *dollar = colon1 ? strchr(colon1, '$') : NULL;
	const char *colon2 = dollar ? strchr(dollar, ':') : NULL;
	if (colon2 == NULL || str_parse_u32(p, (size_t)(colon1 - p), &iterations) < 0 ||
	    iterations == 0 || iterations > SCRAM_ITERATIONS_MAX)
		return -1;
	memset(keys_r, 0, sizeof(*keys_r));
	keys_r->digest = digest;
	keys_r->iterations = iterations;
	if (scram_base64_decode_fixed(colon1 + 1, (size_t)(dollar - colon1 - 1), keys_r->salt,
				      SCRAM_SALT_MAX, &keys_r->salt_len) < 0 ||
	    keys_r->salt_len == 0 ||
	    scram_base64_decode_fixed(dollar + 1, (size_t)(colon2 - dollar - 1),
				      keys_r->stored_key, SCRAM_KEY_LEN, &n) < 0 ||
	    n != key_len ||
	    scram_base64_decode_fixed(colon2 + 1, strlen(colon2 + 1), keys_r->server_key,
				      SCRAM_KEY_LEN, &n) < 0 ||
	    n != key_len)
		return -1;
	return 0;
}

/* ---- the exchange ------------------------------------------------------------- */

/* RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"); value chars
 * are UTF-8 except NUL, "," and "=". Decoded into the arena, or NULL. */
static const char *scram_decode_saslname(struct arena *arena, const char *s, size_t len)
{
	char *out = arena_alloc(arena, len + 1);
	size_t n = 0;

	if (len == 0)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == ',')
			return NULL;
		if (s[i] != '=') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			return NULL;
		if (s[i + 1] == '2' && s[i + 2] == 'C')
			out[n++] = ',';
		else if (s[i + 1] == '3' && s[i + 2] == 'D')
			out[n++] = '=';
		else
			return NULL;
		i += 2;
	}
	out[n] = '\0';
	return out;
}

/* RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ","). */
static bool scram_printable(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || c == ',')
			return false;
	}
	return true;
}

/* The next attribute "X=value" of msg at *pos, up to "," or the end. */
static bool scram_next_attr(const char *msg, size_t len, size_t *pos, char name,
			    const char **value_r, size_t *value_len_r)
{
	size_t p = *pos;

	if (p + 2 > len || msg[p] != name || msg[p + 1] != '=')
		return false;
	p += 2;
	const char *end = memchr(msg + p, ',', len - p);
	size_t vlen = end ? (size_t)(end - (msg + p)) : len - p;
	*value_r = msg + p;
	*value_len_r = vlen;
	*pos = p + vlen + (end ? 1 : 0);
	if (end != NULL && *pos == len)
		return false; /* a trailing "," with nothing after it */
	return true;
}

int scram_server_parse_first(struct scram_server *s, struct arena *arena, const char *msg,
			     size_t len, const char **error_r)
{
	const char *v;
	size_t vlen, pos = 0;

	memset(s, 0, sizeof(*s));
	if (len == 0 || len > SCRAM_MESSAGE_MAX || memchr(msg, '\0', len) != NULL) {
		*error_r = "Invalid SCRAM message";
		return -1;
	}
	/* gs2-cbind-flag */
	if (len >= 2 && msg[0] == 'n' && msg[1] == ',') {
		s->cbind = SCRAM_CBIND_NONE;
		pos = 2;
	} else if (len >= 2 && msg[0] == 'y' && msg[1] == ',') {
		s->cbind = SCRAM_CBIND_UNSUPPORTED;
		pos = 2;
	} else if (scram_next_attr(msg, len, &pos, 'p', &v, &vlen)) {
		/* cb-name = 1*(ALPHA / DIGIT / "." / "-") */
		for (size_t i = 0; i < vlen; i++) {
			char c = v[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-'))
				vlen = 0;
		}
		if (vlen == 0) {
			*error_r = "Invalid channel binding name";
			return -1;
		}
		s->cbind = SCRAM_CBIND_USED;
		s->cb_name = arena_strndup(arena, v, vlen);
	} else {
		*error_r = "Invalid GS2 header";
		return -1;
	}
	/* [ authzid ] "," */
	if (pos < len && msg[pos] == ',') {
		pos++;
	} else if (scram_next_attr(msg, len, &pos, 'a', &v, &vlen)) {
		if ((s->authzid = scram_decode_saslname(arena, v, vlen)) == NULL) {
			*error_r = "Invalid authorization identity";
			return -1;
		}
	} else {
		*error_r = "Invalid GS2 header";
		return -1;
	}
	s->gs2_header = arena_strndup(arena, msg, pos);
	s->client_first_bare = arena_strndup(arena, msg + pos, len - pos);
	if (pos + 2 <= len && msg[pos] == 'm' && msg[pos + 1] == '=') {
		*error_r = "SCRAM extensions not supported";
		return -1;
	}
	if (!scram_next_attr(msg, len, &pos, 'n', &v, &vlen) ||
	    (s->username = scram_decode_saslname(arena, v, vlen)) == NULL) {
		*error_r = "Invalid SCRAM user name";
		return -1;
	}
	if (!scram_next_attr(msg, len, &pos, 'r', &v, &vlen) || !scram_printable(v, vlen)) {
		*error_r = "Invalid SCRAM nonce";
		return -1;
	}
	s->nonce = arena_strndup(arena, v, vlen);
	/* Anything after the nonce is an optional extension (attr-val, RFC
	 * 5802 §7); §5.1 says to ignore those we do not know. */
	while (pos < len) {
		char name = msg[pos];
		if (!((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z')) ||
		    !scram_next_attr(msg, len, &pos, name, &v, &vlen)) {
			*error_r = "Invalid SCRAM extension";
			return -1;
		}
	}
	return 0;
}

const char *scram_server_challenge(struct scram_server *s, struct arena *arena,
				   const struct scram_keys *keys, const char *server_nonce)
{
	s->keys = *keys;
	s->nonce = arena_printf(arena, "%s%s", s->nonce, server_nonce);
	s->server_first = arena_printf(arena, "r=%s,s=%s,i=%u", s->nonce,
				       scram_base64_encode(arena, keys->salt, keys->salt_len),
				       keys->iterations);
	return s->server_first;
}

int scram_server_check_final(struct scram_server *s, struct arena *arena, const char *msg,
			     size_t len, const unsigned char *cb_data, size_t cb_len,
			     const char **final_r, const char **error_r)
{
	const char *v, *proof_b64;
	size_t vlen, proof_len, pos = 0, n;
	unsigned char proof[SCRAM_KEY_LEN], signature[SCRAM_KEY_LEN], key[SCRAM_KEY_LEN];
	unsigned char stored[SCRAM_KEY_LEN];
	enum scram_digest digest = s->keys.digest;
	size_t key_len = scram_digest_len(digest);

	if (len == 0 || len > SCRAM_MESSAGE_MAX || memchr(msg, '\0', len) != NULL ||
	    s->server_first == NULL) {
		*error_r = "Invalid SCRAM message";
		return -1;
	}
	/* channel-binding: base64 of gs2-header followed by the binding data. */
	if (!scram_next_attr(msg, len, &pos, 'c', &v, &vlen)) {
		*error_r = "Invalid SCRAM channel binding";
		return -1;
	}
	const char *cb_b64 = v;
	size_t cb_b64_len = vlen;
	const char *nonce;
	size_t nonce_len;
	if (!scram_next_attr(msg, len, &pos, 'r', &nonce, &nonce_len)) {
		*error_r = "Invalid SCRAM nonce";
		return -1;
	}
	/* Extensions until "p=", which must come last. */
	size_t without_proof_end;
	for (;;) {
		without_proof_end = pos - 1;
		if (pos + 2 <= len && msg[pos] == 'p' && msg[pos + 1] == '=')
			break;
		const char *end = memchr(msg + pos, ',', len - pos);
		if (end == NULL || pos >= len) {
			*error_r = "Missing SCRAM proof";
			return -1;
		}
		pos = (size_t)(end - msg) + 1;
	}
	if (!scram_next_attr(msg, len, &pos, 'p', &proof_b64, &proof_len) || pos != len ||
	    scram_base64_decode_fixed(proof_b64, proof_len, proof, sizeof(proof), &n) < 0 ||
	    n != key_len) {
		*error_r = "Invalid SCRAM proof";
		return -1;
	}
	/* The nonce must be the one we sent, whole. */
	if (nonce_len != strlen(s->nonce) || memcmp(nonce, s->nonce, nonce_len) != 0) {
		*error_r = "SCRAM nonce mismatch";
		return -2;
	}
	/* RFC 5802 §6: c= must repeat the GS2 header, plus the binding data
	 * when one was asked for. */
	size_t gs2_len = strlen(s->gs2_header);
	char *cb_expect = arena_alloc(arena, gs2_len + cb_len + 1);
	memcpy(cb_expect, s->gs2_header, gs2_len);
	if (cb_len > 0)
		memcpy(cb_expect + gs2_len, cb_data, cb_len);
	const char *cb_want = scram_base64_encode(arena, (const unsigned char *)cb_expect,
						  gs2_len + cb_len);
	if (cb_b64_len != strlen(cb_want) || memcmp(cb_b64, cb_want, cb_b64_len) != 0) {
		*error_r = "SCRAM channel binding mismatch";
		return -2;
	}
	/* RFC 5802 §3: AuthMessage = client-first-bare "," server-first ","
	 * client-final-without-proof; ClientSignature = HMAC(StoredKey,
	 * AuthMessage); ClientKey = ClientProof XOR ClientSignature; the
	 * proof is right when H(ClientKey) = StoredKey. */
	char *auth_message = arena_printf(arena, "%s,%s,%.*s", s->client_first_bare,
					  s->server_first, (int)without_proof_end, msg);
	if (scram_hmac(digest, s->keys.stored_key, key_len, auth_message, strlen(auth_message),
		       signature) < 0) {
		*error_r = "HMAC failed";
		return -2;
	}
	for (size_t i = 0; i < key_len; i++)
		key[i] = proof[i] ^ signature[i];
	bool match = scram_hash(digest, key, key_len, stored) == 0 &&
		     CRYPTO_memcmp(stored, s->keys.stored_key, key_len) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	if (!match) {
		*error_r = "Invalid SCRAM proof";
		return -2;
	}
	/* ServerSignature = HMAC(ServerKey, AuthMessage) */
	if (scram_hmac(digest, s->keys.server_key, key_len, auth_message, strlen(auth_message),
		       signature) < 0) {
		*error_r = "HMAC failed";
		return -2;
	}
	*final_r = arena_printf(arena, "v=%s", scram_base64_encode(arena, signature, key_len));
	return 0;
}
