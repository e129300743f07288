/*
 * bus: the change bus of store.h (DESIGN.md rule 4). A back end publishes
 * "mailbox M of account A reached modseq N" after each commit; every session
 * watching account A is called at once and wakes its own loop.
 *
 * Threads: the bus is shared by every loop thread. One mutex guards the
 * watch lists and is held while watch functions run, which is what lets
 * store_bus_unwatch() promise that its function is not running and never
 * will again: unwatch takes the same lock. The price is that a watch
 * function must be short (note the event, wake the loop) and must not call
 * back into the bus.
 *
 * Watches are kept in buckets hashed by account, so a publish touches only
 * the sessions of its own account even with tens of thousands of IDLEs.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"

/* Buckets of the account hash: a power of two; with 10,000 accounts online
 * a bucket holds about ten, so a publish scans only a handful of watches. */
#define STORE_BUS_BUCKETS 1024

struct store_watch {
	struct store_watch *prev, *next; /* in the bucket's list */
	int64_t account_id;
	store_watch_fn *fn;
	void *context;
};

struct store_bus {
	pthread_mutex_t lock; /* guards buckets and every watch in them */
	uint64_t origin;      /* set once at creation, read-only after */
	struct store_watch *buckets[STORE_BUS_BUCKETS];
};

/* The bucket list an account's watches live in. */
static struct store_watch **store_bus_bucket(struct store_bus *bus, int64_t account_id)
{
	uint64_t h = (uint64_t)account_id * 0x9E3779B97F4A7C15ull;

	return &bus->buckets[(h >> 32) & (STORE_BUS_BUCKETS - 1)];
}

/* One bus per process, created by main before the loops start. */
struct store_bus *store_bus_new(void)
{
	struct store_bus *bus = mem_zalloc(sizeof(*bus));

	if (pthread_mutex_init(&bus->lock, NULL) != 0)
		mem_panic("store_bus_new: pthread_mutex_init failed");
	/* The origin only has to differ between processes sharing a store:
	 * random bytes, or the pid and clock when there are none. */
	if (getrandom(&bus->origin, sizeof(bus->origin), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(bus->origin))
		bus->origin = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
	bus->origin &= INT64_MAX; /* stored as a signed SQL integer */
	if (bus->origin == 0)
		bus->origin = 1;
	return bus;
}

/* Called after every loop has stopped; frees watches nobody unwatched. */
void store_bus_free(struct store_bus *bus)
{
	if (bus == NULL)
		return;
	for (size_t i = 0; i < STORE_BUS_BUCKETS; i++) {
		struct store_watch *w = bus->buckets[i];

		while (w != NULL) {
			struct store_watch *next = w->next;

			free(w);
			w = next;
		}
	}
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

/* A session starts watching its account (at login or SELECT). */
struct store_watch *store_bus_watch(struct store_bus *bus, int64_t account_id,
				    store_watch_fn *fn, void *context)
{
	struct store_watch *w = mem_zalloc(sizeof(*w));
	struct store_watch **head;

	w->account_id = account_id;
	w->fn = fn;
	w->context = context;
	pthread_mutex_lock(&bus->lock);
	head = store_bus_bucket(bus, account_id);
	w->next = *head;
	if (*head != NULL)
		(*head)->prev = w;
	*head = w;
	pthread_mutex_unlock(&bus->lock);
	return w;
}

/* Holding the lock that publish holds while calling out means that once we
 * have it, no call of w->fn is in progress, and after unlinking none can
 * start. Must not be called from inside a watch function (it would
 * deadlock on the lock its caller holds). */
void store_bus_unwatch(struct store_bus *bus, struct store_watch *watch)
{
	if (watch == NULL)
		return;
	pthread_mutex_lock(&bus->lock);
	if (watch->prev != NULL)
		watch->prev->next = watch->next;
	else
		*store_bus_bucket(bus, watch->account_id) = watch->next;
	if (watch->next != NULL)
		watch->next->prev = watch->prev;
	pthread_mutex_unlock(&bus->lock);
	free(watch);
}

/* Called by a back end after COMMIT, once per event. */
void store_bus_publish(struct store_bus *bus, const struct store_event *event)
{
	if (bus == NULL)
		return;
	pthread_mutex_lock(&bus->lock);
	for (struct store_watch *w = *store_bus_bucket(bus, event->account_id); w != NULL;
	     w = w->next) {
		if (w->account_id == event->account_id)
			w->fn(w->context, event);
	}
	pthread_mutex_unlock(&bus->lock);
}

uint64_t store_bus_origin(const struct store_bus *bus)
{
	return bus != NULL ? bus->origin : 0;
}
