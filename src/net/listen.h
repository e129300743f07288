/*
 * listen: bound, listening sockets for the configured listener addresses.
 *
 * Sockets are opened in main before threads start (and before dropping
 * root, rule 8); each loop then accepts on them (EPOLLEXCLUSIVE), so new
 * connections spread over the loops without a dispatcher thread.
 */
#ifndef BUZON_NET_LISTEN_H
#define BUZON_NET_LISTEN_H

#include "core/config.h"
#include "net/loop.h"

/* Open a non-blocking listening socket for addr (TCP or unix). */
int listen_open(const struct config_listen *addr, int *fd_r, const char **error_r);

/* Called on the loop's thread for each accepted, non-blocking socket. */
typedef void listen_accept_fn(struct loop *loop, int fd, void *context);
/* Accept on listen_fd from this loop. */
int listen_watch(struct loop *loop, int listen_fd, listen_accept_fn *fn, void *context);
/* Added: stop accepting on listen_fd from this loop (before loop_free). The
 * fd stays open; the caller closes it once every loop has let go. */
void listen_unwatch(struct loop *loop, int listen_fd);

#endif
