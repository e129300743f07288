/*
 * pg-feed: changes committed by other nodes onto this process's bus
 * (store_feed_start), with LISTEN/NOTIFY. Stubs until the pg-more branch
 * brings them (pg-private.h says the shape): no feed can start yet, and
 * writers notify nobody.
 */
#include "store/pg/pg-private.h"

/* Stub (pg-more): called by pg_commit just before COMMIT. */
int pg_feed_notify(struct pg_store *store)
{
	return STORE_OK;
}

/* Stub (pg-more): store_feed_start for STORE_BACKEND_POSTGRES. */
int pg_feed_start(const struct store_settings *settings, struct store_bus *bus,
		  struct store_feed **feed_r, const char **error_r)
{
	*feed_r = NULL;
	if (error_r != NULL)
		*error_r = "store feed: not supported by the postgres store yet";
	return STORE_EINVALID;
}
