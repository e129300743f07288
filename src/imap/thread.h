/*
 * thread: the THREAD and UID THREAD commands (RFC 5256 §3) with the
 * ORDEREDSUBJECT and REFERENCES algorithms.
 *
 * Like SORT, THREAD is SEARCH plus a shape: the criteria go through the
 * SEARCH parser and executor, and each match brings what the store kept at
 * save time (DESIGN.md rule 2): the decoded subject (made a base subject by
 * sort.h), the sent date, and the Message-ID, In-Reply-To and References
 * values. The algorithms below are pure and unit tested on hand-built
 * messages; they never recurse, so no mailbox can run them off the stack.
 */
#ifndef BUZON_IMAP_THREAD_H
#define BUZON_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* How far up the tree the REFERENCES loop check walks before it calls a
 * link a loop. Real threads are a few dozen deep; the bound keeps a hostile
 * mailbox (long chains referenced again and again) from making the check
 * quadratic. */
#define IMAP_THREAD_MAX_DEPTH 1000

enum imap_thread_algorithm {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

/* One searched message, given in mailbox order (ascending sequence number:
 * the tie-breaker everywhere). */
struct imap_thread_message {
	uint32_t number;          /* what the client sees: sequence number or UID */
	int64_t sent_date;        /* RFC 5256 §2.2 (imap_sort_sent_date) */
	const char *subject;      /* base subject, case-folded */
	bool is_reply;            /* its subject marked a reply or forward */
	/* REFERENCES only: the header values as stored, NULL when absent */
	const char *message_id, *in_reply_to, *references;
};

/* "ORDEREDSUBJECT" / "REFERENCES", case-insensitively. */
bool imap_thread_parse_algorithm(const char *name, enum imap_thread_algorithm *algorithm_r);

/* Thread msgs[0..count) and append the thread-lists of the THREAD response
 * ("(2)(3 6 (4 23)(44 7 96))", nothing for no messages) to out. arena:
 * scratch for the tree. */
void imap_thread_write(struct arena *arena, enum imap_thread_algorithm algorithm,
		       const struct imap_thread_message *msgs, size_t count, struct buf *out);

/* The first valid msg-id ("<left@right>") in value at or after *pos, with
 * its quoting removed (RFC 5256 §3: "<\"a\"@b>" is "<a@b>"), as "a@b" in
 * arena; NULL when there is none. *pos moves past it. */
char *imap_thread_next_msgid(struct arena *arena, const char *value, size_t *pos);

#endif
