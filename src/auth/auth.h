/*
 * auth: the one SASL implementation IMAP, POP3 and submission share.
 *
 * A table of mechanisms (SCRAM-SHA-256-PLUS, SCRAM-SHA-256, OAUTHBEARER and
 * XOAUTH2 when OAuth is configured, PLAIN, LOGIN)
 * drives one state machine per login attempt (struct auth_request). The
 * protocols keep only their framing: they hand in the client's base64
 * lines (an initial response too, SASL-IR) and send the base64 challenges
 * back in their own syntax ("+ " in IMAP and POP3, "334 " in SMTP). What
 * each protocol advertises (CAPABILITY AUTH=, CAPA SASL, EHLO AUTH) comes
 * from the same table and the connection: -PLUS only on TLS.
 *
 * Every attempt goes through the failure throttle (per client address and
 * per account, shared by all loops): a failure is answered after a delay
 * that grows with the failures before it, on a loop timer (nobody else
 * waits), and past a limit the address or account is refused for a while
 * without any password being checked. Each failure is logged as
 *
 *     PROTOCOL: authentication failed for USER from ADDRESS
 *
 * with USER escaped (no spaces or control characters), so a fail2ban
 * filter can anchor on "from <HOST>$".
 *
 * Threads: auth_service is shared by every loop and worker (the throttle
 * table, the OAuth keys, reloaded when their files change, and the cache
 * of introspection answers each have their lock); an auth_request belongs
 * to one loop and is touched only there.
 */
#ifndef BUZON_AUTH_AUTH_H
#define BUZON_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/worker.h"
#include "store/store.h"

struct auth_service;
struct auth_request;
struct auth_mech;

/* What the process shares: the worker pool (password hashes, token
 * introspection), a random secret (fake SCRAM salts for unknown names), the
 * OAuth keys and the throttle. NULL (logged) when the oauth_* keys are
 * inconsistent or their files unreadable. */
struct auth_service *auth_service_new(const struct config *config, struct worker_pool *workers);
void auth_service_free(struct auth_service *service);

/* The mechanism called name (any case) if it is offered on conn, else
 * NULL. */
const struct auth_mech *auth_mech_find(const struct auth_service *service,
				       const struct conn *conn, const char *name);
/* The names of the mechanisms offered on conn, strongest first, into
 * names_r (at most max); returns how many. */
size_t auth_mech_list(const struct auth_service *service, const struct conn *conn,
		      const char **names_r, size_t max);

enum auth_status {
	AUTH_CONTINUE,  /* send *challenge_r (base64, maybe ""), then wait for a line */
	AUTH_ASYNC,     /* the end comes through done, later, on this loop */
	AUTH_BAD,       /* malformed client message (*error_r); the request is freed */
	AUTH_CANCELLED, /* the client sent "*"; the request is freed */
};

enum auth_result {
	AUTH_OK,          /* account_id and address set */
	AUTH_FAILED,      /* wrong name, password or proof (after the throttle delay) */
	AUTH_REFUSED,     /* too many failures from this address or for this account */
	AUTH_DENIED,      /* the client asked to act as another user (an authzid) */
	AUTH_UNAVAILABLE, /* the store failed; try again later */
	AUTH_CHALLENGE,   /* not the end: send challenge, wait for a line, hand it to
			   * auth_request_continue (OAuth's error status, RFC 7628 §3.2.2) */
};

/* The answer to an AUTH_ASYNC step, on the loop's thread; address (lower
 * case) only for AUTH_OK, challenge (base64) only for AUTH_CHALLENGE, both
 * valid only during the call. The request is freed after the call returns,
 * except after AUTH_CHALLENGE. */
typedef void auth_done_fn(void *context, enum auth_result result, int64_t account_id,
			  const char *address, const char *challenge);

/* A new login attempt on conn (read now: peer address, TLS channel
 * bindings), by protocol ("imap", "pop3", "smtp": the log prefix). done is
 * called once if and only if a step returns AUTH_ASYNC. */
struct auth_request *auth_request_new(struct auth_service *service, struct loop *loop,
				      struct store *store, struct conn *conn,
				      const char *protocol, auth_done_fn *done, void *context);
/* Drop a request waiting for a client line (AUTH_CONTINUE): the
 * connection went away. Never after AUTH_ASYNC. */
void auth_request_free(struct auth_request *request);

/* Begin mech with the initial response ir (base64; "" for an empty one,
 * NULL when the client sent none). */
enum auth_status auth_request_start(struct auth_request *request, const struct auth_mech *mech,
				    const char *ir, const char **challenge_r,
				    const char **error_r);
/* The client's next line (base64, or "*" to cancel). */
enum auth_status auth_request_continue(struct auth_request *request, const char *line,
				       size_t len, const char **challenge_r,
				       const char **error_r);
/* A plain user name and password (IMAP LOGIN, POP3 USER/PASS): always
 * AUTH_ASYNC. */
enum auth_status auth_request_password(struct auth_request *request, const char *user,
				       const char *password);

#endif
