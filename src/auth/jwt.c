/*
 * jwt: see jwt.h. OpenSSL 3 does the cryptography (EVP_DigestVerify); the
 * token, JSON and JWKS parsing are ours (core/json.h).
 */
#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/json.h"
#include "core/mem.h"

/* RFC 7518 §3.3: a key of size 2048 bits or larger MUST be used. */
#define JWT_RSA_MIN_BITS 2048
/* A JWKS file with more keys than this is not a key set we expect. */
#define JWT_KEYS_MAX 64

enum jwt_key_type { JWT_KEY_RSA, JWT_KEY_EC256, JWT_KEY_ED25519 };

struct jwt_key {
	char *kid;            /* NULL: matches any kid */
	enum jwt_key_type type;
	EVP_PKEY *pkey;
};

struct jwt_keys {
	ARRAY(struct jwt_key) keys;
};

struct jwt_keys *jwt_keys_new(void)
{
	return mem_zalloc(sizeof(struct jwt_keys));
}

void jwt_keys_free(struct jwt_keys *keys)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < keys->keys.count; i++) {
		free(keys->keys.items[i].kid);
		EVP_PKEY_free(keys->keys.items[i].pkey);
	}
	array_free(&keys->keys);
	free(keys);
}

size_t jwt_keys_count(const struct jwt_keys *keys)
{
	return keys->keys.count;
}

static int jwt_b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

int jwt_base64url_decode(struct arena *arena, const char *in, size_t len,
			 unsigned char **out_r, size_t *out_len_r)
{
	/* RFC 7515 §2: no padding; a length of 1 mod 4 cannot occur. */
	if (len % 4 == 1)
		return -1;
	unsigned char *out = arena_alloc(arena, len / 4 * 3 + 3);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		int v = jwt_b64url_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (acc != 0)
		return -1;
	out[n] = '\0';
	*out_r = out;
	*out_len_r = n;
	return 0;
}

static void jwt_keys_push(struct jwt_keys *keys, const char *kid, enum jwt_key_type type,
			  EVP_PKEY *pkey)
{
	struct jwt_key key = { kid != NULL ? mem_strdup(kid) : NULL, type, pkey };

	array_push(&keys->keys, key);
}

/* The type of a public key, or -1 when it is none we use. */
static int jwt_pkey_type(EVP_PKEY *pkey)
{
	char group[64];
	size_t len;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(pkey) >= JWT_RSA_MIN_BITS ? JWT_KEY_RSA : -1;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &len) == 1 &&
		    strcmp(group, "prime256v1") == 0)
			return JWT_KEY_EC256;
		return -1;
	case EVP_PKEY_ED25519:
		return JWT_KEY_ED25519;
	default:
		return -1;
	}
}

/* A member of a JWK that is base64url: decoded, or NULL. */
static unsigned char *jwt_jwk_bytes(struct arena *arena, const struct json_value *jwk,
				    const char *name, size_t *len_r)
{
	const char *s = json_get_string(jwk, name);
	unsigned char *out;

	if (s == NULL || jwt_base64url_decode(arena, s, strlen(s), &out, len_r) < 0 || *len_r == 0)
		return NULL;
	return out;
}

/* EVP_PKEY_fromdata for a public key of algorithm name. */
static EVP_PKEY *jwt_pkey_from_params(const char *name, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* One JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2): a key, NULL with
 * *error_r for a malformed one, NULL without for a type we skip. */
static EVP_PKEY *jwt_jwk_key(struct arena *arena, const struct json_value *jwk,
			     const char **error_r)
{
	const char *kty = json_get_string(jwk, "kty");
	const char *use = json_get_string(jwk, "use");
	size_t n1, n2;
	EVP_PKEY *pkey = NULL;

	*error_r = NULL;
	if (kty == NULL) {
		*error_r = "a key without kty";
		return NULL;
	}
	if (use != NULL && strcmp(use, "sig") != 0)
		return NULL;
	if (strcmp(kty, "RSA") == 0) {
		unsigned char *n = jwt_jwk_bytes(arena, jwk, "n", &n1);
		unsigned char *e = jwt_jwk_bytes(arena, jwk, "e", &n2);
		if (n == NULL || e == NULL) {
			*error_r = "an RSA key without n or e";
			return NULL;
		}
		BIGNUM *bn = BN_bin2bn(n, (int)n1, NULL), *be = BN_bin2bn(e, (int)n2, NULL);
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		if (bn != NULL && be != NULL && bld != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
			pkey = jwt_pkey_from_params("RSA", bld);
		OSSL_PARAM_BLD_free(bld);
		BN_free(bn);
		BN_free(be);
	} else if (strcmp(kty, "EC") == 0) {
		const char *crv = json_get_string(jwk, "crv");
		if (crv == NULL || strcmp(crv, "P-256") != 0)
			return NULL;
		unsigned char *x = jwt_jwk_bytes(arena, jwk, "x", &n1);
		unsigned char *y = jwt_jwk_bytes(arena, jwk, "y", &n2);
		if (x == NULL || y == NULL || n1 != 32 || n2 != 32) {
			*error_r = "a P-256 key without 32-byte x and y";
			return NULL;
		}
		unsigned char point[65];
		point[0] = 0x04; /* uncompressed (SEC 1 §2.3.3) */
		memcpy(point + 1, x, 32);
		memcpy(point + 33, y, 32);
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		if (bld != NULL &&
		    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1",
						    0) == 1 &&
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						     sizeof(point)) == 1)
			pkey = jwt_pkey_from_params("EC", bld);
		OSSL_PARAM_BLD_free(bld);
	} else if (strcmp(kty, "OKP") == 0) {
		const char *crv = json_get_string(jwk, "crv");
		if (crv == NULL || strcmp(crv, "Ed25519") != 0)
			return NULL;
		unsigned char *x = jwt_jwk_bytes(arena, jwk, "x", &n1);
		if (x == NULL || n1 != 32) {
			*error_r = "an Ed25519 key without a 32-byte x";
			return NULL;
		}
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, n1);
	} else {
		return NULL;
	}
	if (pkey == NULL)
		*error_r = "OpenSSL refused a key";
	return pkey;
}

int jwt_keys_add_jwks(struct jwt_keys *keys, const char *json, size_t len, const char **error_r)
{
	struct arena *arena = arena_new();
	struct json_value *doc;
	int rc = -1;

	if (json_parse(arena, json, len, &doc, error_r) < 0)
		goto out;
	const struct json_value *list = json_get(doc, "keys");
	if (list == NULL || list->type != JSON_ARRAY) {
		*error_r = "not a JWKS: no \"keys\" array";
		goto out;
	}
	for (size_t i = 0; i < list->count; i++) {
		if (keys->keys.count >= JWT_KEYS_MAX) {
			*error_r = "too many keys";
			goto out;
		}
		EVP_PKEY *pkey = jwt_jwk_key(arena, list->items[i], error_r);
		if (pkey == NULL) {
			if (*error_r != NULL)
				goto out;
			continue;
		}
		int type = jwt_pkey_type(pkey);
		if (type < 0) {
			EVP_PKEY_free(pkey);
			*error_r = "a key too weak or of an unsupported curve";
			goto out;
		}
		jwt_keys_push(keys, json_get_string(list->items[i], "kid"), (enum jwt_key_type)type,
			      pkey);
	}
	rc = 0;
out:
	arena_free(arena);
	return rc;
}

int jwt_keys_add_pem(struct jwt_keys *keys, const char *path, const char **error_r)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		*error_r = "cannot open the PEM file";
		return -1;
	}
	EVP_PKEY *pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		*error_r = "no PEM public key in the file";
		return -1;
	}
	int type = jwt_pkey_type(pkey);
	if (type < 0) {
		EVP_PKEY_free(pkey);
		*error_r = "not an RSA (2048 bits or more), P-256 or Ed25519 key";
		return -1;
	}
	jwt_keys_push(keys, NULL, (enum jwt_key_type)type, pkey);
	return 0;
}

/* The signature part may be empty: that is an unsecured JWS ("none"),
 * which jwt_verify must see to refuse, not hand on to introspection. */
bool jwt_looks_like(const char *token)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;

	return dot2 != NULL && strchr(dot2 + 1, '.') == NULL && dot1 > token && dot2 > dot1 + 1;
}

/* One signature check with one key. */
static bool jwt_verify_with(const struct jwt_key *key, const unsigned char *data, size_t len,
			    const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	bool ok = false;

	if (ctx == NULL)
		return false;
	switch (key->type) {
	case JWT_KEY_RSA:
		ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
		     EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
		break;
	case JWT_KEY_EC256: {
		/* RFC 7518 §3.4: the JWS signature is R || S, 32 bytes each;
		 * OpenSSL wants a DER ECDSA-Sig-Value. */
		if (sig_len != 64)
			break;
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
		if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			break;
		}
		int der_len = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		ok = der_len > 0 &&
		     EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
		     EVP_DigestVerify(ctx, der, (size_t)der_len, data, len) == 1;
		break;
	}
	case JWT_KEY_ED25519:
		/* RFC 8037 §3.1: Ed25519 over the signing input, no digest. */
		ok = sig_len == 64 && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
		break;
	}
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Decode one part into a JSON object. */
static const struct json_value *jwt_part_json(struct arena *arena, const char *p, size_t len)
{
	unsigned char *data;
	size_t n;
	struct json_value *v;
	const char *error;

	if (jwt_base64url_decode(arena, p, len, &data, &n) < 0 ||
	    json_parse(arena, (const char *)data, n, &v, &error) < 0 || v->type != JSON_OBJECT)
		return NULL;
	return v;
}

/* RFC 7519 §4.1.3: aud is a string or an array of strings. */
static bool jwt_audience_ok(const struct json_value *aud, const char *want)
{
	if (aud == NULL)
		return false;
	if (aud->type == JSON_STRING)
		return strcmp(aud->string, want) == 0;
	if (aud->type != JSON_ARRAY)
		return false;
	for (size_t i = 0; i < aud->count; i++) {
		if (aud->items[i]->type == JSON_STRING && strcmp(aud->items[i]->string, want) == 0)
			return true;
	}
	return false;
}

enum jwt_result jwt_verify(const struct jwt_keys *keys, struct arena *arena, const char *token,
			   const struct jwt_expect *expect, const char **account_r)
{
	size_t len = strlen(token);

	if (len > JWT_MAX_LENGTH || !jwt_looks_like(token))
		return JWT_MALFORMED;
	const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
	const struct json_value *header = jwt_part_json(arena, token, (size_t)(dot1 - token));
	const struct json_value *claims = jwt_part_json(arena, dot1 + 1,
							(size_t)(dot2 - dot1 - 1));
	unsigned char *sig;
	size_t sig_len;
	if (header == NULL || claims == NULL ||
	    jwt_base64url_decode(arena, dot2 + 1, strlen(dot2 + 1), &sig, &sig_len) < 0)
		return JWT_MALFORMED;
	/* RFC 7515 §4.1.11: a "crit" we do not understand must be refused. */
	if (json_get(header, "crit") != NULL)
		return JWT_UNSUPPORTED_ALG;
	const char *alg = json_get_string(header, "alg");
	enum jwt_key_type type;
	if (alg == NULL)
		return JWT_MALFORMED;
	if (strcmp(alg, "RS256") == 0)
		type = JWT_KEY_RSA;
	else if (strcmp(alg, "ES256") == 0)
		type = JWT_KEY_EC256;
	else if (strcmp(alg, "EdDSA") == 0)
		type = JWT_KEY_ED25519;
	else
		return JWT_UNSUPPORTED_ALG;
	const char *kid = json_get_string(header, "kid");
	bool tried = false, good = false;
	for (size_t i = 0; i < keys->keys.count && !good; i++) {
		const struct jwt_key *key = &keys->keys.items[i];
		if (key->type != type || (kid != NULL && key->kid != NULL && strcmp(kid, key->kid) != 0))
			continue;
		tried = true;
		good = jwt_verify_with(key, (const unsigned char *)token, (size_t)(dot2 - token), sig,
				       sig_len);
	}
	if (!tried)
		return JWT_NO_KEY;
	if (!good)
		return JWT_BAD_SIGNATURE;
	/* The claims (RFC 7519 §4.1), only once the signature holds. */
	int64_t exp, nbf;
	const char *iss = json_get_string(claims, "iss");
	if (iss == NULL || strcmp(iss, expect->issuer) != 0)
		return JWT_WRONG_ISSUER;
	if (!jwt_audience_ok(json_get(claims, "aud"), expect->audience))
		return JWT_WRONG_AUDIENCE;
	if (!json_get_integer(claims, "exp", &exp) || exp + JWT_LEEWAY <= expect->now)
		return JWT_EXPIRED;
	if (json_get(claims, "nbf") != NULL &&
	    (!json_get_integer(claims, "nbf", &nbf) || nbf - JWT_LEEWAY > expect->now))
		return JWT_NOT_YET_VALID;
	const char *account = json_get_string(claims, expect->account_claim);
	if (account == NULL || account[0] == '\0')
		return JWT_NO_ACCOUNT;
	*account_r = account;
	return JWT_OK;
}

const char *jwt_result_text(enum jwt_result result)
{
	switch (result) {
	case JWT_OK: return "valid";
	case JWT_MALFORMED: return "malformed token";
	case JWT_UNSUPPORTED_ALG: return "unsupported algorithm";
	case JWT_NO_KEY: return "no key for the token";
	case JWT_BAD_SIGNATURE: return "bad signature";
	case JWT_EXPIRED: return "expired";
	case JWT_NOT_YET_VALID: return "not yet valid";
	case JWT_WRONG_ISSUER: return "wrong issuer";
	case JWT_WRONG_AUDIENCE: return "wrong audience";
	case JWT_NO_ACCOUNT: return "no account claim";
	}
	return "?";
}
