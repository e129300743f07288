/*
 * serve: `buzon -c FILE serve`, the server's wiring. It prepares what every
 * loop shares (TLS context, change bus, worker pool, listening sockets),
 * starts one event loop thread per core (rule 5), and waits for SIGTERM or
 * SIGINT. Then every loop stops accepting, lets running commands finish,
 * says BYE to its sessions and exits; the store is closed last, so nothing
 * acknowledged is ever lost (rule 1: it was on disk before the OK anyway).
 */
#include "cli/cli.h"
#include "auth/auth.h"
#include "core/log.h"
#include "core/mem.h"
#include "delivery/queue.h"
#include "delivery/writer.h"
#include "imap/imap.h"
#include "net/listen.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/worker.h"
#include "pop3/pop3.h"
#include "smtp/smtp.h"
#include "store/store.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Password hashing threads: enough to keep login bursts off the loops
 * without competing with them for every core. */
#define SERVE_WORKER_THREADS 2
/* No machine we run on has more cores than this worth a loop each. */
#define SERVE_MAX_LOOPS 256

/* What every loop shares; read-only once the threads run. */
struct serve_shared {
	const struct config *config;
	struct tls_server *tls;
	struct store_bus *bus;
	struct store_settings settings; /* where the store is (config) */
	struct worker_pool *workers;
	struct auth_service *auth; /* SASL, throttle: shared by every loop */
	struct imap_server imap;   /* points at the pieces above */
	struct pop3_server pop3;   /* the same, plus the maildrop locks */
	struct smtp_server smtp;   /* the same, for SMTP, submission and LMTP */
};

struct serve_thread;

/* A protocol served on every loop: set up its per-loop state, start a
 * session on an accepted socket, and wind its sessions down at shutdown
 * (calling serve_protocol_stopped when the last one is gone). */
struct serve_protocol {
	const char *name;
	void (*init)(struct serve_thread *t);
	void (*accept)(struct serve_thread *t, int fd, bool implicit_tls);
	void (*shutdown)(struct serve_thread *t);
};

/* A configured listener and the protocol its connections speak. */
struct serve_listener {
	const char *name;
	const struct config_listen *addr;
	const struct serve_protocol *protocol;
	bool implicit_tls;
	int fd;
};

/* What a loop's accept callback needs: its thread and its listener. */
struct serve_watch {
	struct serve_thread *thread;
	const struct serve_listener *listener;
};

/* The listener keys of the config (DESIGN.md): eight, so at most eight. */
#define SERVE_LISTENER_MAX 8

/* One event loop thread with its store handle and, per protocol, the state
 * its sessions share on this loop. */
struct serve_thread {
	pthread_t thread;
	struct loop *loop;
	struct store *store;
	struct queue *queue;   /* this loop's handle on the outbound queue */
	struct serve_shared *shared;
	struct serve_listener *listeners;
	size_t listener_count;
	struct serve_watch watches[SERVE_LISTENER_MAX];
	unsigned running;   /* protocols not yet stopped during shutdown */
	int status;
	struct imap_loop imap;
	struct pop3_loop pop3;
	struct smtp_loop smtp[SMTP_KIND_COUNT]; /* MX, submission, LMTP */
};

/* A protocol has no sessions left during shutdown; the last one to finish
 * stops the loop. */
static void serve_protocol_stopped(void *context)
{
	struct serve_thread *t = context;

	if (--t->running == 0)
		loop_stop(t->loop);
}

static void serve_imap_init(struct serve_thread *t)
{
	t->imap = (struct imap_loop){
		.server = &t->shared->imap, .loop = t->loop, .store = t->store,
		.on_stopped = serve_protocol_stopped, .stopped_context = t,
	};
}

static void serve_imap_accept(struct serve_thread *t, int fd, bool implicit_tls)
{
	imap_session_start(&t->imap, fd, implicit_tls);
}

static void serve_imap_shutdown(struct serve_thread *t)
{
	imap_loop_shutdown(&t->imap);
}

static void serve_pop3_init(struct serve_thread *t)
{
	t->pop3 = (struct pop3_loop){
		.server = &t->shared->pop3, .loop = t->loop, .store = t->store,
		.on_stopped = serve_protocol_stopped, .stopped_context = t,
	};
}

static void serve_pop3_accept(struct serve_thread *t, int fd, bool implicit_tls)
{
	pop3_session_start(&t->pop3, fd, implicit_tls);
}

static void serve_pop3_shutdown(struct serve_thread *t)
{
	pop3_loop_shutdown(&t->pop3);
}

/* SMTP's three kinds share one engine; each has its own sessions per loop. */
static void serve_smtp_init_kind(struct serve_thread *t, enum smtp_kind kind)
{
	t->smtp[kind] = (struct smtp_loop){
		.server = &t->shared->smtp, .kind = kind, .loop = t->loop, .store = t->store,
		.queue = kind == SMTP_KIND_SUBMISSION ? t->queue : NULL,
		.on_stopped = serve_protocol_stopped, .stopped_context = t,
	};
}

static void serve_mx_init(struct serve_thread *t) { serve_smtp_init_kind(t, SMTP_KIND_MX); }
static void serve_submission_init(struct serve_thread *t)
{
	serve_smtp_init_kind(t, SMTP_KIND_SUBMISSION);
}
static void serve_lmtp_init(struct serve_thread *t) { serve_smtp_init_kind(t, SMTP_KIND_LMTP); }

static void serve_mx_accept(struct serve_thread *t, int fd, bool implicit_tls)
{
	smtp_session_start(&t->smtp[SMTP_KIND_MX], fd, implicit_tls);
}
static void serve_submission_accept(struct serve_thread *t, int fd, bool implicit_tls)
{
	smtp_session_start(&t->smtp[SMTP_KIND_SUBMISSION], fd, implicit_tls);
}
static void serve_lmtp_accept(struct serve_thread *t, int fd, bool implicit_tls)
{
	smtp_session_start(&t->smtp[SMTP_KIND_LMTP], fd, implicit_tls);
}

static void serve_mx_shutdown(struct serve_thread *t)
{
	smtp_loop_shutdown(&t->smtp[SMTP_KIND_MX]);
}
static void serve_submission_shutdown(struct serve_thread *t)
{
	smtp_loop_shutdown(&t->smtp[SMTP_KIND_SUBMISSION]);
}
static void serve_lmtp_shutdown(struct serve_thread *t)
{
	smtp_loop_shutdown(&t->smtp[SMTP_KIND_LMTP]);
}

/* Every protocol this build serves; a new one adds its entry here and its
 * listener keys below. */
static const struct serve_protocol serve_protocols[] = {
	{ "imap", serve_imap_init, serve_imap_accept, serve_imap_shutdown },
	{ "smtp", serve_mx_init, serve_mx_accept, serve_mx_shutdown },
	{ "submission", serve_submission_init, serve_submission_accept,
	  serve_submission_shutdown },
	{ "lmtp", serve_lmtp_init, serve_lmtp_accept, serve_lmtp_shutdown },
	{ "pop3", serve_pop3_init, serve_pop3_accept, serve_pop3_shutdown },
};
#define SERVE_PROTOCOL_COUNT (sizeof(serve_protocols) / sizeof(serve_protocols[0]))

/* Every listener key of the config, with the protocol that serves it; NULL
 * = accepted in the config (it is a contract) but not served yet. */
static const struct {
	const char *name;
	size_t offset;
	bool implicit_tls;
	const struct serve_protocol *protocol;
} serve_listener_keys[] = {
	{ "imap", offsetof(struct config, imap), false, &serve_protocols[0] },
	{ "imaps", offsetof(struct config, imaps), true, &serve_protocols[0] },
	{ "pop3", offsetof(struct config, pop3), false, &serve_protocols[4] },
	{ "pop3s", offsetof(struct config, pop3s), true, &serve_protocols[4] },
	{ "smtp", offsetof(struct config, smtp), false, &serve_protocols[1] },
	{ "submission", offsetof(struct config, submission), false, &serve_protocols[2] },
	{ "submissions", offsetof(struct config, submissions), true, &serve_protocols[2] },
	{ "lmtp", offsetof(struct config, lmtp), false, &serve_protocols[3] },
};

static void serve_on_accept(struct loop *loop, int fd, void *context)
{
	struct serve_watch *w = context;

	w->listener->protocol->accept(w->thread, fd, w->listener->implicit_tls);
}

/* On the loop's own thread: stop accepting, then wind the sessions down. */
static void serve_shutdown_loop(struct loop *loop, void *context)
{
	struct serve_thread *t = context;

	for (size_t i = 0; i < t->listener_count; i++)
		listen_unwatch(loop, t->listeners[i].fd);
	t->running = SERVE_PROTOCOL_COUNT;
	for (size_t i = 0; i < SERVE_PROTOCOL_COUNT; i++)
		serve_protocols[i].shutdown(t);
}

static void *serve_thread_main(void *context)
{
	struct serve_thread *t = context;

	for (size_t i = 0; i < t->listener_count; i++) {
		t->watches[i] = (struct serve_watch){ t, &t->listeners[i] };
		if (listen_watch(t->loop, t->listeners[i].fd, serve_on_accept, &t->watches[i]) < 0) {
			log_error("serve: cannot watch the %s listener", t->listeners[i].name);
			t->status = -1;
			return NULL;
		}
	}
	if (loop_run(t->loop) < 0)
		t->status = -1;
	return NULL;
}

/* Bind every configured listener (before any thread starts, and before
 * dropping privileges one day). Returns how many, or SIZE_MAX on error. */
static size_t serve_open_listeners(const struct config *config, struct serve_listener *out)
{
	size_t n = 0;

	for (size_t i = 0; i < SERVE_LISTENER_MAX; i++) {
		const struct config_listen *addr =
			(const void *)((const char *)config + serve_listener_keys[i].offset);
		const char *error;
		if (!addr->enabled)
			continue;
		out[n] = (struct serve_listener){ serve_listener_keys[i].name, addr,
						  serve_listener_keys[i].protocol,
						  serve_listener_keys[i].implicit_tls, -1 };
		if (listen_open(addr, &out[n].fd, &error) < 0) {
			log_error("serve: %s listener: %s", out[n].name, error);
			for (size_t k = 0; k < n; k++)
				close(out[k].fd);
			return SIZE_MAX;
		}
		log_info("serve: %s listening on %s:%s", out[n].name,
			 addr->unix_path ? "unix" : addr->host ? addr->host : "*",
			 addr->unix_path ? addr->unix_path : addr->port ? addr->port : "");
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
			       struct serve_shared *shared, struct serve_listener *listeners,
			       size_t listener_count)
{
	for (unsigned i = 0; i < count; i++) {
		struct serve_thread *t = &threads[i];
		const char *error;
		t->shared = shared;
		t->loop = loop_new();
		t->listeners = listeners;
		t->listener_count = listener_count;
		if (store_open(&shared->settings, shared->bus, &t->store, &error) < 0) {
			log_error("serve: store: %s", error);
			loop_free(t->loop);
			return (int)i;
		}
		store_quota_set_default(t->store, config_quota_storage_kib(shared->config),
					config_quota_messages(shared->config));
		if (queue_open(shared->config, &t->queue, &error) < 0) {
			log_error("serve: %s", error);
			store_close(t->store);
			loop_free(t->loop);
			return (int)i;
		}
		for (size_t k = 0; k < SERVE_PROTOCOL_COUNT; k++)
			serve_protocols[k].init(t);
		if (pthread_create(&t->thread, NULL, serve_thread_main, t) != 0) {
			queue_close(t->queue);
			store_close(t->store);
			loop_free(t->loop);
			return (int)i;
		}
	}
	return (int)count;
}

static void serve_stop_threads(struct serve_thread *threads, int count)
{
	for (int i = 0; i < count; i++)
		loop_post(threads[i].loop, serve_shutdown_loop, &threads[i]);
	for (int i = 0; i < count; i++) {
		pthread_join(threads[i].thread, NULL);
		queue_close(threads[i].queue);
		store_close(threads[i].store);
		loop_free(threads[i].loop);
	}
}

/* Open the store once before any thread, so the schema exists (and any
 * migration has run) before sessions arrive. */
static int serve_check_store(const struct config *config)
{
	struct store_settings settings;
	struct store *store;
	const char *error;

	store_settings_from_config(config, &settings);
	if (store_open(&settings, NULL, &store, &error) < 0) {
		log_error("serve: store in %s: %s", config->data_dir, error);
		return -1;
	}
	store_close(store);
	return 0;
}

/* The shared pieces each protocol's server struct points to. */
static void serve_shared_init(struct serve_shared *shared, const struct config *config,
			      struct tls_server *tls)
{
	shared->config = config;
	store_settings_from_config(config, &shared->settings);
	shared->tls = tls;
	shared->bus = store_bus_new();
	shared->workers = worker_pool_new(SERVE_WORKER_THREADS);
	shared->auth = auth_service_new(config, shared->workers);
	shared->imap = (struct imap_server){ config, tls, shared->bus, shared->workers,
					     shared->auth, NULL };
	pop3_server_init(&shared->pop3, config, tls, shared->workers);
	shared->pop3.auth = shared->auth;
	shared->smtp = (struct smtp_server){ config, tls, shared->bus, shared->workers, NULL,
					     shared->auth };
}

static void serve_shared_free(struct serve_shared *shared)
{
	pop3_server_free(&shared->pop3);
	worker_pool_free(shared->workers);
	auth_service_free(shared->auth);
	store_bus_free(shared->bus);
	tls_server_free(shared->tls);
}

/* Run until SIGTERM/SIGINT; then stop every loop and wait for it. */
static int serve_run(struct serve_shared *shared, struct serve_listener *listeners,
		     size_t nlisten, sigset_t *stop_signals)
{
	unsigned nloops = serve_loop_count(shared->config);
	struct serve_thread *threads = mem_zalloc(nloops * sizeof(*threads));
	int started;
	struct queue_runner *runner = NULL;
	struct store_feed *feed = NULL;
	int sig = 0, status = 1;
	const char *error;

	/* The delivery writer (group commit) before any session can finish a
	 * message, and stopped after the last loop has replied. */
	shared->smtp.writer = delivery_writer_start(shared->config, shared->bus, &error);
	if (shared->smtp.writer == NULL) {
		log_error("serve: %s", error);
		free(threads);
		return 1;
	}
	shared->imap.writer = shared->smtp.writer; /* IMAP's writes too */
	/* The feed of changes other processes commit (`buzon deliver`)
	 * before any session exists: its starting point then precedes every
	 * session's first look at the store, so no such change falls between
	 * the two. */
	if (store_feed_start(&shared->settings, shared->bus, &feed, &error) < 0) {
		log_error("serve: store: %s", error);
		delivery_writer_stop(shared->smtp.writer);
		shared->smtp.writer = shared->imap.writer = NULL;
		free(threads);
		return 1;
	}
	started = serve_start_threads(threads, nloops, shared, listeners, nlisten);

	/* The outbound queue's delivery threads, after the loops (so a bounce
	 * it delivers is published to sessions already watching). */
	if (started == (int)nloops &&
	    (runner = queue_runner_start(shared->config, shared->bus, &error)) == NULL)
		log_error("serve: %s", error);
	if (started == (int)nloops && runner != NULL) {
		log_info("serve: buzon ready with %u event loops; data in %s", nloops,
			 shared->config->data_dir);
		status = 0;
		if (sigwait(stop_signals, &sig) != 0)
			log_error("serve: sigwait failed");
		log_info("serve: signal %d, stopping", sig);
	}
	store_feed_stop(feed);     /* before the bus goes */
	queue_runner_stop(runner); /* before the bus and the stores go */
	serve_stop_threads(threads, started);
	delivery_writer_stop(shared->smtp.writer);
	shared->smtp.writer = shared->imap.writer = NULL;
	for (int i = 0; i < started; i++)
		status |= threads[i].status < 0;
	free(threads);
	return status;
}

/* ---- dropping root (DESIGN rule 8) ------------------------------------------------ */

/* The data files the server writes must belong to the user it runs as, or
 * it would fail later, at the first write, with a less clear message. */
static int serve_check_owner(const char *path, uid_t uid, const char *user, const char *dir,
			     bool must_exist)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		log_error("serve: %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != uid) {
		log_error("serve: %s belongs to uid %u, not to %s (uid %u): chown -R %s %s",
			  path, (unsigned)st.st_uid, user, (unsigned)uid, user, dir);
		return -1;
	}
	return 0;
}

/* Started as root with `user` set: become that user (and `group`, or the
 * user's own) once the ports are bound and the TLS key is read, before any
 * thread starts, so that nothing the network reaches runs as root. */
static int serve_drop_privileges(const struct config *config)
{
	if (geteuid() != 0) {
		if (config->user != NULL)
			log_info("serve: not started as root; running as uid %u",
				 (unsigned)geteuid());
		return 0;
	}
	if (config->user == NULL) {
		log_warn("serve: running as root; set `user` to run unprivileged");
		return 0;
	}
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096], gbuf[4096];
	if (getpwnam_r(config->user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL) {
		log_error("serve: user %s: no such user", config->user);
		return -1;
	}
	gid_t gid = pw.pw_gid;
	if (config->group != NULL) {
		if (getgrnam_r(config->group, &gr, gbuf, sizeof(gbuf), &grp) != 0 || grp == NULL) {
			log_error("serve: group %s: no such group", config->group);
			return -1;
		}
		gid = gr.gr_gid;
	}
	if (pw.pw_uid == 0) {
		log_error("serve: user %s is root; choose an unprivileged user", config->user);
		return -1;
	}
	static const char *const files[] = { "", "/buzon.db", "/buzon.db-wal", "/buzon.db-shm",
					     "/queue.db", "/queue.db-wal", "/queue.db-shm" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s%s", config->data_dir, files[i]);
		if (serve_check_owner(path, pw.pw_uid, config->user, config->data_dir, i == 0) < 0)
			return -1;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw.pw_uid) < 0) {
		log_error("serve: becoming %s: %s", config->user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		log_error("serve: still root after dropping privileges");
		return -1;
	}
	log_info("serve: running as %s (uid %u, gid %u)", config->user, (unsigned)pw.pw_uid,
		 (unsigned)gid);
	return 0;
}

int cli_serve(const struct config *config)
{
	struct serve_listener listeners[SERVE_LISTENER_MAX];
	struct serve_shared shared;
	struct tls_server *tls;
	sigset_t stop_signals;

	serve_block_signals(&stop_signals);
	serve_raise_fd_limit();
	if ((tls = serve_open_tls(config)) == NULL)
		return 1;
	size_t nlisten = serve_open_listeners(config, listeners);
	if (nlisten == SIZE_MAX) {
		tls_server_free(tls);
		return 1;
	}
	/* Ports bound and key read: root is no longer needed (rule 8). The
	 * store is opened after, as the user that will write it. */
	if (serve_drop_privileges(config) < 0 || serve_check_store(config) < 0) {
		tls_server_free(tls);
		for (size_t i = 0; i < nlisten; i++)
			close(listeners[i].fd);
		return 1;
	}
	serve_shared_init(&shared, config, tls);
	if (shared.auth == NULL) { /* oauth_* keys: logged by auth.c */
		serve_shared_free(&shared);
		for (size_t i = 0; i < nlisten; i++)
			close(listeners[i].fd);
		return 1;
	}
	int status = serve_run(&shared, listeners, nlisten, &stop_signals);
	serve_shared_free(&shared);
	for (size_t i = 0; i < nlisten; i++)
		close(listeners[i].fd);
	log_info("serve: stopped");
	return status;
}
