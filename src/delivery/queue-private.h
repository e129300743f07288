/*
 * queue-private: what the runner (runner.c) needs from the queue's storage
 * (queue.c) beyond queue.h. Internal to src/delivery/.
 */
#ifndef BUZON_DELIVERY_QUEUE_PRIVATE_H
#define BUZON_DELIVERY_QUEUE_PRIVATE_H

#include <stdint.h>

#include "delivery/queue.h"

/* Due recipients read per scan; the rest wait for the next one. */
#define QUEUE_SCAN_MAX 1000

/* A pending recipient whose next attempt is due. */
struct queue_due {
	int64_t message_id;
	char *address;
	char *domain; /* lower case; "" when the address has none */
	unsigned notify; /* RFC 3461, to pass on */
	char *orcpt;     /* NULL when none */
};

/* Pending recipients due at now, ordered by domain then message. */
int queue_due_list(struct queue *queue, long long now, struct arena *arena,
		   struct queue_due **due_r, size_t *count_r, const char **error_r);
/* The earliest next attempt of any pending recipient (0 when none). */
int queue_next_due(struct queue *queue, long long *when_r, const char **error_r);

/* One message's envelope and bytes. ENOTFOUND (-2) when deleted meanwhile. */
int queue_message_get(struct queue *queue, int64_t message_id, struct arena *arena,
		      struct queue_entry *entry_r, const char **data_r, const char **error_r);

/* The outcome of one attempt for one recipient: DELIVERED, FAILED, or
 * PENDING for a temporary failure (retried with backoff, or FAILED when the
 * message is older than queue_lifetime). reply is the server's reply or our
 * reason. */
struct queue_result {
	const char *address;
	enum queue_state state;
	const char *reply;
};
int queue_record(struct queue *queue, int64_t message_id, const struct queue_result *results,
		 size_t count, long long now, const char **error_r);

/* The recipients of message_id in state FAILED (with the envelope); then,
 * once they are reported, queue_settle marks them BOUNCED and removes the
 * message when nobody is pending any more. */
int queue_failed_list(struct queue *queue, int64_t message_id, struct arena *arena,
		      struct queue_entry *entry_r, const char **error_r);
int queue_settle(struct queue *queue, int64_t message_id, const char **error_r);
/* Every recipient of message_id (any state), with the envelope. */
int queue_recipients_list(struct queue *queue, int64_t message_id, struct arena *arena,
			  struct queue_entry *entry_r, const char **error_r);
/* A "delayed" DSN went out for address of message_id: never again. */
int queue_mark_delay_reported(struct queue *queue, int64_t message_id,
			      const char *const *addresses, size_t count, const char **error_r);

/* Send a DSN message (bytes) to sender (not ""): into the sender's INBOX
 * when its domain is local, else queued with an empty sender. what names
 * the cause in logs. 0, or -1 when it could not be handed over (the
 * caller may try again later). */
int queue_dsn_send(const struct config *config, struct store *store, struct queue *queue,
		   const char *sender, const char *dsn, size_t size, const char *what,
		   const char **error_r);

#endif
