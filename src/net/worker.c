/*
 * worker: see worker.h. A fixed set of threads taking jobs from one FIFO
 * queue guarded by a mutex and a condition variable. When a job's work is
 * done, its done callback is handed to the submitting loop with loop_post,
 * so the caller's state is only ever touched on its own loop thread.
 *
 * Thread ownership: the queue and the stopping flag belong to lock; a job
 * belongs to the queue until a thread takes it, then to that thread until it
 * is posted back.
 */
#include "net/worker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/mem.h"

/* More threads than this is a configuration mistake (the work is CPU-bound
 * hashing, so beyond the core count threads only add contention). */
#define WORKER_MAX_THREADS 256

struct worker_job {
	struct worker_job *next;
	struct loop *loop;
	worker_fn *work;
	loop_fn *done;
	void *context;
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct worker_job *head;
	struct worker_job *tail;
	bool stopping;
	unsigned count;
	pthread_t *threads;
};

/* The next job, or NULL when the pool is stopping and the queue is empty:
 * queued work is always finished before the threads exit. */
static struct worker_job *worker_job_take(struct worker_pool *pool)
{
	struct worker_job *job;

	pthread_mutex_lock(&pool->lock);
	while (pool->head == NULL && !pool->stopping)
		pthread_cond_wait(&pool->wake, &pool->lock);
	job = pool->head;
	if (job != NULL) {
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	return job;
}

static void *worker_thread_main(void *arg)
{
	struct worker_pool *pool = arg;
	struct worker_job *job;

	while ((job = worker_job_take(pool)) != NULL) {
		job->work(job->context);
		if (job->done != NULL)
			loop_post(job->loop, job->done, job->context);
		free(job);
	}
	return NULL;
}

struct worker_pool *worker_pool_new(unsigned threads)
{
	struct worker_pool *pool = mem_zalloc(sizeof(*pool));

	if (threads == 0)
		threads = 1;
	if (threads > WORKER_MAX_THREADS)
		threads = WORKER_MAX_THREADS;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pool->threads = mem_zalloc(threads * sizeof(*pool->threads));
	for (unsigned i = 0; i < threads; i++) {
		int err = pthread_create(&pool->threads[i], NULL, worker_thread_main, pool);
		if (err != 0) {
			log_error("worker: cannot start thread %u of %u (error %d)", i + 1,
				  threads, err);
			if (i == 0)
				mem_panic("worker: no thread could be started");
			break;
		}
		pool->count++;
	}
	return pool;
}

void worker_pool_free(struct worker_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->count; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}

void worker_pool_submit(struct worker_pool *pool, struct loop *loop, worker_fn *work,
			loop_fn *done, void *context)
{
	struct worker_job *job = mem_alloc(sizeof(*job));

	*job = (struct worker_job){
		.loop = loop, .work = work, .done = done, .context = context,
	};
	pthread_mutex_lock(&pool->lock);
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}
