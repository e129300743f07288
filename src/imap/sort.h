/*
 * sort: the SORT and UID SORT commands (RFC 5256 §3), with RFC 5267's ESORT
 * (RETURN options answered with ESEARCH, in sort order) and RFC 5957's
 * DISPLAYFROM / DISPLAYTO keys.
 *
 * SORT is SEARCH plus an order: the criteria go through the SEARCH parser
 * and executor (search.h), and each match's sort keys are computed from the
 * fields the store kept at save time (DESIGN.md rule 2: decoded subject,
 * first addresses, dates, size). Nothing is re-parsed: the base subject is
 * string work on the stored decoded subject. The pure pieces below (the
 * parser, base subject extraction, key computation and comparison) are
 * unit tested; THREAD (thread.h) shares the base subject and the sent date.
 */
#ifndef BUZON_IMAP_SORT_H
#define BUZON_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "imap/parser.h"
#include "imap/search.h"
#include "store/store.h"

/* Sort criteria in one command. There are nine keys, each with or without
 * REVERSE; repeating one adds nothing, so a longer list is refused rather
 * than compared key by key for every pair. */
#define IMAP_SORT_MAX_CRITERIA 18

enum imap_sort_key {
	IMAP_SORT_ARRIVAL,     /* internal date */
	IMAP_SORT_CC,          /* addr-mailbox of the first Cc address */
	IMAP_SORT_DATE,        /* sent date, RFC 5256 §2.2 */
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,     /* base subject, RFC 5256 §2.1 */
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM, /* RFC 5957: display name, else the address */
	IMAP_SORT_DISPLAYTO,
};

struct imap_sort_criterion {
	enum imap_sort_key key;
	bool reverse;
};

struct imap_sort_program {
	struct imap_sort_criterion criteria[IMAP_SORT_MAX_CRITERIA];
	size_t count;
	struct imap_search_query *query; /* charset, keys and RETURN options */
};

/* Parse "[RETURN (...) SP] (criteria) SP charset 1*(SP search-key)" with
 * the parser at the space after SORT, up to the end of line (the caller
 * checks imap_parse_eol). Pure: allocates from parser->arena. */
bool imap_sort_parse(struct imap_parser *parser, struct imap_sort_program **program_r);

/* RFC 5256 §2.1 base subject of a decoded subject (NULL is ""): Re:, Fw:,
 * Fwd:, [blob] prefixes, (fwd) trailers, [fwd: ...] wrappers and white
 * space removed, runs of white space made one space. Not case-folded.
 * *is_reply_r (may be NULL): something that marks a reply or forward was
 * removed (a subj-refwd, a "(fwd)" trailer or a [fwd: ] wrapper). */
char *imap_sort_base_subject(struct arena *arena, const char *subject, bool *is_reply_r);

/* RFC 5256 §2.2: the Date: header in UTC, or the internal date without
 * one. */
int64_t imap_sort_sent_date(const struct store_message_info *info);

/* One message's sort keys; strings already folded for comparison
 * (i;unicode-casemap as far as imap_search_fold goes for the subject and
 * display names, i;ascii-casemap for addresses), "" when absent. */
struct imap_sort_item {
	uint32_t index;      /* view index: the implicit last key */
	uint64_t size;
	int64_t arrival, date;
	const char *subject, *from, *to, *cc, *display_from, *display_to;
};

struct imap_session;
/* Run program over the selected mailbox: the matches' view indexes in the
 * sorted order (command arena). For updating contexts (context.c). */
int imap_sort_execute(struct imap_session *s, struct imap_sort_program *program,
		      uint32_t **indexes_r, size_t *count_r);

/* Compute the keys program uses for one message (strings in arena). */
void imap_sort_item_fill(const struct imap_sort_program *program, struct arena *arena,
			 uint32_t index, const struct store_message_info *info,
			 struct imap_sort_item *item_r);
/* <0, 0, >0 by the program's criteria, then by index. */
int imap_sort_compare(const struct imap_sort_program *program, const struct imap_sort_item *a,
		      const struct imap_sort_item *b);
void imap_sort_items(const struct imap_sort_program *program, struct imap_sort_item *items,
		     size_t count);

/* RFC 5957 display form of an address field: the first address's display
 * name (unquoted), or its address when it has none; "" when absent.
 * field: the decoded field text; address: its first "local@domain". */
char *imap_sort_display_name(struct arena *arena, const char *field, const char *address);

#endif
