/*
 * serve: `buzon -c FILE serve`, the server's wiring. It prepares what every
 * loop shares (TLS context, change bus, worker pool, listening sockets),
 * starts one event loop thread per core (rule 5), and waits for SIGTERM or
 * SIGINT. Then every loop stops accepting, lets running commands finish,
 * says BYE to its sessions and exits; the store is closed last, so nothing
 * acknowledged is ever lost (rule 1: it was on disk before the OK anyway).
 */
#include "cli/cli.h"
#include "core/log.h"
#include "core/mem.h"
#include "imap/imap.h"
#include "net/listen.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/worker.h"
#include "store/store.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Password hashing threads: enough to keep login bursts off the loops
 * without competing with them for every core. */
#define SERVE_WORKER_THREADS 2
/* No machine we run on has more cores than this worth a loop each. */
#define SERVE_MAX_LOOPS 256

struct serve_listener {
	const char *name;
	const struct config_listen *addr;
	bool implicit_tls;
	int fd;
};

struct serve_thread {
	pthread_t thread;
	struct imap_loop iloop;
	struct serve_listener *listeners;
	size_t listener_count;
	int status;
};

static void serve_on_accept_plain(struct loop *loop, int fd, void *context)
{
	imap_session_start(context, fd, false);
}

static void serve_on_accept_tls(struct loop *loop, int fd, void *context)
{
	imap_session_start(context, fd, true);
}

/* On the loop's own thread: stop accepting, then wind the sessions down. */
static void serve_shutdown_loop(struct loop *loop, void *context)
{
	struct serve_thread *t = context;

	for (size_t i = 0; i < t->listener_count; i++)
		listen_unwatch(loop, t->listeners[i].fd);
	imap_loop_shutdown(&t->iloop);
}

static void *serve_thread_main(void *context)
{
	struct serve_thread *t = context;

	for (size_t i = 0; i < t->listener_count; i++) {
		listen_accept_fn *fn = t->listeners[i].implicit_tls ? serve_on_accept_tls :
								      serve_on_accept_plain;
		if (listen_watch(t->iloop.loop, t->listeners[i].fd, fn, &t->iloop) < 0) {
			log_error("serve: cannot watch the %s listener", t->listeners[i].name);
			t->status = -1;
			return NULL;
		}
	}
	if (loop_run(t->iloop.loop) < 0)
		t->status = -1;
	return NULL;
}

/* Which listeners this build serves. The others are accepted in the config
 * (it is a contract) but not started yet: say so instead of failing. */
static size_t serve_open_listeners(const struct config *config, struct serve_listener *out)
{
	const struct { const char *name; const struct config_listen *addr; bool tls; } all[] = {
		{ "imap", &config->imap, false }, { "imaps", &config->imaps, true },
	};
	const struct { const char *name; const struct config_listen *addr; } later[] = {
		{ "pop3", &config->pop3 }, { "pop3s", &config->pop3s }, { "smtp", &config->smtp },
		{ "submission", &config->submission }, { "submissions", &config->submissions },
		{ "lmtp", &config->lmtp },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		if (later[i].addr->enabled)
			log_warn("serve: the %s listener is not implemented yet; not started",
				 later[i].name);
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *error;
		if (!all[i].addr->enabled)
			continue;
		out[n] = (struct serve_listener){ all[i].name, all[i].addr, all[i].tls, -1 };
		if (listen_open(all[i].addr, &out[n].fd, &error) < 0) {
			log_error("serve: %s listener: %s", all[i].name, error);
			for (size_t k = 0; k < n; k++)
				close(out[k].fd);
			return SIZE_MAX;
		}
		log_info("serve: %s listening on %s:%s", all[i].name,
			 all[i].addr->host ? all[i].addr->host : "*",
			 all[i].addr->port ? all[i].addr->port : "");
		n++;
	}
	return n;
}

/* The configured certificate, or a self-signed one made on first start. */
static struct tls_server *serve_open_tls(const struct config *config)
{
	char cert[4096], key[4096];
	const char *error;

	if (config->tls_cert != NULL) {
		snprintf(cert, sizeof(cert), "%s", config->tls_cert);
		snprintf(key, sizeof(key), "%s", config->tls_key);
	} else {
		snprintf(cert, sizeof(cert), "%s/tls/cert.pem", config->data_dir);
		snprintf(key, sizeof(key), "%s/tls/key.pem", config->data_dir);
		if (tls_cert_ensure(cert, key, config->hostname, &error) < 0) {
			log_error("serve: self-signed certificate: %s", error);
			return NULL;
		}
	}
	struct tls_server *tls = tls_server_new(cert, key, &error);
	if (tls == NULL)
		log_error("serve: TLS certificate %s: %s", cert, error);
	return tls;
}

static unsigned serve_loop_count(const struct config *config)
{
	long n = config->threads > 0 ? (long)config->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > SERVE_MAX_LOOPS ? SERVE_MAX_LOOPS : (unsigned)n;
}

/* Tens of thousands of sessions need as many descriptors; the soft limit
 * is often 1024. Raise it to the hard limit so no tuning is needed. */
static void serve_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("serve: cannot raise the descriptor limit: %m");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("serve: up to %llu descriptors", (unsigned long long)rl.rlim_cur);
}

/* Block the stop signals in every thread; main waits for them. */
static void serve_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int serve_start_threads(struct serve_thread *threads, unsigned count,
			       struct imap_server *server, struct serve_listener *listeners,
			       size_t listener_count)
{
	for (unsigned i = 0; i < count; i++) {
		struct serve_thread *t = &threads[i];
		const char *error;
		t->iloop.server = server;
		t->iloop.loop = loop_new();
		t->listeners = listeners;
		t->listener_count = listener_count;
		if (store_open(server->config->data_dir, server->bus, &t->iloop.store, &error) < 0) {
			log_error("serve: store: %s", error);
			loop_free(t->iloop.loop);
			return (int)i;
		}
		if (pthread_create(&t->thread, NULL, serve_thread_main, t) != 0) {
			store_close(t->iloop.store);
			loop_free(t->iloop.loop);
			return (int)i;
		}
	}
	return (int)count;
}

static void serve_stop_threads(struct serve_thread *threads, int count)
{
	for (int i = 0; i < count; i++)
		loop_post(threads[i].iloop.loop, serve_shutdown_loop, &threads[i]);
	for (int i = 0; i < count; i++) {
		pthread_join(threads[i].thread, NULL);
		store_close(threads[i].iloop.store);
		loop_free(threads[i].iloop.loop);
	}
}

/* Open the store once before any thread, so the schema exists (and any
 * migration has run) before sessions arrive. */
static int serve_check_store(const struct config *config)
{
	struct store *store;
	const char *error;

	if (store_open(config->data_dir, NULL, &store, &error) < 0) {
		log_error("serve: store in %s: %s", config->data_dir, error);
		return -1;
	}
	store_close(store);
	return 0;
}

int cli_serve(const struct config *config)
{
	struct serve_listener listeners[8];
	struct imap_server server = { .config = config };
	sigset_t stop_signals;
	int sig = 0, status = 1;

	serve_block_signals(&stop_signals);
	serve_raise_fd_limit();
	if (serve_check_store(config) < 0 || (server.tls = serve_open_tls(config)) == NULL)
		return 1;
	size_t nlisten = serve_open_listeners(config, listeners);
	if (nlisten == SIZE_MAX) {
		tls_server_free(server.tls);
		return 1;
	}
	server.bus = store_bus_new();
	server.workers = worker_pool_new(SERVE_WORKER_THREADS);
	unsigned nloops = serve_loop_count(config);
	struct serve_thread *threads = mem_zalloc(nloops * sizeof(*threads));
	int started = serve_start_threads(threads, nloops, &server, listeners, nlisten);
	if (started == (int)nloops) {
		log_info("serve: buzon ready with %u event loops; data in %s", nloops,
			 config->data_dir);
		status = 0;
		if (sigwait(&stop_signals, &sig) != 0)
			log_error("serve: sigwait failed");
		log_info("serve: signal %d, stopping", sig);
	}
	serve_stop_threads(threads, started);
	for (int i = 0; i < started; i++)
		status |= threads[i].status < 0;
	free(threads);
	worker_pool_free(server.workers);
	store_bus_free(server.bus);
	for (size_t i = 0; i < nlisten; i++)
		close(listeners[i].fd);
	tls_server_free(server.tls);
	log_info("serve: stopped");
	return status;
}
