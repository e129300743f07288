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

#include <stddef.h>

#include "core/config.h"
#include "store/store.h"

struct queue;
struct queue_runner;

/* Open (creating if needed) the queue under config->data_dir. */
int queue_open(const struct config *config, struct queue **queue_r, const char **error_r);
void queue_close(struct queue *queue);

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

#endif
