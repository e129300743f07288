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
 * An absolute URL may end with the URLAUTH components of RFC 4467 §3 /
 * RFC 5092 §6.1 (authimapurl): [;EXPIRE=<RFC 3339 date-time>]
 * ;URLAUTH=<access>[:<mechanism>:<token>], access being submit+USER,
 * user+USER, authuser or anonymous. Without ":mechanism:token" it is a
 * rump (what GENURLAUTH signs); url_r->rump_len says how much of the text
 * the token covers (RFC 4467 §6: the URL as sent, up to the ':').
 *
 * Everything else (a message list "?search", a section without a UID) is
 * refused: the command answers NO [BADURL url].
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

/* RFC 4467 §3 access identifiers. */
enum imap_url_access {
	IMAP_URL_ACCESS_NONE,      /* not a URLAUTH URL */
	IMAP_URL_ACCESS_SUBMIT,    /* submit+USER: a submission server acting for USER */
	IMAP_URL_ACCESS_USER,      /* user+USER: only USER */
	IMAP_URL_ACCESS_AUTHUSER,  /* any logged-in user */
	IMAP_URL_ACCESS_ANONYMOUS, /* anyone (buzon has no anonymous login) */
};

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
	/* RFC 4467 (absolute URLs only) */
	bool has_expire;        /* ;EXPIRE= was given */
	int64_t expire;         /* its time, seconds since the epoch (UTC) */
	enum imap_url_access access; /* IMAP_URL_ACCESS_NONE: no ;URLAUTH= */
	char *access_user;      /* submit+ / user+: %-decoded, else NULL */
	char *mechanism;        /* as sent; NULL in a rump */
	char *token;            /* hex digits as sent; NULL in a rump */
	size_t rump_len;        /* the token signs url[0..rump_len) */
};

/* Parse url[0..len) into *url_r (strings in arena). False with *error_r
 * (a static message) when it is not a message URL of the forms above. */
bool imap_url_parse(struct arena *arena, const char *url, size_t len, struct imap_url *url_r,
		    const char **error_r);

/* RFC 3339 §5.6 date-time ("2026-11-23T18:00:00Z", "...T19:00:00.5+01:00")
 * filling s[0..len) -> seconds since the epoch (fractions dropped). */
bool imap_url_parse_datetime(const char *s, size_t len, int64_t *time_r);

#endif
