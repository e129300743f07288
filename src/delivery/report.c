/*
 * report: where a DSN goes (RFC 3461 §5.2): to the message's sender, into
 * the sender's INBOX when the sender's domain is ours, else through the
 * outbound queue with an empty sender (RFC 5321 §4.5.5: never answered in
 * turn). Shared by the queue runner (failed, delayed, relayed) and the
 * delivery writer (delivered).
 */
#include "delivery/queue-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int queue_dsn_send(const struct config *config, struct store *store, struct queue *queue,
		   const char *sender, const char *dsn, size_t size, const char *what,
		   const char **error_r)
{
	const char *at = strrchr(sender, '@');
	struct arena *arena = arena_new();
	int rc = 0;

	if (at != NULL && config_is_local_domain(config, at + 1)) {
		struct store_account account;
		uint32_t uid;

		if (store_account_find(store, sender, arena, &account, error_r) < 0) {
			/* Nobody to tell: dropped, as a bounce to an unknown
			 * remote address would bounce back to nobody. */
			log_warn("delivery: %s: no local account %s for the DSN; dropped", what,
				 sender);
		} else if ((rc = store_message_deliver(store, &account.id, 1, dsn, size, 0, &uid,
						       error_r)) == STORE_EOVERQUOTA) {
			/* Waiting would not help a full mailbox, and a DSN is
			 * never answered: dropped. */
			log_warn("delivery: %s: DSN to %s: mailbox over quota; dropped", what,
				 sender);
			rc = 0;
		} else if (rc < 0) {
			rc = -1;
		} else {
			log_info("delivery: %s: DSN delivered to %s", what, sender);
		}
	} else {
		char *id = NULL;

		if (queue_submit(queue, "", &sender, 1, dsn, size, &id, error_r) < 0)
			rc = -1;
		else
			log_info("delivery: %s: DSN to %s queued as %s", what, sender, id);
		free(id);
	}
	arena_free(arena);
	return rc;
}
