/*
 * introspect: OAuth 2.0 token introspection (RFC 7662) for opaque bearer
 * tokens, over a small blocking HTTPS/1.1 client built on OpenSSL.
 *
 * Blocking on purpose: it runs on the worker pool (net/worker.h), never on
 * an event loop (rule 5), and every step is bounded by a deadline
 * (INTROSPECT_TIMEOUT_MS): DNS, connect, handshake, request, answer. The
 * server's certificate is verified (the configured CA file, else the
 * system's) against the URL's host name or IP address; TLS 1.2 and up.
 * Thread-safe.
 */
#ifndef BUZON_AUTH_INTROSPECT_H
#define BUZON_AUTH_INTROSPECT_H

#include <stdint.h>

#include "core/arena.h"

#define INTROSPECT_TIMEOUT_MS 10000
/* An introspection answer is a small JSON object. */
#define INTROSPECT_RESPONSE_MAX (64 * 1024)

struct introspect_config {
	const char *url;           /* https://host[:port]/path */
	const char *client_id;     /* HTTP Basic credentials (RFC 7662 §2.1), or NULL */
	const char *client_secret;
	const char *ca_file;       /* NULL: the system's trust store */
	const char *issuer;        /* when the answer has "iss", it must be this */
	const char *audience;      /* when it has "aud", it must include this */
	const char *account_claim; /* the member that names the account */
};

enum introspect_result {
	INTROSPECT_ACTIVE,       /* *account_r set */
	INTROSPECT_INACTIVE,     /* "active": false, or a claim check failed (*why_r) */
	INTROSPECT_UNAVAILABLE,  /* network, TLS, HTTP or JSON trouble (*why_r) */
};

/* Ask the introspection endpoint about token. Blocks (worker thread).
 * *exp_r: the answer's "exp" (Unix seconds), or 0 when it has none or
 * there was no answer; a caller that caches must not keep an answer past
 * it (RFC 7662 §4). */
enum introspect_result introspect_token(const struct introspect_config *config,
					struct arena *arena, const char *token, int64_t now,
					const char **account_r, int64_t *exp_r, const char **why_r);

#endif
