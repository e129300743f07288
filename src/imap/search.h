/*
 * search: the SEARCH and UID SEARCH commands (RFC 9051 §6.4.4, with RFC
 * 3501's RECENT / NEW / OLD for rev1 clients, and RFC 4731 / RFC 9051
 * RETURN options answered with ESEARCH).
 *
 * Three pieces, the first two pure and unit tested:
 *  - imap_search_parse turns the criteria into a tree of keys (fuzzed:
 *    bounded nesting, any bytes give a tree or an error);
 *  - imap_search_match_message decides one message against the tree from a
 *    small struct, with three-valued logic: keys that need the message's
 *    header bytes answer MAYBE when the header was not supplied;
 *  - the executor (imap_cmd_search in session.h) iterates the mailbox once
 *    with the fields the store kept at save time (DESIGN.md rule 2), runs
 *    each BODY/TEXT key once against the full-text index, and reads the
 *    header bytes only for the messages still undecided.
 */
#ifndef BUZON_IMAP_SEARCH_H
#define BUZON_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/parser.h"
#include "imap/session.h"

/* Nesting of parentheses, NOT and OR. Real clients nest a few levels; the
 * bound keeps the recursive parser and evaluator off the end of the stack
 * whatever a hostile client sends. */
#define IMAP_SEARCH_MAX_DEPTH 100
/* Keys in one command: more than any generated query (Thunderbird's largest
 * filters have dozens) and a cap on per-message work. */
#define IMAP_SEARCH_MAX_KEYS 1000

enum imap_search_kind {
	IMAP_SEARCH_AND,        /* children: all must match (also "(...)") */
	IMAP_SEARCH_OR,         /* children: two keys */
	IMAP_SEARCH_NOT,        /* children: one key */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_NONE,       /* RECENT, NEW: buzon keeps no \Recent */
	IMAP_SEARCH_SEQSET,
	IMAP_SEARCH_UIDSET,
	IMAP_SEARCH_FLAGS_SET,  /* flags: every bit set (ANSWERED, SEEN, ...) */
	IMAP_SEARCH_FLAGS_UNSET, /* flags: every bit clear (UNANSWERED, ...) */
	IMAP_SEARCH_KEYWORD,
	IMAP_SEARCH_UNKEYWORD,
	IMAP_SEARCH_FROM,
	IMAP_SEARCH_TO,
	IMAP_SEARCH_CC,
	IMAP_SEARCH_BCC,
	IMAP_SEARCH_SUBJECT,
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_TEXT,
	IMAP_SEARCH_HEADER,
	IMAP_SEARCH_BEFORE,     /* internal date, day < key */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE, /* Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_MODSEQ,     /* RFC 7162 §3.1.5: modseq >= number */
	IMAP_SEARCH_SAVEDBEFORE, /* RFC 8514 §4.3: the save date's day (UTC) */
	IMAP_SEARCH_SAVEDON,
	IMAP_SEARCH_SAVEDSINCE,
	IMAP_SEARCH_OLDER,      /* RFC 5032: internal date more than number s ago */
	IMAP_SEARCH_YOUNGER,    /* RFC 5032: internal date at most number s ago */
};

struct imap_search_key {
	enum imap_search_kind kind;
	struct imap_search_key *children; /* AND / OR / NOT: first child */
	struct imap_search_key *next;     /* next sibling */
	/* string keys: the needle, case-folded (search_fold); HEADER: also
	 * the field name as sent */
	char *value;
	size_t value_len;
	char *field;
	unsigned flags;          /* FLAGS_SET / FLAGS_UNSET; KEYWORD \Seen too */
	uint64_t number;         /* LARGER / SMALLER */
	int64_t day;             /* date keys: days since 1970-01-01 */
	struct imap_seqset set;  /* SEQSET / UIDSET */
	/* SEQSET / UIDSET indexed at parse time, so a set of thousands of
	 * ranges costs a binary search per message, not a scan (rule 5):
	 * ranges without '*', ascending and merged; and the ranges with one
	 * '*' end ("x:*" is x..max or max..x) reduced to the smallest and
	 * largest x, which is all that decides membership. */
	bool set_indexed;
	const struct imap_range *set_fixed;
	size_t set_fixed_count;
	bool set_star_self;      /* "*" or "*:*": max itself */
	bool set_star_any;       /* some "x:*" */
	uint32_t set_star_min, set_star_max;
	/* BODY / TEXT: the full-text index's answer, ascending UIDs, filled
	 * by imap_search_prepare before matching */
	const uint32_t *uids;
	size_t uid_count;
	bool prepared;
};

/* RETURN options (RFC 9051 §6.4.4, RFC 4731): ESEARCH instead of SEARCH. */
#define IMAP_SEARCH_RETURN_MIN (1u << 0)
#define IMAP_SEARCH_RETURN_MAX (1u << 1)
#define IMAP_SEARCH_RETURN_ALL (1u << 2)
#define IMAP_SEARCH_RETURN_COUNT (1u << 3)
#define IMAP_SEARCH_RETURN_SAVE (1u << 4)
#define IMAP_SEARCH_RETURN_PARTIAL (1u << 5) /* RFC 9394 */
#define IMAP_SEARCH_RETURN_UPDATE (1u << 6)  /* RFC 5267 §4.3 */
#define IMAP_SEARCH_RETURN_CONTEXT (1u << 7) /* RFC 5267 §4.2: a hint, accepted */

/* RFC 9394 partial-range as the client gave it: "first:last", both > 0
 * (counted from the first result) or both < 0 (-1 is the last result).
 * Answers echo it as given. */
struct imap_partial_range {
	int64_t first, last;
};

struct imap_search_query {
	struct imap_search_key *root;   /* an AND of the top-level keys */
	char *charset;                  /* as sent; NULL when absent */
	bool charset_supported;         /* false: answer NO [BADCHARSET (US-ASCII UTF-8)] */
	bool esearch;                   /* RETURN (...) was given */
	unsigned return_options;        /* IMAP_SEARCH_RETURN_* (ALL when "()") */
	bool needs_header;              /* HEADER or SENT* keys present */
	bool has_modseq;                /* a MODSEQ key: answers carry (MODSEQ n) */
	struct imap_partial_range partial; /* with IMAP_SEARCH_RETURN_PARTIAL */
	/* RFC 5465 §7: UPDATE (fetch-att ...): the "(...)" as sent, or NULL */
	const char *update_fetch;
	size_t update_fetch_len;
};

/* partial-range = nz-number ":" nz-number / "-" nz-number ":" "-" nz-number
 * (RFC 9394 §4), for RETURN (PARTIAL ..) and the UID FETCH modifier. */
bool imap_partial_parse(struct imap_parser *parser, struct imap_partial_range *range_r);
/* Which of count results (in answer order) a range names: [*start_r,
 * *end_r), empty (start == end) when none; "500:400" is "400:500". */
void imap_partial_slice(const struct imap_partial_range *range, size_t count, size_t *start_r,
			size_t *end_r);

/* RFC 7377 §2.2 source options of ESEARCH: "IN" SP "(" filter-mailboxes
 * *(SP filter-mailboxes) ")" (RFC 5465 §8 filter-mailboxes, with
 * subtree-one and without selected-delayed). Mailbox names are kept as
 * sent (astrings, not yet decoded from modified UTF-7; a literal may hold
 * a NUL, which the command refuses). */
enum imap_esearch_filter {
	IMAP_ESEARCH_MAILBOXES,   /* exactly these */
	IMAP_ESEARCH_SUBTREE,     /* these and everything below */
	IMAP_ESEARCH_SUBTREE_ONE, /* these and their children */
};
/* Names in one command: more than any folder list a client shows; the
 * bound keeps a hostile command from naming thousands. */
#define IMAP_ESEARCH_MAX_NAMES 256
struct imap_esearch_name {
	char *raw;
	size_t len;
	enum imap_esearch_filter filter;
};
struct imap_esearch_sources {
	bool given;  /* IN (...) was there; else "selected" is meant */
	bool selected, inboxes, personal, subscribed;
	struct imap_esearch_name *names;
	size_t name_count;
};
/* Parse " IN (...)" if the next word is IN (with parser at the space after
 * ESEARCH); otherwise consume nothing and leave sources->given false. Pure:
 * allocates only from parser->arena. Scope options (none is defined) and
 * unknown filters are errors. */
bool imap_esearch_parse_sources(struct imap_parser *parser, struct imap_esearch_sources *sources);

/* MULTISEARCH (RFC 7377 §2.1, cmd-esearch.c): run query over the
 * mailbox of s->view (the caller may have put a view of any of the user's
 * mailboxes there) and, when something matched, send one "* ESEARCH (TAG
 * "t" MAILBOX "m" UIDVALIDITY n) UID ..." for it; nothing otherwise.
 * RETURN (SAVE) saves the result (only for the selected mailbox). -1 on a
 * store error. */
int imap_search_answer_mailbox(struct imap_session *s, struct imap_search_query *query,
			       const char *mailbox, uint32_t uidvalidity);

/* Parse "[SP RETURN (...)] SP [CHARSET x SP] search-key *(SP search-key)"
 * with parser positioned at the space after SEARCH, up to but not including
 * the end of line (the caller checks imap_parse_eol). Pure: allocates only
 * from parser->arena. An unsupported charset is not an error here: see
 * query->charset_supported. */
bool imap_search_parse(struct imap_parser *parser, struct imap_search_query **query_r);

/* For SORT and THREAD, whose arguments wrap the criteria: if the next word
 * is RETURN, parse the options and the space after them (RFC 5267 §3:
 * ESORT); otherwise consume nothing. */
bool imap_search_parse_return(struct imap_parser *parser, struct imap_search_query *query);
/* RFC 5256 §5 search-criteria: "charset 1*(SP search-key)", the charset
 * mandatory (see query->charset_supported), up to the end of line. */
bool imap_search_parse_charset_keys(struct imap_parser *parser, struct imap_search_query *query);

/* One message as the matcher sees it. Strings are UTF-8, NULL when the
 * field is absent. header is the raw top-level header, or NULL when not
 * read (then keys needing it answer MAYBE). */
struct imap_search_message {
	uint32_t seq;              /* sequence number */
	uint32_t uid;
	uint32_t max_seq;          /* what "*" means in a sequence set */
	uint32_t max_uid;          /* what "*" means in a UID set */
	unsigned flags;            /* enum store_flag bits */
	const char *keywords;      /* space-separated */
	int64_t internal_date;
	int internal_date_tz;      /* minutes east of UTC */
	bool has_sent_date;
	int64_t sent_date;         /* UTC; its zone is read from the header */
	uint64_t size;
	uint64_t modseq;
	int64_t save_date;         /* 0 when unknown */
	int64_t now;               /* the time the search runs (WITHIN) */
	const char *from, *to, *cc, *bcc, *subject;
	/* Message-ID, In-Reply-To, References as kept at save time */
	const char *message_id, *in_reply_to, *references;
	/* The fields above are the store's (parse at save, rule 2), so NULL
	 * means the field is absent: HEADER on them needs no header read. */
	bool fields_stored;
	const char *header;
	size_t header_len;
};

enum imap_search_result { IMAP_SEARCH_NO = 0, IMAP_SEARCH_YES = 1, IMAP_SEARCH_MAYBE = 2 };

/* Decide one message. MAYBE only when m->header is NULL and the answer
 * depends on it. arena: scratch for case folding (reset by the caller). */
enum imap_search_result imap_search_match_message(const struct imap_search_query *query,
						  const struct imap_search_message *m,
						  struct arena *arena);
/* The same, as a yes/no for a message given with its header. */
bool imap_search_match(const struct imap_search_query *query, const struct imap_search_message *m,
		       struct arena *arena);

/* Runs every BODY / TEXT key once through lookup (the full-text index) and
 * keeps the ascending UIDs it returns in the key. lookup returns < 0 on
 * error, and then so does this. */
typedef int imap_search_text_fn(void *context, const char *needle, bool include_headers,
				uint32_t **uids_r, size_t *count_r);
int imap_search_prepare(struct imap_search_query *query, imap_search_text_fn *lookup,
			void *context);

/* The executor that SEARCH, SORT and THREAD share: runs query over the
 * selected mailbox (BODY / TEXT keys through the full-text index, one pass
 * over the fields kept at save time, the header read only for undecided
 * messages). on_found (may be NULL) is called once per match with its view
 * index and the store's fields, valid only during the call; matches come
 * in ascending index order except those decided by the header. When
 * indexes_r is not NULL it gets every match's view index, ascending, in the
 * command arena. Returns < 0 on a store error (logged). */
typedef void imap_search_found_fn(void *context, uint32_t index,
				  const struct store_message_info *info);
int imap_search_execute(struct imap_session *s, struct imap_search_query *query,
			imap_search_found_fn *on_found, void *context, uint32_t **indexes_r,
			size_t *count_r, uint64_t *max_modseq_r);

/* Parse an IMAP date "1-Feb-2024" (RFC 9051 §9 date-text) into days since
 * 1970-01-01. false if malformed or not a real day. */
bool imap_search_parse_date(const char *s, size_t len, int64_t *day_r);

/* Fold UTF-8 text for case-insensitive matching: ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic letters to lower case. Result in arena. */
char *imap_search_fold(struct arena *arena, const char *s, size_t len, size_t *len_r);

#endif
