/*
 * jwt: local validation of OAuth 2.0 bearer tokens that are JWTs (RFC 7519)
 * signed with JWS (RFC 7515): RS256, ES256 (RFC 7518 §3.3, §3.4) and EdDSA
 * with Ed25519 (RFC 8037), against public keys from a JWKS file (RFC 7517)
 * or PEM files. "none", HMAC algorithms and "crit" headers are refused:
 * only a key the administrator configured can vouch for a token.
 *
 * After the signature: iss must be the configured issuer, aud the
 * configured audience (a string, or one of an array), exp must be in the
 * future and nbf (when present) in the past, each with JWT_LEEWAY seconds
 * of clock skew; a configured claim (e.g. "email") names the account.
 *
 * A key set is built once and not changed after (auth.c builds a new one
 * when the key files change, and swaps it in); verification is
 * thread-safe.
 */
#ifndef BUZON_AUTH_JWT_H
#define BUZON_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* Clock skew we forgive between the issuer and us. */
#define JWT_LEEWAY 30
/* A compact JWT longer than this is not a bearer token we accept. */
#define JWT_MAX_LENGTH 16384

struct jwt_keys;

struct jwt_keys *jwt_keys_new(void);
void jwt_keys_free(struct jwt_keys *keys);
/* Add the usable keys of a JWKS document (RSA, EC P-256, OKP Ed25519;
 * others are skipped). 0, or -1 with *error_r when the document is not a
 * JWKS or a key of a supported type is malformed. */
int jwt_keys_add_jwks(struct jwt_keys *keys, const char *json, size_t len,
		      const char **error_r);
/* Add the public key of a PEM file (no kid: it is tried for any token of
 * its type). 0 or -1 with *error_r. */
int jwt_keys_add_pem(struct jwt_keys *keys, const char *path, const char **error_r);
size_t jwt_keys_count(const struct jwt_keys *keys);

enum jwt_result {
	JWT_OK,
	JWT_MALFORMED,       /* not a compact JWS with JSON header and claims */
	JWT_UNSUPPORTED_ALG, /* alg is not RS256, ES256 or EdDSA (Ed25519) */
	JWT_NO_KEY,          /* no configured key for its kid / type */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,         /* exp missing or past */
	JWT_NOT_YET_VALID,   /* nbf in the future */
	JWT_WRONG_ISSUER,
	JWT_WRONG_AUDIENCE,
	JWT_NO_ACCOUNT,      /* the account claim is missing or not a string */
};

struct jwt_expect {
	const char *issuer;
	const char *audience;
	const char *account_claim;
	int64_t now;         /* Unix seconds */
};

/* true when token has the shape of a compact JWS (three base64url parts). */
bool jwt_looks_like(const char *token);
/* Verify token; on JWT_OK *account_r (arena) is the account claim. */
enum jwt_result jwt_verify(const struct jwt_keys *keys, struct arena *arena, const char *token,
			   const struct jwt_expect *expect, const char **account_r);
/* A short English reason for the log. */
const char *jwt_result_text(enum jwt_result result);

/* RFC 4648 §5 base64url without padding, into the arena (NUL-terminated).
 * 0 or -1. */
int jwt_base64url_decode(struct arena *arena, const char *in, size_t len,
			 unsigned char **out_r, size_t *out_len_r);

#endif
