/*
 * loop: see loop.h. One epoll descriptor, a table of watched fds indexed by
 * fd number, a binary min-heap of one-shot timers, and a mutex-protected
 * queue of posted calls drained when an eventfd wakes the loop.
 *
 * Thread ownership: everything in struct loop belongs to the loop's thread,
 * except posts (guarded by post_lock) and stop (atomic); those two are the
 * only doors for other threads (loop_post, loop_stop).
 *
 * Stale events: an fd removed and reused (accept returns the same number)
 * inside one epoll batch must not receive the old fd's events, so every
 * registration carries a generation number in the epoll data.
 */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/log.h"
#include "core/mem.h"

/* Events taken from the kernel per epoll_wait: enough to amortise the call,
 * small enough that a stack array is fine (Redis uses the setsize). */
#define LOOP_MAX_EVENTS 256
/* The fd number used in epoll data for the wake eventfd never collides with
 * a table entry because the table is keyed by real fds; we tag it instead. */
#define LOOP_WAKE_TAG UINT64_MAX

struct loop_fd_entry {
	loop_fd_fn *fn;
	void *context;
	unsigned events;    /* LOOP_READ | LOOP_WRITE as requested */
	uint32_t gen;       /* matches epoll data of the current registration */
	bool used;
	bool exclusive;     /* EPOLLEXCLUSIVE: cannot be MODified, so DEL + ADD */
	bool in_epoll;      /* events == 0 takes the fd out of epoll */
};

struct loop_timer {
	uint64_t when;      /* loop_now_ms at which it is due */
	uint64_t seq;       /* tie-break: equal deadlines fire in creation order */
	size_t index;       /* position in the heap, for O(log n) cancel */
	loop_fn *fn;
	void *context;
};

struct loop_post_item {
	loop_fn *fn;        /* NULL once cancelled */
	void *context;
};

typedef ARRAY(struct loop_post_item) loop_post_array;

struct loop {
	int epoll_fd;
	int wake_fd;
	uint32_t next_gen;
	struct loop_fd_entry *fds;
	size_t fds_cap;
	ARRAY(struct loop_timer *) heap;
	uint64_t timer_seq;
	uint64_t now_ms;
	atomic_bool stop;
	pthread_mutex_t post_lock;
	loop_post_array posts;      /* guarded by post_lock */
	bool wake_pending;          /* guarded by post_lock: eventfd already written */
	loop_post_array running;    /* loop thread: the batch being run */
	size_t running_index;
};

/* The monotonic clock in ms; the cached copy in the loop saves syscalls. */
static uint64_t loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *loop = mem_zalloc(sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LOOP_WAKE_TAG };

	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->epoll_fd < 0 || loop->wake_fd < 0 ||
	    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
		log_error("loop: cannot create epoll/eventfd: %m");
		if (loop->epoll_fd >= 0)
			close(loop->epoll_fd);
		if (loop->wake_fd >= 0)
			close(loop->wake_fd);
		free(loop);
		return NULL;
	}
	pthread_mutex_init(&loop->post_lock, NULL);
	atomic_init(&loop->stop, false);
	loop->now_ms = loop_clock_ms();
	return loop;
}

void loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	for (size_t i = 0; i < loop->fds_cap; i++)
		if (loop->fds[i].used)
			log_warn("loop: fd %zu still watched at loop_free", i);
	for (size_t i = 0; i < loop->heap.count; i++)
		free(loop->heap.items[i]);
	array_free(&loop->heap);
	array_free(&loop->posts);
	array_free(&loop->running);
	free(loop->fds);
	pthread_mutex_destroy(&loop->post_lock);
	close(loop->epoll_fd);
	close(loop->wake_fd);
	free(loop);
}

/* ---- file descriptors ------------------------------------------------- */

/* The table slot for fd, growing the table when fd is new and large. */
static struct loop_fd_entry *loop_fd_slot(struct loop *loop, int fd, bool grow)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= loop->fds_cap) {
		if (!grow)
			return NULL;
		size_t cap = loop->fds_cap ? loop->fds_cap : 64;
		while (cap <= (size_t)fd)
			cap *= 2;
		loop->fds = mem_realloc(loop->fds, cap * sizeof(*loop->fds));
		memset(loop->fds + loop->fds_cap, 0, (cap - loop->fds_cap) * sizeof(*loop->fds));
		loop->fds_cap = cap;
	}
	return &loop->fds[fd];
}

/* Bring epoll in line with entry->events: in epoll only while events != 0,
 * so an fd nobody wants to hear from cannot spin the loop with EPOLLHUP. */
static int loop_fd_sync(struct loop *loop, int fd, struct loop_fd_entry *e)
{
	struct epoll_event ev = { 0 };
	int op;

	if (e->events == 0) {
		if (e->in_epoll && epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -1;
		e->in_epoll = false;
		return 0;
	}
	if (e->in_epoll && e->exclusive) {
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -1;
		e->in_epoll = false;
	}
	if (e->events & LOOP_READ)
		ev.events |= EPOLLIN;
	if (e->events & LOOP_WRITE)
		ev.events |= EPOLLOUT;
	if (e->exclusive)
		ev.events |= EPOLLEXCLUSIVE;
	ev.data.u64 = ((uint64_t)e->gen << 32) | (uint32_t)fd;
	op = e->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(loop->epoll_fd, op, fd, &ev) < 0)
		return -1;
	e->in_epoll = true;
	return 0;
}

/* Common body of loop_fd_add and loop_fd_add_exclusive. */
static int loop_fd_register(struct loop *loop, int fd, unsigned events, bool exclusive,
			    loop_fd_fn *fn, void *context)
{
	struct loop_fd_entry *e = loop_fd_slot(loop, fd, true);

	if (e == NULL || e->used) {
		errno = e == NULL ? EBADF : EEXIST;
		return -1;
	}
	*e = (struct loop_fd_entry){
		.fn = fn, .context = context, .events = events,
		.gen = ++loop->next_gen, .used = true, .exclusive = exclusive,
	};
	if (loop_fd_sync(loop, fd, e) < 0) {
		int saved = errno;
		*e = (struct loop_fd_entry){ 0 };
		errno = saved;
		return -1;
	}
	return 0;
}

int loop_fd_add(struct loop *loop, int fd, unsigned events, loop_fd_fn *fn, void *context)
{
	return loop_fd_register(loop, fd, events, false, fn, context);
}

int loop_fd_add_exclusive(struct loop *loop, int fd, unsigned events, loop_fd_fn *fn,
			  void *context)
{
	return loop_fd_register(loop, fd, events, true, fn, context);
}

int loop_fd_modify(struct loop *loop, int fd, unsigned events)
{
	struct loop_fd_entry *e = loop_fd_slot(loop, fd, false);

	if (e == NULL || !e->used) {
		errno = ENOENT;
		return -1;
	}
	if (e->events == events && (events == 0 || e->in_epoll))
		return 0;
	e->events = events;
	return loop_fd_sync(loop, fd, e);
}

void loop_fd_remove(struct loop *loop, int fd)
{
	struct loop_fd_entry *e = loop_fd_slot(loop, fd, false);

	if (e == NULL || !e->used)
		return;
	if (e->in_epoll)
		(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	*e = (struct loop_fd_entry){ 0 };
}

void *loop_fd_context(struct loop *loop, int fd)
{
	struct loop_fd_entry *e = loop_fd_slot(loop, fd, false);

	return e != NULL && e->used ? e->context : NULL;
}

/* ---- timers: a binary min-heap on (when, seq) ---------------------------- */

static bool loop_timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void loop_heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap.items[i] = t;
	t->index = i;
}

static void loop_heap_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap.items[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!loop_timer_before(t, loop->heap.items[parent]))
			break;
		loop_heap_set(loop, i, loop->heap.items[parent]);
		i = parent;
	}
	loop_heap_set(loop, i, t);
}

static void loop_heap_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap.items[i];
	size_t n = loop->heap.count;

	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n && loop_timer_before(loop->heap.items[child + 1],
						       loop->heap.items[child]))
			child++;
		if (!loop_timer_before(loop->heap.items[child], t))
			break;
		loop_heap_set(loop, i, loop->heap.items[child]);
		i = child;
	}
	loop_heap_set(loop, i, t);
}

/* Take the timer at heap position i out of the heap. */
static void loop_heap_remove(struct loop *loop, size_t i)
{
	struct loop_timer *last = loop->heap.items[--loop->heap.count];

	if (i == loop->heap.count)
		return;
	loop_heap_set(loop, i, last);
	loop_heap_down(loop, i);
	loop_heap_up(loop, last->index);
}

struct loop_timer *loop_timer_add(struct loop *loop, uint64_t ms, loop_fn *fn, void *context)
{
	struct loop_timer *t = mem_alloc(sizeof(*t));

	*t = (struct loop_timer){
		.when = loop->now_ms + ms, .seq = loop->timer_seq++, .fn = fn, .context = context,
	};
	array_push(&loop->heap, t);
	loop_heap_up(loop, loop->heap.count - 1);
	return t;
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
	if (timer == NULL)
		return;
	loop_heap_remove(loop, timer->index);
	free(timer);
}

/* Fire the timers that are due. Timers added while firing (a zero-delay
 * "soon" timer re-armed by its own callback) wait for the next iteration, so
 * I/O is never starved by a chain of zero-delay timers. */
static void loop_timers_run(struct loop *loop)
{
	uint64_t seq_limit = loop->timer_seq;

	while (loop->heap.count > 0) {
		struct loop_timer *t = loop->heap.items[0];
		if (t->when > loop->now_ms || t->seq >= seq_limit)
			break;
		loop_fn *fn = t->fn;
		void *context = t->context;
		loop_heap_remove(loop, 0);
		free(t);
		fn(loop, context);
	}
}

/* epoll_wait's timeout: until the earliest timer, or forever (-1). */
static int loop_timers_timeout(const struct loop *loop)
{
	if (loop->heap.count == 0)
		return -1;
	uint64_t when = loop->heap.items[0]->when;
	if (when <= loop->now_ms)
		return 0;
	uint64_t wait = when - loop->now_ms;
	return wait > (uint64_t)INT32_MAX ? INT32_MAX : (int)wait;
}

/* ---- posts from other threads ------------------------------------------- */

void loop_post(struct loop *loop, loop_fn *fn, void *context)
{
	struct loop_post_item item = { fn, context };
	bool wake;

	pthread_mutex_lock(&loop->post_lock);
	array_push(&loop->posts, item);
	wake = !loop->wake_pending;
	loop->wake_pending = true;
	pthread_mutex_unlock(&loop->post_lock);
	if (wake) {
		uint64_t one = 1;
		ssize_t w = write(loop->wake_fd, &one, sizeof(one));
		(void)w; /* EAGAIN means the counter is already non-zero: awake */
	}
}

void loop_post_cancel(struct loop *loop, void *context)
{
	pthread_mutex_lock(&loop->post_lock);
	for (size_t i = 0; i < loop->posts.count; i++)
		if (loop->posts.items[i].context == context)
			loop->posts.items[i].fn = NULL;
	pthread_mutex_unlock(&loop->post_lock);
	for (size_t i = loop->running_index; i < loop->running.count; i++)
		if (loop->running.items[i].context == context)
			loop->running.items[i].fn = NULL;
}

/* Swap the queue out under the lock, then run it unlocked so a posted call
 * may itself post (or cancel) without deadlocking. */
static void loop_posts_run(struct loop *loop)
{
	uint64_t count;
	ssize_t r = read(loop->wake_fd, &count, sizeof(count));
	loop_post_array batch;

	(void)r; /* EAGAIN: a spurious wake-up, nothing to read */
	pthread_mutex_lock(&loop->post_lock);
	batch = loop->posts;
	loop->posts = loop->running;
	array_clear(&loop->posts);
	loop->wake_pending = false;
	pthread_mutex_unlock(&loop->post_lock);
	loop->running = batch;
	for (loop->running_index = 0; loop->running_index < loop->running.count;) {
		struct loop_post_item item = loop->running.items[loop->running_index++];
		if (item.fn != NULL)
			item.fn(loop, item.context);
	}
	array_clear(&loop->running);
	loop->running_index = 0;
}

/* ---- running ----------------------------------------------------------- */

/* Hand one epoll event to its fd's callback, unless the registration it was
 * meant for is gone. Errors and hang-ups are reported as what was asked for,
 * so the owner's next read or write sees the error. */
static void loop_event_dispatch(struct loop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct loop_fd_entry *e;
	unsigned events = 0;

	if (ev->data.u64 == LOOP_WAKE_TAG) {
		loop_posts_run(loop);
		return;
	}
	e = loop_fd_slot(loop, fd, false);
	if (e == NULL || !e->used || e->gen != gen || !e->in_epoll)
		return;
	if (ev->events & EPOLLIN)
		events |= LOOP_READ;
	if (ev->events & EPOLLOUT)
		events |= LOOP_WRITE;
	if (ev->events & (EPOLLERR | EPOLLHUP))
		events |= e->events;
	events &= e->events;
	if (events != 0)
		e->fn(loop, fd, events, e->context);
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	int result = 0;

	while (!atomic_load(&loop->stop)) {
		int n = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS,
				   loop_timers_timeout(loop));
		loop->now_ms = loop_clock_ms();
		if (n < 0 && errno != EINTR) {
			log_error("loop: epoll_wait: %m");
			result = -1;
			break;
		}
		for (int i = 0; i < n; i++)
			loop_event_dispatch(loop, &events[i]);
		loop_timers_run(loop);
	}
	atomic_store(&loop->stop, false);
	return result;
}

void loop_stop(struct loop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stop, true);
	ssize_t w = write(loop->wake_fd, &one, sizeof(one));
	(void)w; /* EAGAIN: already awake */
}

uint64_t loop_now_ms(struct loop *loop)
{
	return loop->now_ms;
}
