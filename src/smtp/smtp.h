/*
 * smtp: the SMTP engine (RFC 5321 and its ESMTP extensions) serving three
 * kinds of listener: MX (`smtp`: mail from anyone for the local domains),
 * submission (`submission`, `submissions`: authenticated users, local mail
 * stored at once, the rest handed to the outbound queue) and LMTP (`lmtp`,
 * RFC 2033: one reply per recipient). This header is all the server's
 * wiring (cli/serve.c) needs.
 */
#ifndef BUZON_SMTP_H
#define BUZON_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"
#include "core/config.h"
#include "delivery/queue.h"
#include "delivery/writer.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/worker.h"
#include "store/store.h"

enum smtp_kind {
	SMTP_KIND_MX,
	SMTP_KIND_SUBMISSION,
	SMTP_KIND_LMTP,
	SMTP_KIND_COUNT
};

/* Read-only after start; shared by all loops. */
struct smtp_server {
	const struct config *config;
	struct tls_server *tls;
	struct store_bus *bus;
	struct worker_pool *workers;
	struct delivery_writer *writer; /* group commit of finished messages */
	struct auth_service *auth; /* SASL and the login throttle (auth/auth.h) */
};

struct smtp_session;

/* What one event loop's sessions of one kind share. Touched only on that
 * loop's thread. */
struct smtp_loop {
	struct smtp_server *server;
	enum smtp_kind kind;
	struct loop *loop;
	struct store *store;            /* this loop's own store handle */
	struct queue *queue;            /* submission: this loop's queue handle, or NULL
					   (remote recipients then get 451) */
	struct smtp_session *sessions;  /* every live session, for shutdown */
	size_t session_count;
	bool stopping;
	/* Called once, on the loop's thread, when shutting down and the last
	 * session is gone. */
	void (*on_stopped)(void *context);
	void *stopped_context;
};

/* Start a session on fd (accepted on the loop's thread). implicit_tls: the
 * submissions listener (RFC 8314). */
void smtp_session_start(struct smtp_loop *sloop, int fd, bool implicit_tls);
/* Server shutdown: idle sessions get 421 and close; a running command
 * finishes first. When the last session is gone, on_stopped is called. */
void smtp_loop_shutdown(struct smtp_loop *sloop);

#endif
