/*
 * sasl: decoding of SASL messages shared by IMAP, POP3 and SMTP AUTH.
 * Pure functions; no I/O, no account lookups.
 */
#ifndef BUZON_AUTH_SASL_H
#define BUZON_AUTH_SASL_H

#include <stddef.h>

#include "core/arena.h"

/* SASL PLAIN (RFC 4616): base64 of "authzid NUL authcid NUL passwd".
 * Decodes b64[0..len) into the three parts (authzid may be ""). Returns 0,
 * or -1 with *error_r on malformed input (bad base64, missing NULs, empty
 * user or password). */
int sasl_plain_decode(struct arena *arena, const char *b64, size_t len, char **authzid_r,
		      char **authcid_r, char **password_r, const char **error_r);

/* OAUTHBEARER (RFC 7628 §3.1) client message, already base64-decoded:
 * gs2-header ("n" or "y", optional "a=" authzid) then kvsep-separated
 * key=value pairs, one of them "auth=Bearer TOKEN", ending in two kvseps.
 * *authzid_r is NULL when absent. 0, or -1 with *error_r. */
int sasl_oauthbearer_decode(struct arena *arena, const char *msg, size_t len, char **authzid_r,
			    char **token_r, const char **error_r);
/* XOAUTH2 (Google's): "user=" USER ^A "auth=Bearer " TOKEN ^A ^A. */
int sasl_xoauth2_decode(struct arena *arena, const char *msg, size_t len, char **user_r,
			char **token_r, const char **error_r);

/* Base64 (RFC 4648 §4) decode into the arena; NUL-terminated. Whitespace
 * is not allowed. Returns 0 or -1. */
int sasl_base64_decode(struct arena *arena, const char *in, size_t len, char **out_r,
		       size_t *out_len_r);

#endif
