/*
 * listen: see listen.h. Opening sockets (TCP by address or name, unix) and
 * accepting on them from a loop.
 *
 * Every loop that watches a listening fd registers it with EPOLLEXCLUSIVE,
 * so one incoming connection wakes one loop, not all of them. Accepting runs
 * until EAGAIN but at most LISTEN_ACCEPT_BURST per wake-up, so a connection
 * storm cannot starve the sessions already on this loop. When the process is
 * out of descriptors (EMFILE), the loop stops watching the listener for a
 * moment instead of spinning on a readable fd it cannot accept from.
 */
#include "net/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

/* The kernel caps this at net.core.somaxconn (4096 on current Linux); 1024
 * absorbs a burst of reconnecting clients after a restart. */
#define LISTEN_BACKLOG 1024
/* Connections accepted per wake-up before other events get a turn. */
#define LISTEN_ACCEPT_BURST 64
/* Pause after EMFILE/ENFILE: long enough that a loop with no descriptors
 * does not spin, short enough that service resumes as soon as one frees. */
#define LISTEN_BACKOFF_MS 100
/* Room for error messages naming an address and the system's reason. */
#define LISTEN_ERROR_MAX 256

struct listen_watch {
	int fd;
	listen_accept_fn *fn;
	void *context;
	struct loop_timer *backoff;
};

/* listen_open reports errors with the address in them. The message must
 * outlive the call without the caller freeing it (const char **), so it lives
 * in a per-thread buffer, valid until the thread's next listen_open. */
static _Thread_local char listen_error[LISTEN_ERROR_MAX];

static const char *listen_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *listen_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(listen_error, sizeof(listen_error), fmt, ap);
	va_end(ap);
	return listen_error;
}

/* "unix:PATH": a stale socket file from an earlier run is replaced; any
 * other kind of file at PATH is left alone and reported. */
static int listen_open_unix(const char *path, int *fd_r, const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = listen_fail("unix:%s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		*error_r = listen_fail("unix:%s: %m", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

/* One socket for one resolved address. */
static int listen_open_addrinfo(const struct addrinfo *ai)
{
	int one = 1;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* The host part without "[...]" (config keeps "[::1]" or "::1"); NULL,
 * "" and "*" mean every address. */
static char *listen_host_strip(const char *host)
{
	size_t len;

	if (host == NULL || *host == '\0' || strcmp(host, "*") == 0)
		return NULL;
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
		return mem_strndup(host + 1, len - 2);
	return mem_strdup(host);
}

static int listen_open_tcp(const char *host_in, const char *port, int *fd_r,
			   const char **error_r)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	char *host = listen_host_strip(host_in);
	int fd = -1, gai, err = 0;

	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		*error_r = listen_fail("%s:%s: %s", host ? host : "*", port, gai_strerror(gai));
		free(host);
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = listen_open_addrinfo(ai);
		if (fd < 0)
			err = errno;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = err;
		*error_r = listen_fail("%s:%s: %m", host ? host : "*", port);
		free(host);
		return -1;
	}
	free(host);
	*fd_r = fd;
	return 0;
}

int listen_open(const struct config_listen *addr, int *fd_r, const char **error_r)
{
	if (addr->unix_path != NULL)
		return listen_open_unix(addr->unix_path, fd_r, error_r);
	if (addr->port == NULL) {
		*error_r = "listener address without a port";
		return -1;
	}
	return listen_open_tcp(addr->host, addr->port, fd_r, error_r);
}

/* ---- accepting --------------------------------------------------------- */

static void listen_on_backoff_end(struct loop *loop, void *context)
{
	struct listen_watch *w = context;

	w->backoff = NULL;
	if (loop_fd_modify(loop, w->fd, LOOP_READ) < 0)
		log_error("listen: cannot watch fd %d again: %m", w->fd);
}

/* Out of descriptors or memory: stop watching for LISTEN_BACKOFF_MS. */
static void listen_backoff(struct loop *loop, struct listen_watch *w)
{
	log_warn("listen: accept: %m; pausing accepts for %d ms", LISTEN_BACKOFF_MS);
	if (loop_fd_modify(loop, w->fd, 0) < 0)
		log_error("listen: cannot pause fd %d: %m", w->fd);
	w->backoff = loop_timer_add(loop, LISTEN_BACKOFF_MS, listen_on_backoff_end, w);
}

/* Responses are written whole from an output buffer, so Nagle's algorithm
 * only adds a delayed-ACK round trip (40 ms) to every synchronizing
 * literal and pipelined reply. Unix sockets refuse the option: harmless. */
static void listen_set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void listen_on_readable(struct loop *loop, int fd, unsigned events, void *context)
{
	struct listen_watch *w = context;

	for (int i = 0; i < LISTEN_ACCEPT_BURST; i++) {
		int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (client >= 0) {
			listen_set_nodelay(client);
			w->fn(loop, client, w->context);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			listen_backoff(loop, w);
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_error("listen: accept: %m");
		return;
	}
}

int listen_watch(struct loop *loop, int listen_fd, listen_accept_fn *fn, void *context)
{
	struct listen_watch *w = mem_zalloc(sizeof(*w));

	w->fd = listen_fd;
	w->fn = fn;
	w->context = context;
	if (loop_fd_add_exclusive(loop, listen_fd, LOOP_READ, listen_on_readable, w) < 0) {
		log_error("listen: cannot watch fd %d: %m", listen_fd);
		free(w);
		return -1;
	}
	return 0;
}

void listen_unwatch(struct loop *loop, int listen_fd)
{
	struct listen_watch *w = loop_fd_context(loop, listen_fd);

	if (w == NULL)
		return;
	if (w->backoff != NULL)
		loop_timer_cancel(loop, w->backoff);
	loop_fd_remove(loop, listen_fd);
	free(w);
}
