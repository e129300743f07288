/*
 * notify.h: the arguments of NOTIFY (RFC 5465 §8), parsed without a
 * session so that hostile input can be fuzzed on its own (fuzz_imap.c).
 * The command and the notifications themselves are in notify.c.
 */
#ifndef BUZON_IMAP_NOTIFY_H
#define BUZON_IMAP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/parser.h"

/* The events a client may ask for (RFC 5465 §5). */
#define IMAP_NOTIFY_NEW 1u
#define IMAP_NOTIFY_EXPUNGE 2u
#define IMAP_NOTIFY_FLAGS 4u
#define IMAP_NOTIFY_MAILBOX_NAME 8u
#define IMAP_NOTIFY_SUBSCRIPTION 16u
#define IMAP_NOTIFY_MESSAGE_EVENTS (IMAP_NOTIFY_NEW | IMAP_NOTIFY_EXPUNGE | IMAP_NOTIFY_FLAGS)

/* Limits on what one NOTIFY may name: far beyond any client's need, small
 * enough that matching a mailbox against them per change stays cheap. */
#define IMAP_NOTIFY_MAX_GROUPS 64
#define IMAP_NOTIFY_MAX_NAMES 1024

enum imap_notify_filter {
	IMAP_NOTIFY_FILTER_INBOXES,
	IMAP_NOTIFY_FILTER_PERSONAL,
	IMAP_NOTIFY_FILTER_SUBSCRIBED,
	IMAP_NOTIFY_FILTER_SUBTREE,
	IMAP_NOTIFY_FILTER_MAILBOXES,
};

/* One event group for mailboxes other than the selected one. names are
 * the mailbox arguments as sent (astrings, not yet decoded from mUTF-7;
 * name_lens: a literal may hold a NUL, which the caller refuses). */
struct imap_notify_group {
	enum imap_notify_filter filter;
	char **names;
	size_t *name_lens;
	size_t name_count;
	unsigned events;
};

struct imap_notify_request {
	bool none;               /* NOTIFY NONE */
	bool status;             /* SET STATUS */
	bool selected;           /* a SELECTED or SELECTED-DELAYED group */
	bool selected_delayed;
	unsigned selected_events;
	const char *fetch_atts;  /* MessageNew's "(...)" for SELECTED, as sent, or NULL */
	size_t fetch_atts_len;
	struct imap_notify_group *groups;
	size_t group_count;
	/* Parsed, but not to be done: an event we do not offer (answer NO
	 * [BADEVENT ...]) or a rule of §5 / §6.1 / §8 broken (BAD with this
	 * text). */
	bool bad_event;
	const char *bad;
	/* MessageNew asks for message text without a small <partial>: too
	 * much to push whole (imap_fetch_items_pushable): NO
	 * [NOTIFICATIONOVERFLOW], as §3.1 allows for what is "prohibitively
	 * expensive". */
	bool too_much;
};

/* Parse "SP (SET [SP STATUS] SP event-groups / NONE)" with parser positioned
 * after NOTIFY, up to but not including the end of line. Pure: allocates
 * only from parser->arena. */
bool imap_notify_parse(struct imap_parser *parser, struct imap_notify_request **request_r);

#endif
