/*
 * imap: the IMAP service (RFC 9051, RFC 3501 clients). This header is all
 * that the server's wiring (cli/serve.c) needs: one imap_server shared by
 * every loop, and a call that turns an accepted socket into a session.
 */
#ifndef BUZON_IMAP_H
#define BUZON_IMAP_H

#include <stdbool.h>

#include "auth/auth.h"
#include "core/config.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/worker.h"
#include "store/store.h"

/* Read-only after start; shared by all loops. */
struct delivery_writer;

struct imap_server {
	const struct config *config;
	struct tls_server *tls;
	struct store_bus *bus;
	struct worker_pool *workers;
	struct auth_service *auth; /* SASL and the login throttle (auth/auth.h) */
	/* Runs the sessions' store writes off the loops, group-committed
	 * (imap_store_write); NULL: they run on the loop (tools, tests). */
	struct delivery_writer *writer;
};

struct imap_session;

/* What one event loop's IMAP sessions share. Touched only on that loop's
 * thread. */
struct imap_loop {
	struct imap_server *server;
	struct loop *loop;
	struct store *store;              /* this loop's own store handle */
	struct imap_session *sessions;    /* every live session, for shutdown */
	size_t session_count;
	bool stopping;
	/* Called once, on the loop's thread, when shutting down and the last
	 * session is gone (the server then stops the loop when every
	 * service on it is done). */
	void (*on_stopped)(void *context);
	void *stopped_context;
};

/* Start a session on fd (accepted on the loop's thread). implicit_tls: the
 * imaps listener. */
void imap_session_start(struct imap_loop *iloop, int fd, bool implicit_tls);
/* Server shutdown: every session says BYE and closes once its running
 * command has finished (nothing half-done, nothing acknowledged lost).
 * When the last session is gone, iloop->on_stopped is called. */
void imap_loop_shutdown(struct imap_loop *iloop);

#endif
