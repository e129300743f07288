/*
 * url: the IMAP URLs (RFC 5092) that CATENATE (RFC 4469 §3) accepts: a
 * message or message part of the logged-in user, on this server.
 *
 * Pure (no I/O, fuzzed): imap_url_parse turns the astring of "URL" into a
 * struct imap_url; the command (cmd-append.c) resolves it against the store.
 * The forms taken (RFC 5092 §11 imapurl-rel, RFC 4469 §3):
 *
 *   /Mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=x][/;PARTIAL=o[.l]]  iabsolute-path
 *   Mailbox[;UIDVALIDITY=n]/;UID=n[...]                              irelative-path
 *   ;UID=n[/;SECTION=x][...]          relative to the selected mailbox
 *   imap://user[;AUTH=..]@host/Mailbox...        absolute; the command checks
 *                                                that user and host are ours
 *
 * Everything else (a message list "?search", URLAUTH, a section without a
 * UID) is refused: the command answers NO [BADURL url].
 */
#ifndef BUZON_IMAP_URL_H
#define BUZON_IMAP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "imap/fetch.h"

/* RFC 5092 names one message; no real URL is longer than a mailbox name
 * plus a section, so anything beyond this is refused before decoding. */
#define IMAP_URL_MAX 8192

struct imap_url {
	char *user;             /* absolute form only: %-decoded, else NULL */
	char *host;             /* absolute form only, else NULL */
	char *mailbox;          /* %-decoded UTF-8; NULL: the selected mailbox */
	uint32_t uidvalidity;   /* 0 when not given */
	uint32_t uid;
	struct imap_fetch_section section; /* part "" / ALL when not given */
	bool partial;           /* ;PARTIAL=origin[.length] */
	uint64_t origin;
	uint64_t length;        /* UINT64_MAX when no length was given */
};

/* Parse url[0..len) into *url_r (strings in arena). False with *error_r
 * (a static message) when it is not a message URL of the forms above. */
bool imap_url_parse(struct arena *arena, const char *url, size_t len, struct imap_url *url_r,
		    const char **error_r);

#endif
