/*
 * writer: group commit of finished messages on a thread of its own (see
 * writer.h). The store allows one writer at a time anyway (SQLite's write
 * lock), so one thread loses no parallelism: it replaces several loops
 * queueing for the lock, each with its own fsync, by one transaction for
 * whatever has arrived, while the loops keep serving.
 *
 * The same thread runs the IMAP sessions' writes (store jobs: STORE,
 * EXPUNGE, APPEND, COPY, MOVE): every store job waiting when a cycle
 * starts shares one group transaction (store_group_begin), so many
 * sessions' flag changes cost one fsync, and deliveries and IMAP writes
 * never wait for each other's write lock.
 */
#include "delivery/writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/mem.h"
#include "delivery/dsn.h"
#include "delivery/queue-private.h"

/* Jobs in one transaction at most: a bound on the work (and the memory of
 * parse results) between two commits; more wait for the next batch. */
#define DELIVERY_BATCH_MAX 64

struct delivery_writer {
	const struct config *config; /* outlives the writer (serve's) */
	pthread_t thread;
	struct store *store;   /* the writer thread's own */
	struct queue *queue;   /* the writer thread's own */
	pthread_mutex_t lock;  /* guards head, tail, stopping */
	pthread_cond_t wake;
	struct delivery_job *head, *tail;
	struct delivery_store_job *store_head, *store_tail;
	bool stopping;
};

/* The distinct local accounts of a job (one stored copy for all of them,
 * and one INBOX row each even when several addresses are one account). */
static size_t writer_local_accounts(const struct delivery_job *job, int64_t *ids)
{
	size_t n = 0;

	for (size_t i = 0; i < job->rcpt_count; i++) {
		int64_t id = job->rcpts[i].account_id;
		bool seen = id == 0;

		for (size_t k = 0; k < n && !seen; k++)
			seen = ids[k] == id;
		if (!seen)
			ids[n++] = id;
	}
	return n;
}

/* Hand a job's remote recipients, with their DSN parameters, to the
 * outbound queue (its own commit). */
static void writer_queue_job(struct delivery_writer *writer, struct delivery_job *job)
{
	struct queue_rcpt *rcpts = mem_alloc((job->rcpt_count + 1) * sizeof(*rcpts));
	const char *error;
	char *id = NULL;
	size_t n = 0;

	for (size_t i = 0; i < job->rcpt_count; i++) {
		if (job->rcpts[i].account_id == 0)
			rcpts[n++] = (struct queue_rcpt){ job->rcpts[i].address,
							  job->rcpts[i].notify,
							  job->rcpts[i].orcpt };
	}
	job->remote_count = n;
	job->remote_rc = 0;
	if (n > 0) {
		job->remote_rc = queue_submit_dsn(writer->queue, job->sender, job->envid,
						  job->ret, rcpts, n, job->data + job->queued_at,
						  job->size - job->queued_at, &id, &error);
		if (job->remote_rc < 0)
			log_error("delivery: %s: queueing failed: %s", job->id, error);
		else
			log_info("delivery: %s: queued as %s for %zu remote recipients", job->id,
				 id, n);
	}
	free(id);
	free(rcpts);
}

/* After the commit: which local recipients' accounts had no room (the
 * store left them out: uids_r 0, or EOVERQUOTA when nobody had room). */
static void writer_note_over_quota(struct delivery_job *job, const struct store_delivery *d)
{
	for (size_t i = 0; i < job->rcpt_count && job->over_quota_r != NULL; i++) {
		for (size_t k = 0; k < d->count; k++) {
			if (job->rcpts[i].account_id == d->account_ids[k] &&
			    (d->rc_r == STORE_EOVERQUOTA || d->uids_r[k] == 0))
				job->over_quota_r[i] = true;
		}
	}
}

/* SMTP answered (or will answer) 250 for a message some local recipients
 * could not take for quota: tell the sender in an RFC 3464 bounce, into
 * their INBOX when they are local, else through the queue with an empty
 * sender. Never for a bounce (RFC 5321 §4.5.5), nor when nobody got the
 * message (the session answers 552 then). */
static void writer_bounce_over_quota(struct delivery_writer *writer, struct delivery_job *job)
{
	struct dsn_recipient *failures;
	struct buf dsn = BUF_INIT;
	const char *error;
	size_t n = 0;

	if (!job->bounce_over_quota || job->over_quota_r == NULL || job->sender[0] == '\0')
		return;
	for (size_t i = 0; i < job->rcpt_count; i++)
		n += job->over_quota_r[i];
	if (n == 0 || n == job->rcpt_count)
		return;
	failures = mem_alloc(n * sizeof(*failures));
	n = 0;
	for (size_t i = 0; i < job->rcpt_count; i++) {
		/* RFC 3461 §5.2.6: not to those whose NOTIFY excludes FAILURE. */
		if (job->over_quota_r[i] &&
		    dsn_notify_wants(job->rcpts[i].notify, DSN_NOTIFY_FAILURE))
			failures[n++] = (struct dsn_recipient){ job->rcpts[i].address,
				job->rcpts[i].orcpt, DSN_ACTION_FAILED, "552 5.2.2 Mailbox full" };
	}
	long long now = (long long)time(NULL);
	struct dsn_report report = {
		.hostname = writer->config->hostname, .sender = job->sender,
		.envid = job->envid, .ret = (enum dsn_ret)job->ret, .rcpts = failures,
		.count = n, .original = job->data + job->queued_at,
		.original_size = job->size - job->queued_at, .arrival = now, .now = now,
	};
	if (n > 0) {
		dsn_build_report(&dsn, &report);
		if (queue_dsn_send(writer->config, writer->store, writer->queue, job->sender,
				   dsn.data, dsn.len, job->id, &error) < 0)
			log_warn("delivery: %s: over-quota bounce to %s: %s", job->id,
				 job->sender, error);
		log_info("delivery: %s: %zu recipients over quota, bounced to <%s>", job->id, n,
			 job->sender);
	}
	buf_free(&dsn);
	free(failures);
}

/* RFC 3461 §5.2.3 (a): a local recipient that asked NOTIFY=SUCCESS gets a
 * "delivered" DSN once its message is stored; never for a null sender
 * (§5.2). The message is acknowledged whether or not this works: the DSN
 * is a courtesy, the delivery is what rule 1 protects. */
static void writer_success_dsn(struct delivery_writer *writer, struct delivery_job *job)
{
	struct dsn_recipient *rcpts;
	size_t n = 0;
	const char *error;

	if (job->local_rc < 0 || job->sender[0] == '\0')
		return;
	rcpts = mem_alloc((job->rcpt_count + 1) * sizeof(*rcpts));
	for (size_t i = 0; i < job->rcpt_count; i++) {
		const struct delivery_rcpt *r = &job->rcpts[i];
		bool stored = job->over_quota_r == NULL || !job->over_quota_r[i];
		if (r->account_id != 0 && (r->notify & DSN_NOTIFY_SUCCESS) && stored)
			rcpts[n++] = (struct dsn_recipient){ r->address, r->orcpt,
							     DSN_ACTION_DELIVERED, NULL };
	}
	if (n > 0) {
		struct buf dsn = BUF_INIT;
		long long now = (long long)time(NULL);
		struct dsn_report report = {
			.hostname = writer->config->hostname, .sender = job->sender,
			.envid = job->envid, .ret = (enum dsn_ret)job->ret, .rcpts = rcpts,
			.count = n, .original = job->data + job->queued_at,
			.original_size = job->size - job->queued_at, .arrival = now, .now = now,
		};
		dsn_build_report(&dsn, &report);
		if (queue_dsn_send(writer->config, writer->store, writer->queue, job->sender,
				   dsn.data, dsn.len, job->id, &error) < 0)
			log_error("delivery: %s: success DSN to %s: %s", job->id, job->sender,
				  error);
		buf_free(&dsn);
	}
	free(rcpts);
}

/* One batch: every local part in one transaction, then the queue, then
 * the answers. */
static void writer_run_batch(struct delivery_writer *writer, struct delivery_job *jobs)
{
	struct store_delivery deliveries[DELIVERY_BATCH_MAX];
	struct delivery_job *owner[DELIVERY_BATCH_MAX];
	size_t count = 0;
	const char *error;

	for (struct delivery_job *job = jobs; job != NULL; job = job->next) {
		int64_t *ids = mem_alloc((job->rcpt_count + 1) * sizeof(*ids));

		job->local_count = writer_local_accounts(job, ids);
		job->local_rc = 0;
		if (job->local_count == 0) {
			free(ids);
			continue;
		}
		deliveries[count] = (struct store_delivery){
			.account_ids = ids, .count = job->local_count, .data = job->data,
			.size = job->size,
			.uids_r = mem_alloc(job->local_count * sizeof(uint32_t)),
		};
		owner[count++] = job;
	}
	if (count > 0 && store_message_deliver_batch(writer->store, deliveries, count, &error) < 0)
		log_error("delivery: commit of %zu messages failed: %s", count, error);
	for (size_t i = 0; i < count; i++) {
		if (deliveries[i].rc_r == STORE_EOVERQUOTA || deliveries[i].rc_r == STORE_OK)
			writer_note_over_quota(owner[i], &deliveries[i]);
		if (deliveries[i].rc_r < 0 && deliveries[i].rc_r != STORE_EOVERQUOTA) {
			owner[i]->local_rc = -1;
			log_error("delivery: %s: local delivery failed: %s", owner[i]->id,
				  deliveries[i].error_r);
		}
		free((void *)deliveries[i].account_ids);
		free(deliveries[i].uids_r);
	}
	if (count > 1)
		log_debug("delivery: %zu messages in one commit", count);
	for (struct delivery_job *job = jobs, *next; job != NULL; job = next) {
		next = job->next;
		writer_queue_job(writer, job);
		if (job->local_rc == 0 && job->remote_rc == 0)
			writer_bounce_over_quota(writer, job);
		writer_success_dsn(writer, job);
		job->next = NULL;
		job->done(job);
	}
}

/* Take up to DELIVERY_BATCH_MAX waiting jobs, in arrival order. Called
 * with the lock held. */
static struct delivery_job *writer_take(struct delivery_writer *writer)
{
	struct delivery_job *first = writer->head, *last = first;

	if (first == NULL)
		return NULL;
	for (size_t n = 1; n < DELIVERY_BATCH_MAX && last->next != NULL; n++)
		last = last->next;
	writer->head = last->next;
	if (writer->head == NULL)
		writer->tail = NULL;
	last->next = NULL;
	return first;
}

/* The same for store jobs. */
static struct delivery_store_job *writer_take_store(struct delivery_writer *writer)
{
	struct delivery_store_job *first = writer->store_head, *last = first;

	if (first == NULL)
		return NULL;
	for (size_t n = 1; n < DELIVERY_BATCH_MAX && last->next != NULL; n++)
		last = last->next;
	writer->store_head = last->next;
	if (writer->store_head == NULL)
		writer->store_tail = NULL;
	last->next = NULL;
	return first;
}

/* A job's result and error, the error copied out of the store handle
 * (the next job reuses it). */
static void writer_store_result(struct delivery_store_job *job, int rc, const char *error)
{
	job->rc = rc;
	if (rc < 0)
		snprintf(job->error, sizeof(job->error), "%s", error ? error : "store error");
}

/* Store jobs in one group transaction: each runs in a savepoint of its
 * own (one that fails is undone alone), then ONE commit, then every done:
 * nobody is answered before the commit that holds its change (rule 1).
 * When the group cannot start or commit, every job fails with it. */
static void writer_run_store_jobs(struct delivery_writer *writer,
				  struct delivery_store_job *jobs)
{
	const char *error = NULL;
	size_t count = 0;
	int rc = store_group_begin(writer->store, &error);

	for (struct delivery_store_job *job = jobs; job != NULL; job = job->next, count++) {
		const char *job_error = NULL;

		if (rc < 0) {
			writer_store_result(job, rc, error);
			continue;
		}
		writer_store_result(job, job->run(writer->store, job, &job_error), job_error);
	}
	if (rc == 0 && (rc = store_group_commit(writer->store, &error)) < 0) {
		log_error("delivery: commit of %zu store jobs failed: %s", count, error);
		for (struct delivery_store_job *job = jobs; job != NULL; job = job->next) {
			if (job->rc >= 0)
				writer_store_result(job, rc, error);
		}
	}
	if (count > 1)
		log_debug("delivery: %zu store jobs in one commit", count);
	for (struct delivery_store_job *job = jobs, *next; job != NULL; job = next) {
		next = job->next;
		job->next = NULL;
		job->done(job);
	}
}

static void *writer_main(void *context)
{
	struct delivery_writer *writer = context;

	pthread_mutex_lock(&writer->lock);
	for (;;) {
		while (writer->head == NULL && writer->store_head == NULL && !writer->stopping)
			pthread_cond_wait(&writer->wake, &writer->lock);
		if (writer->head == NULL && writer->store_head == NULL)
			break; /* stopping, and nothing is left */
		struct delivery_job *jobs = writer_take(writer);
		struct delivery_store_job *store_jobs = writer_take_store(writer);
		pthread_mutex_unlock(&writer->lock);
		if (jobs != NULL)
			writer_run_batch(writer, jobs);
		if (store_jobs != NULL)
			writer_run_store_jobs(writer, store_jobs);
		pthread_mutex_lock(&writer->lock);
	}
	pthread_mutex_unlock(&writer->lock);
	return NULL;
}

struct delivery_writer *delivery_writer_start(const struct config *config,
					      struct store_bus *bus, const char **error_r)
{
	struct delivery_writer *writer = mem_zalloc(sizeof(*writer));
	struct store_settings settings;

	writer->config = config;
	store_settings_from_config(config, &settings);
	if (store_open(&settings, bus, &writer->store, error_r) < 0) {
		free(writer);
		return NULL;
	}
	store_quota_set_default(writer->store, config_quota_storage_kib(config),
				config_quota_messages(config));
	if (queue_open(config, &writer->queue, error_r) < 0) {
		store_close(writer->store);
		free(writer);
		return NULL;
	}
	pthread_mutex_init(&writer->lock, NULL);
	pthread_cond_init(&writer->wake, NULL);
	if (pthread_create(&writer->thread, NULL, writer_main, writer) != 0) {
		*error_r = "delivery: cannot start the writer thread";
		pthread_cond_destroy(&writer->wake);
		pthread_mutex_destroy(&writer->lock);
		queue_close(writer->queue);
		store_close(writer->store);
		free(writer);
		return NULL;
	}
	return writer;
}

void delivery_writer_submit(struct delivery_writer *writer, struct delivery_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&writer->lock);
	if (writer->tail != NULL)
		writer->tail->next = job;
	else
		writer->head = job;
	writer->tail = job;
	pthread_cond_signal(&writer->wake);
	pthread_mutex_unlock(&writer->lock);
}

void delivery_writer_submit_store(struct delivery_writer *writer, struct delivery_store_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&writer->lock);
	if (writer->store_tail != NULL)
		writer->store_tail->next = job;
	else
		writer->store_head = job;
	writer->store_tail = job;
	pthread_cond_signal(&writer->wake);
	pthread_mutex_unlock(&writer->lock);
}

void delivery_writer_stop(struct delivery_writer *writer)
{
	if (writer == NULL)
		return;
	pthread_mutex_lock(&writer->lock);
	writer->stopping = true;
	pthread_cond_signal(&writer->wake);
	pthread_mutex_unlock(&writer->lock);
	pthread_join(writer->thread, NULL);
	pthread_cond_destroy(&writer->wake);
	pthread_mutex_destroy(&writer->lock);
	queue_close(writer->queue);
	store_close(writer->store);
	free(writer);
}
