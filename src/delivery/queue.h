/*
 * queue: the outbound queue (issue 4). Mail for remote recipients, accepted
 * by submission (or a bounce for a remote sender), waits here until it is
 * delivered over SMTP, retried with backoff for about five days, or bounced
 * to its sender as an RFC 3464 DSN.
 *
 * Rule 1: queue_submit returns 0 only after the message and its envelope
 * are on stable storage; a kill -9 at any moment loses nothing accepted.
 *
 * Threads: a struct queue is one handle on the queue's storage and belongs
 * to one thread (each event loop opens its own, like struct store). The
 * runner has threads of its own.
 */
#ifndef BUZON_DELIVERY_QUEUE_H
#define BUZON_DELIVERY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/config.h"
#include "store/store.h"

struct queue;
struct queue_runner;

/* Open (creating if needed) the queue under config->data_dir. */
int queue_open(const struct config *config, struct queue **queue_r, const char **error_r);
void queue_close(struct queue *queue);

/* One recipient with its RFC 3461 parameters, for queue_submit_dsn. */
struct queue_rcpt {
	const char *address;
	unsigned notify;        /* enum dsn_notify bits; 0 = NOTIFY absent */
	const char *orcpt;      /* ORCPT as received (addr-type;xtext), or NULL */
};

/* queue_submit with the DSN envelope (RFC 3461): envid (xtext as received,
 * or NULL) and ret (enum dsn_ret), kept with the message and passed on to
 * a next hop that offers DSN. Durable on return. */
int queue_submit_dsn(struct queue *queue, const char *sender, const char *envid, int ret,
		     const struct queue_rcpt *recipients, size_t count, const char *data,
		     size_t size, char **id_r, const char **error_r);

/* Accept one message for remote recipients. sender may be "" (a bounce:
 * never bounced again). *id_r (malloc'd) names the entry for logs and
 * `buzon queue`. Durable on return. */
int queue_submit(struct queue *queue, const char *sender, const char *const *recipients,
		 size_t count, const char *data, size_t size, char **id_r, const char **error_r);

/* Start delivering in the background (serve): its own thread(s) and
 * handles; bounces for local senders go in through store_message_deliver
 * and are published on bus. NULL with *error_r on failure. */
struct queue_runner *queue_runner_start(const struct config *config, struct store_bus *bus,
					const char **error_r);
/* Stop at once (an attempt in flight is abandoned and retried later: the
 * entry stays in the queue) and join the threads. */
void queue_runner_stop(struct queue_runner *runner);

/* ---- looking at the queue (`buzon queue`) ------------------------------ */

/* A recipient's state. FAILED is reported to the sender (or was not
 * reportable) once BOUNCED. */
enum queue_state {
	QUEUE_PENDING = 0,
	QUEUE_DELIVERED = 1,
	QUEUE_FAILED = 2,
	QUEUE_BOUNCED = 3,
};

struct queue_recipient {
	char *address;
	enum queue_state state;
	unsigned attempts;
	long long next_attempt; /* unix time */
	char *last_reply;       /* "" before the first attempt */
	unsigned notify;        /* RFC 3461 NOTIFY bits; 0 = absent */
	char *orcpt;            /* ORCPT as received, or NULL */
	bool delay_reported;    /* a "delayed" DSN went out for it */
};

struct queue_entry {
	char *id;
	char *sender;           /* "" for a bounce */
	long long created;      /* unix time */
	size_t size;
	char *envid;            /* RFC 3461 ENVID as received (xtext), or NULL */
	int ret;                /* enum dsn_ret */
	struct queue_recipient *recipients;
	size_t count;
};

/* Every entry, oldest first, allocated in arena. */
int queue_list(struct queue *queue, struct arena *arena, struct queue_entry **entries_r,
	       size_t *count_r, const char **error_r);
/* Make every pending recipient due now (the runner picks them up within
 * about a second). *count_r: how many. */
int queue_flush(struct queue *queue, size_t *count_r, const char **error_r);
/* Remove an entry without delivering or bouncing it. -2 (*error_r set)
 * when there is no entry id. */
int queue_delete(struct queue *queue, const char *id, const char **error_r);

/* Seconds to wait after the attempts-th failed attempt (1, 2, ...):
 * base, 3 base, 6 base, 12 base, 24 base, then 48 base each time (with the
 * default base of 5 minutes: 5 min, 15, 30, 1 h, 2 h, 4 h, 4 h ...;
 * RFC 5321 §4.5.4.1). */
long long queue_retry_delay(unsigned attempts, unsigned base);

#endif
