/*
 * pop3: the POP3 service (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH
 * RFC 5034) on the INBOX of the store. This header is all that the server's
 * wiring (cli/serve.c) needs: one pop3_server shared by every loop, one
 * pop3_loop per loop, and a call that turns an accepted socket into a
 * session.
 */
#ifndef BUZON_POP3_H
#define BUZON_POP3_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/array.h"
#include "auth/auth.h"
#include "core/config.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/worker.h"
#include "store/store.h"

struct pop3_size_entry;

/* Shared by all loops. The first four fields are read-only after start;
 * the rest is guarded by lock (held only for a few instructions). */
struct pop3_server {
	const struct config *config;
	struct tls_server *tls;
	struct worker_pool *workers;
	struct auth_service *auth; /* SASL and the login throttle (auth/auth.h) */
	pthread_mutex_t lock;
	/* Accounts whose maildrop a session holds in the TRANSACTION state
	 * (RFC 1939 §4: exclusive access; RFC 2449 §8.1.2 [IN-USE]). */
	ARRAY(int64_t) in_use;
	/* Exact POP3 sizes of messages already counted, so that a client
	 * that keeps mail on the server does not make us read it all again
	 * at every login (see maildrop.c). */
	struct pop3_size_entry *size_cache;
};

void pop3_server_init(struct pop3_server *server, const struct config *config,
		      struct tls_server *tls, struct worker_pool *workers);
void pop3_server_free(struct pop3_server *server);

struct pop3_session;

/* What one event loop's POP3 sessions share. Touched only on that loop's
 * thread. */
struct pop3_loop {
	struct pop3_server *server;
	struct loop *loop;
	struct store *store;              /* this loop's own store handle */
	struct pop3_session *sessions;    /* every live session, for shutdown */
	size_t session_count;
	bool stopping;
	/* Called once, on the loop's thread, when shutting down and the last
	 * session is gone. */
	void (*on_stopped)(void *context);
	void *stopped_context;
};

/* Start a session on fd (accepted on the loop's thread). implicit_tls: the
 * pop3s listener. */
void pop3_session_start(struct pop3_loop *ploop, int fd, bool implicit_tls);
/* Server shutdown: every session closes once its running command is done
 * (no QUIT was given, so nothing is deleted: RFC 1939 §6). When the last one
 * is gone, ploop->on_stopped is called. */
void pop3_loop_shutdown(struct pop3_loop *ploop);

#endif
