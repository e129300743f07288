/*
 * loop: a tiny epoll event loop in the spirit of Redis' ae.c.
 *
 * One loop runs per thread (about one per core, DESIGN.md rule 5); every
 * session lives on exactly one loop and is only touched from its thread.
 * The one door into a loop from other threads is loop_post(), which queues a
 * call and wakes the loop through an eventfd: that is how the store's change
 * bus wakes an IDLE session within milliseconds.
 */
#ifndef BUZON_NET_LOOP_H
#define BUZON_NET_LOOP_H

#include <stdint.h>

enum loop_event { LOOP_READ = 1, LOOP_WRITE = 2 };

struct loop;
struct loop_timer;

typedef void loop_fd_fn(struct loop *loop, int fd, unsigned events, void *context);
typedef void loop_fn(struct loop *loop, void *context);

struct loop *loop_new(void);
/* Free the loop; every fd must have been removed. */
void loop_free(struct loop *loop);

/* Watch fd for events (LOOP_READ | LOOP_WRITE); level-triggered. */
int loop_fd_add(struct loop *loop, int fd, unsigned events, loop_fd_fn *fn, void *context);
int loop_fd_modify(struct loop *loop, int fd, unsigned events);
void loop_fd_remove(struct loop *loop, int fd);
/* Added: like loop_fd_add, but with EPOLLEXCLUSIVE, so that of several loops
 * watching one listening socket only one is woken per connection. */
int loop_fd_add_exclusive(struct loop *loop, int fd, unsigned events, loop_fd_fn *fn,
			  void *context);
/* Added: the context fd was added with, or NULL if fd is not in the loop.
 * Events 0 (loop_fd_add or loop_fd_modify) keep fd in the loop but take it
 * out of epoll, so not even an error or hang-up is reported for it. */
void *loop_fd_context(struct loop *loop, int fd);

/* One-shot timer after ms milliseconds. The handle is valid until the timer
 * fires or is cancelled. */
struct loop_timer *loop_timer_add(struct loop *loop, uint64_t ms, loop_fn *fn, void *context);
void loop_timer_cancel(struct loop *loop, struct loop_timer *timer);

/* Thread-safe: run fn(context) on the loop's thread soon. */
void loop_post(struct loop *loop, loop_fn *fn, void *context);
/* On the loop's thread: drop queued posts whose context is context (an
 * object about to be freed). */
void loop_post_cancel(struct loop *loop, void *context);

/* Run until loop_stop(). Returns 0, or -1 if epoll fails. */
int loop_run(struct loop *loop);
/* Thread-safe: make loop_run return after the current iteration. */
void loop_stop(struct loop *loop);
/* Monotonic milliseconds, cached per iteration. */
uint64_t loop_now_ms(struct loop *loop);

#endif
