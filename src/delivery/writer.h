/*
 * writer: the delivery writer, group commit for SMTP, submission and LMTP.
 *
 * Rule 1 says a 250 means durable, and a durable commit costs an fsync of
 * several milliseconds. Done on an event loop, every delivery paid its own
 * fsync and the loop stood still meanwhile (rule 5). The writer is one
 * thread with its own store and queue handles: sessions hand it finished
 * messages (delivery_writer_submit) and go on serving other connections;
 * the writer takes EVERY message that is waiting when it starts a commit
 * and stores them all in one transaction (store_message_deliver_batch: one
 * fsync), then hands remote recipients to the outbound queue, and only then
 * calls each job's done (so the 250 still follows the commit that holds
 * the message). While one batch commits, the next one gathers.
 *
 * Threads: delivery_writer_submit is thread-safe; done runs on the writer's
 * thread and must only post back to the submitter's loop.
 */
#ifndef BUZON_DELIVERY_WRITER_H
#define BUZON_DELIVERY_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

struct delivery_writer;

/* One recipient of a finished message. */
struct delivery_rcpt {
	char *address;
	int64_t account_id;   /* local account; 0: remote, for the outbound queue */
	unsigned notify;      /* RFC 3461 NOTIFY bits (dsn.h); 0 = absent */
	const char *orcpt;    /* RFC 3461 ORCPT as received, or NULL */
};

/* One finished message. The submitter fills the inputs, keeps everything
 * it points to alive until done, and reads the results in done. */
struct delivery_job {
	const char *id;                     /* for logs */
	const char *sender;                 /* "" for <> */
	const char *envid;                  /* RFC 3461 ENVID as received, or NULL */
	int ret;                            /* RFC 3461 RET (enum dsn_ret) */
	const struct delivery_rcpt *rcpts;
	size_t rcpt_count;
	const char *data;                   /* as stored locally (Return-Path first) */
	size_t size;
	size_t queued_at;                   /* the queue's copy starts here (no Return-Path) */

	/* Quota (RFC 9208): over_quota_r (rcpt_count entries, from the
	 * submitter) is set true for each local recipient whose account had
	 * no room: the others still get the message. With bounce_over_quota
	 * (SMTP, which has one reply for all) and some recipients served, the
	 * sender is told about the full ones in an RFC 3464 bounce. */
	bool *over_quota_r;
	bool bounce_over_quota;

	/* results: < 0 when that part failed (then nothing is acknowledged) */
	int local_rc, remote_rc;
	size_t local_count, remote_count;   /* distinct local accounts, queued recipients */

	/* Called on the writer's thread when both parts are durable or failed. */
	void (*done)(struct delivery_job *job);
	void *context;

	struct delivery_job *next;          /* the writer's list */
};

/* A store write of a protocol session (IMAP STORE, EXPUNGE, APPEND, COPY,
 * MOVE), run on the writer's thread so that no event loop waits for an
 * fsync or the write lock (rule 5). run is called there with the writer's
 * store inside a group transaction shared with the other store jobs of the
 * cycle (store_group_begin); it must touch nothing but the job's own data
 * (no session, no loop), and returns a STORE_* code with *error_r set
 * when < 0. done is then called on the writer's thread after the group's
 * COMMIT (rule 1) with rc and error filled in (a failed commit fails every
 * job), and must only post back to the submitter's loop. */
struct delivery_store_job {
	int (*run)(struct store *store, struct delivery_store_job *job, const char **error_r);
	void (*done)(struct delivery_store_job *job);
	void *context;
	int rc;                 /* result: STORE_OK or < 0 */
	char error[256];        /* with rc < 0: why, for the log */
	struct delivery_store_job *next; /* the writer's list */
};

/* Start the writer thread with its own store and queue handles (stores
 * publish on bus). NULL with *error_r on failure. */
struct delivery_writer *delivery_writer_start(const struct config *config,
					      struct store_bus *bus, const char **error_r);
/* Thread-safe: queue a job; its done will be called exactly once. */
void delivery_writer_submit(struct delivery_writer *writer, struct delivery_job *job);
/* Thread-safe: queue a store job; its done will be called exactly once. */
void delivery_writer_submit_store(struct delivery_writer *writer, struct delivery_store_job *job);
/* Finish every submitted job, then join the thread and free the writer. */
void delivery_writer_stop(struct delivery_writer *writer);

#endif
