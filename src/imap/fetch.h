/*
 * fetch: the FETCH and UID FETCH commands (RFC 9051 §6.4.5, §7.5.2; the
 * RFC822* items of RFC 3501 §6.4.5 for rev1 clients).
 *
 * Two halves. imap_fetch_parse is pure: it turns the arguments into a
 * struct imap_fetch_request using only the parser's arena, so it is unit
 * tested and fuzzed on its own. The executor (imap_cmd_fetch in session.h)
 * answers from what the store kept at save time (DESIGN.md rule 2): the
 * envelope and body structure in wire form, and the part table for
 * BODY[section]. It never parses MIME structure again; it only reads the
 * byte ranges the part table names, and filters header lines for
 * HEADER.FIELDS.
 *
 * Output is produced one message at a time from a per-message arena, and the
 * command pauses (IMAP_CMD_ASYNC) whenever the connection's output queue is
 * full, so FETCH 1:* BODY[] over a huge mailbox holds about one message in
 * memory (rule 5).
 */
#ifndef BUZON_IMAP_FETCH_H
#define BUZON_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/parser.h"
#include "imap/search.h"
#include "imap/session.h"
#include "mime/mime.h"

/* More items than any client sends (Thunderbird sends about ten); a bound
 * keeps one command from multiplying its per-message output without end. */
#define IMAP_FETCH_MAX_ITEMS 256
/* Part numbers nest at most MIME_MAX_DEPTH deep; a longer "1.1.1..." can
 * name nothing, so it is refused instead of being carried around. */
#define IMAP_FETCH_MAX_SECTION_DEPTH 64
/* HEADER.FIELDS lists: mail clients ask for a dozen or two fields. */
#define IMAP_FETCH_MAX_FIELDS 256

enum imap_fetch_item_kind {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_BODY,    /* BODY without a section: the basic structure */
	IMAP_FETCH_SECTION, /* BODY[..], BODY.PEEK[..], RFC822, RFC822.HEADER, RFC822.TEXT */
	IMAP_FETCH_MODSEQ,  /* RFC 7162 §3.1.4.2 */
	IMAP_FETCH_PREVIEW, /* RFC 8970 */
	IMAP_FETCH_EMAILID, /* RFC 8474 */
	IMAP_FETCH_THREADID,
	IMAP_FETCH_SAVEDATE, /* RFC 8514 */
	IMAP_FETCH_BINARY,   /* RFC 3516: BINARY[part]<partial>, BINARY.PEEK[..] */
	IMAP_FETCH_BINARY_SIZE, /* RFC 3516: BINARY.SIZE[part] */
};

/* What follows the part number in a section (RFC 9051 §6.4.5.1). */
enum imap_fetch_section_text {
	IMAP_SECTION_ALL,        /* "" or a bare part number: the whole thing */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,       /* only after a part number */
};

struct imap_fetch_section {
	char *part;        /* "" for the message, else "1.2.3" (canonical digits) */
	enum imap_fetch_section_text text;
	char **fields;     /* HEADER.FIELDS[.NOT] names, as the client sent them */
	size_t field_count;
};

struct imap_fetch_item {
	enum imap_fetch_item_kind kind;
	/* IMAP_FETCH_SECTION only: */
	struct imap_fetch_section section;
	bool peek;         /* does not set \Seen */
	bool partial;      /* <origin.length> was given */
	uint64_t origin;
	uint64_t length;
	/* The item's name in the response, without the <origin>:
	 * "BODY[1.HEADER.FIELDS (From To)]", "RFC822.HEADER", ... */
	char *response_name;
};

struct imap_fetch_request {
	struct imap_seqset set;
	struct imap_fetch_item *items;
	size_t item_count;
	bool has_uid;          /* UID was asked for (UID FETCH adds it otherwise) */
	bool has_flags;        /* FLAGS was asked for */
	bool has_modseq;       /* MODSEQ was asked for (or implied by CHANGEDSINCE) */
	/* RFC 7162 fetch modifiers (parsed by imap_fetch_parse_modifiers) */
	bool changedsince_given;
	uint64_t changedsince; /* only messages with a greater MODSEQ */
	bool vanished;         /* UID FETCH (... VANISHED): report expunged UIDs */
	bool partial_given;    /* RFC 9394 §3.3: UID FETCH (PARTIAL range) */
	struct imap_partial_range partial;
	bool sets_seen;        /* some item implicitly sets \Seen */
	bool needs_structure;  /* envelope, structure or part table needed */
	bool needs_search;     /* preview or EMAILID needed (STORE_INFO_SEARCH) */
	bool view_only;        /* only UID, FLAGS, MODSEQ: the session's view has them */
};

/* Parse " sequence-set SP (ALL / FAST / FULL / fetch-att /
 * "(" fetch-att *(SP fetch-att) ")")" with parser positioned at the space
 * after FETCH. Stops before whatever follows the items (RFC 7162 fetch
 * modifiers, or the end of line): the caller checks imap_parse_eol.
 * Pure: allocates only from parser->arena. On failure returns false with
 * parser->error set (imap_parser_fail). */
bool imap_fetch_parse(struct imap_parser *parser, struct imap_fetch_request **request_r);

/* Only the fetch attributes ("UID" or "(UID FLAGS ...)"), for NOTIFY's
 * MessageNew (RFC 5465 §8) and SEARCH/SORT RETURN (UPDATE (...)). */
bool imap_fetch_parse_items(struct imap_parser *parser, struct imap_fetch_request **request_r);

/* Pushed FETCHes (NOTIFY MessageNew and SEARCH / SORT RETURN (UPDATE
 * (...)), RFC 5465 §5.2 and §7) are written whole, between commands or in
 * IDLE, where no command can pause for the client to read. So message text
 * (BODY[], BODY[TEXT], a part, BINARY[...], RFC822, RFC822.TEXT) is pushed
 * only with a <origin.length> of at most this much; headers, MIME headers
 * and the structure items are always fine (§5.2 names them as the useful
 * ones). 64 KB: a preview's worth, a quarter of the output high water. */
#define IMAP_FETCH_PUSH_TEXT_MAX (64 * 1024)
/* Can request be pushed (see above)? False: refuse it when it is set up
 * (NOTIFY: NO [NOTIFICATIONOVERFLOW], §3.1; SEARCH: NO [NOUPDATE]). */
bool imap_fetch_items_pushable(const struct imap_fetch_request *request);

/* Unsolicited FETCH responses for the view messages [first, first+count)
 * (RFC 5465 §5.2: the attributes of new messages), written in full now:
 * no \Seen is set, messages expunged meanwhile are skipped. Before each
 * message the output queue is checked: when the client is not reading
 * (imap_output_full), the rest is not sent and 1 is returned (NOTIFY then
 * says NOTIFICATIONOVERFLOW), so at most one message's worth is queued
 * beyond the high water mark. Returns -1 on a store error, else 0. */
int imap_fetch_unsolicited(struct imap_session *s, struct imap_fetch_request *request,
			   size_t first, size_t count);

/* After the items: " (CHANGEDSINCE n [VANISHED] [PARTIAL range])" (RFC 7162
 * §3.1.4.1, §3.2.6, RFC 9394 §3.3, in any order), or nothing. Pure, like
 * imap_fetch_parse. */
bool imap_fetch_parse_modifiers(struct imap_parser *parser, struct imap_fetch_request *request);

/* A section-spec without its brackets ("1.2.MIME", "HEADER.FIELDS (From)"),
 * all of text[0..len): the ;SECTION= of an IMAP URL (RFC 5092 §11). Pure;
 * allocates from arena. */
bool imap_fetch_parse_section_spec(struct arena *arena, const char *text, size_t len,
				   struct imap_fetch_section *section_r);

/* A byte range [start, end) of the stored message. */
struct imap_fetch_range {
	uint64_t start;
	uint64_t end;
	bool header;    /* a header block: HEADER.FIELDS filters within it */
};

/* Where a section's bytes are, from the part table kept at save time.
 * Returns false when the section does not exist in this message (the
 * caller then sends an empty string, as Dovecot does). size is the message
 * size; parts[0] is the message itself. */
bool imap_fetch_section_range(const struct imap_fetch_section *section,
			      const struct mime_part *parts, size_t part_count, uint64_t size,
			      struct imap_fetch_range *range_r);

/* Apply <origin.length> to data of total bytes: the offset and byte count to
 * send (RFC 9051 §6.4.5: an origin past the end gives an empty string). */
void imap_fetch_partial(const struct imap_fetch_item *item, size_t total, size_t *offset_r,
			size_t *length_r);

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 9051 §9 date-time, without quotes) for
 * time seconds since the epoch shown in zone tz_minutes east of UTC. out
 * must hold IMAP_FETCH_DATE_SIZE bytes. */
#define IMAP_FETCH_DATE_SIZE 72 /* 26 used; room for any int the compiler imagines */
void imap_fetch_format_date(int64_t time, int tz_minutes, char *out);

#endif
