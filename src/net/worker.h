/*
 * worker: a small pool of threads for work that must not run on an event
 * loop (rule 5): password hashing (yescrypt takes tens of milliseconds),
 * certificate generation, later long searches.
 *
 * work(context) runs on a pool thread; done(loop, context) is then posted
 * back to the submitting loop. The caller keeps context alive until done.
 */
#ifndef BUZON_NET_WORKER_H
#define BUZON_NET_WORKER_H

#include "net/loop.h"

struct worker_pool;

typedef void worker_fn(void *context);

struct worker_pool *worker_pool_new(unsigned threads);
/* Finish queued work, join the threads and free the pool. */
void worker_pool_free(struct worker_pool *pool);
void worker_pool_submit(struct worker_pool *pool, struct loop *loop, worker_fn *work,
			loop_fn *done, void *context);

#endif
