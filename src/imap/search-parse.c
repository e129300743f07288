/*
 * search-parse: the pure half of SEARCH (see search.h): the criteria
 * grammar of RFC 9051 §9 (search-program, search-key, search-return-opts)
 * plus RFC 3501's RECENT / NEW / OLD, IMAP dates, and the case folding
 * that string keys and the matcher share. No store, no session: unit tested
 * and fuzzed.
 */
#include "imap/fetch.h"
#include "imap/search.h"

#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* WITHIN intervals beyond this (about 35,000 years) mean "ever". */
#define SEARCH_MAX_INTERVAL ((uint64_t)1 << 40)
/* Longest key name ("SENTBEFORE", "UNANSWERED") plus room to spot longer
 * atoms as unknown. */
#define SEARCH_MAX_NAME 16

struct search_parse {
	struct imap_parser *parser;
	struct imap_search_query *query;
	size_t keys;  /* keys so far, against IMAP_SEARCH_MAX_KEYS */
};

static bool search_parse_key(struct search_parse *sp, unsigned depth,
			     struct imap_search_key **key_r);

/* ---- case folding ------------------------------------------------------- */

/* Lower case of one code point for the scripts most mail is written in.
 * Every mapping keeps the UTF-8 length, so folded text never grows. */
static uint32_t search_fold_char(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;            /* Latin-1: À..Þ */
	if (c >= 0x100 && c <= 0x17f) {   /* Latin Extended-A: pairs */
		if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f)
			return c;
		if (c == 0x178)
			return 0xff;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		return (c & 1) ? c : c + 1;
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;            /* Greek capitals */
	if (c == 0x3c2)
		return 0x3c3;             /* final sigma */
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;            /* Cyrillic А..Я */
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;            /* Cyrillic Ѐ..Џ */
	return c;
}

/* Decode one UTF-8 sequence of 2 or 3 bytes at s (enough for every code
 * point search_fold_char changes). Returns its length, 0 if not one. */
static size_t search_utf8_decode(const unsigned char *s, size_t left, uint32_t *c_r)
{
	if (s[0] >= 0xc2 && s[0] <= 0xdf && left >= 2 && (s[1] & 0xc0) == 0x80) {
		*c_r = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	return 0;
}

char *imap_search_fold(struct arena *arena, const char *s, size_t len, size_t *len_r)
{
	unsigned char *out = arena_alloc(arena, len + 1);
	const unsigned char *in = (const unsigned char *)s;
	size_t i = 0;
	uint32_t c;

	while (i < len) {
		size_t n = in[i] < 0x80 ? 1 : search_utf8_decode(in + i, len - i, &c);
		if (n == 1) {
			out[i] = (unsigned char)search_fold_char(in[i]);
		} else if (n == 2) {
			c = search_fold_char(c);
			out[i] = (unsigned char)(0xc0 | (c >> 6));
			out[i + 1] = (unsigned char)(0x80 | (c & 0x3f));
		} else {
			out[i] = in[i]; /* other scripts and bad bytes: as they are */
			n = 1;
		}
		i += n;
	}
	out[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return (char *)out;
}

/* ---- dates ----------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t search_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

/* So that 30-Feb-2024 is refused instead of becoming 1 March. */
static unsigned search_days_in_month(unsigned year, unsigned month)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* RFC 9051 §9: date-text = date-day "-" date-month "-" date-year, with
 * date-day = 1*2DIGIT and date-year = 4DIGIT. */
bool imap_search_parse_date(const char *s, size_t len, int64_t *day_r)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	size_t i = 0;
	unsigned day = 0, month = 0, year = 0;

	while (i < len && i < 2 && s[i] >= '0' && s[i] <= '9')
		day = day * 10 + (unsigned)(s[i++] - '0');
	if (i == 0 || i + 9 != len || s[i] != '-' || s[i + 4] != '-')
		return false;
	for (unsigned m = 0; m < 12; m++) {
		if (str_eq_nocase_n(s + i + 1, 3, months[m]))
			month = m + 1;
	}
	for (size_t k = i + 5; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		year = year * 10 + (unsigned)(s[k] - '0');
	}
	if (month == 0 || day == 0 || day > search_days_in_month(year, month))
		return false;
	*day_r = search_days_from_civil(year, month, day);
	return true;
}

/* ---- keys ------------------------------------------------------------------- */

static int search_cmp_range(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Index a SEQSET / UIDSET key for the matcher (see set_indexed in
 * search.h). '*' is UINT32_MAX in struct imap_seqset. */
static void search_index_set(struct search_parse *sp, struct imap_search_key *key)
{
	const struct imap_seqset *set = &key->set;
	struct imap_range *fixed;
	size_t n = 0;

	key->set_indexed = true;
	if (set->saved || set->count == 0)
		return;
	fixed = arena_alloc(sp->parser->arena, set->count * sizeof(*fixed));
	key->set_star_min = UINT32_MAX;
	key->set_star_max = 0;
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;
		bool lo_star = lo == UINT32_MAX, hi_star = hi == UINT32_MAX;
		if (lo_star && hi_star) {
			key->set_star_self = true;
		} else if (lo_star || hi_star) {
			uint32_t x = lo_star ? hi : lo;
			key->set_star_any = true;
			if (x < key->set_star_min)
				key->set_star_min = x;
			if (x > key->set_star_max)
				key->set_star_max = x;
		} else {
			fixed[n].lo = lo < hi ? lo : hi;
			fixed[n].hi = lo < hi ? hi : lo;
			n++;
		}
	}
	if (n > 1)
		qsort(fixed, n, sizeof(*fixed), search_cmp_range);
	size_t merged = 0;
	for (size_t i = 0; i < n; i++) {
		if (merged > 0 && (fixed[merged - 1].hi == UINT32_MAX ||
				   fixed[i].lo <= fixed[merged - 1].hi + 1)) {
			if (fixed[i].hi > fixed[merged - 1].hi)
				fixed[merged - 1].hi = fixed[i].hi;
		} else {
			fixed[merged++] = fixed[i];
		}
	}
	key->set_fixed = fixed;
	key->set_fixed_count = merged;
}

static struct imap_search_key *search_new_key(struct search_parse *sp, enum imap_search_kind kind)
{
	struct imap_search_key *key = arena_zalloc(sp->parser->arena, sizeof(*key));

	key->kind = kind;
	return key;
}

/* A string argument (astring), folded for matching. */
static bool search_parse_string_arg(struct search_parse *sp, struct imap_search_key *key)
{
	char *s;
	size_t len;

	if (!imap_parse_sp(sp->parser) || !imap_parse_astring(sp->parser, &s, &len))
		return imap_parser_fail(sp->parser, "Expected a search string");
	key->value = imap_search_fold(sp->parser->arena, s, len, &key->value_len);
	return true;
}

/* A date argument: date-text, bare or quoted. */
static bool search_parse_date_arg(struct search_parse *sp, struct imap_search_key *key)
{
	char *s;
	size_t len;

	if (!imap_parse_sp(sp->parser) || !imap_parse_astring(sp->parser, &s, &len))
		return imap_parser_fail(sp->parser, "Expected a date");
	if (!imap_search_parse_date(s, len, &key->day))
		return imap_parser_fail(sp->parser, "Invalid date (expected d-Mon-yyyy)");
	return true;
}

/* KEYWORD / UNKEYWORD flag. flag-keyword is an atom; system flags written
 * here (KEYWORD \Seen) are honoured as the flag tests they mean. */
static bool search_parse_keyword(struct search_parse *sp, struct imap_search_key *key, bool set)
{
	static const struct { const char *name; unsigned flag; } system[] = {
		{ "Answered", STORE_FLAG_ANSWERED }, { "Flagged", STORE_FLAG_FLAGGED },
		{ "Deleted", STORE_FLAG_DELETED }, { "Seen", STORE_FLAG_SEEN },
		{ "Draft", STORE_FLAG_DRAFT },
	};
	struct imap_parser *parser = sp->parser;
	bool backslash;
	char *atom;

	if (!imap_parse_sp(parser))
		return false;
	backslash = imap_peek_char(parser, '\\');
	if (backslash)
		parser->p++;
	if (!imap_parse_atom(parser, &atom))
		return imap_parser_fail(parser, "Expected a keyword");
	if (!backslash) {
		key->kind = set ? IMAP_SEARCH_KEYWORD : IMAP_SEARCH_UNKEYWORD;
		key->value = atom;
		key->value_len = strlen(atom);
		return true;
	}
	for (size_t i = 0; i < sizeof(system) / sizeof(system[0]); i++) {
		if (str_eq_nocase(atom, system[i].name)) {
			key->kind = set ? IMAP_SEARCH_FLAGS_SET : IMAP_SEARCH_FLAGS_UNSET;
			key->flags = system[i].flag;
			return true;
		}
	}
	/* \Recent or an unknown flag: nobody has it */
	key->kind = set ? IMAP_SEARCH_NONE : IMAP_SEARCH_ALL;
	return true;
}

/* "(" search-key *(SP search-key) ")" or the top-level list: keys until
 * the closing parenthesis (inner) or until neither a space nor a key
 * follows (top). */
static bool search_parse_list(struct search_parse *sp, unsigned depth, bool inner,
			      struct imap_search_key **key_r)
{
	struct imap_search_key *list = search_new_key(sp, IMAP_SEARCH_AND);
	struct imap_search_key **tail = &list->children;
	struct imap_parser *parser = sp->parser;

	for (;;) {
		struct imap_search_key *key;
		if (!search_parse_key(sp, depth, &key))
			return false;
		*tail = key;
		tail = &key->next;
		if (inner && imap_peek_char(parser, ')')) {
			parser->p++;
			break;
		}
		/* the top level ends at the end of line */
		if (!inner && (imap_at_end(parser) || !imap_peek_char(parser, ' ')))
			break;
		if (!imap_parse_sp(parser))
			return false;
	}
	*key_r = list;
	return true;
}

/* Keys without arguments. */
static bool search_simple_key(struct imap_search_key *key, const char *name)
{
	static const struct {
		const char *name;
		enum imap_search_kind kind;
		unsigned flags;
	} simple[] = {
		{ "ALL", IMAP_SEARCH_ALL, 0 },
		{ "ANSWERED", IMAP_SEARCH_FLAGS_SET, STORE_FLAG_ANSWERED },
		{ "DELETED", IMAP_SEARCH_FLAGS_SET, STORE_FLAG_DELETED },
		{ "DRAFT", IMAP_SEARCH_FLAGS_SET, STORE_FLAG_DRAFT },
		{ "FLAGGED", IMAP_SEARCH_FLAGS_SET, STORE_FLAG_FLAGGED },
		{ "SEEN", IMAP_SEARCH_FLAGS_SET, STORE_FLAG_SEEN },
		{ "UNANSWERED", IMAP_SEARCH_FLAGS_UNSET, STORE_FLAG_ANSWERED },
		{ "UNDELETED", IMAP_SEARCH_FLAGS_UNSET, STORE_FLAG_DELETED },
		{ "UNDRAFT", IMAP_SEARCH_FLAGS_UNSET, STORE_FLAG_DRAFT },
		{ "UNFLAGGED", IMAP_SEARCH_FLAGS_UNSET, STORE_FLAG_FLAGGED },
		{ "UNSEEN", IMAP_SEARCH_FLAGS_UNSET, STORE_FLAG_SEEN },
		/* RFC 3501 §6.4.4: buzon keeps no \Recent, so no message is
		 * recent (RECENT, NEW = RECENT UNSEEN) and all are OLD */
		{ "RECENT", IMAP_SEARCH_NONE, 0 },
		{ "NEW", IMAP_SEARCH_NONE, 0 },
		{ "OLD", IMAP_SEARCH_ALL, 0 },
	};

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (str_eq_nocase(name, simple[i].name)) {
			key->kind = simple[i].kind;
			key->flags = simple[i].flags;
			return true;
		}
	}
	return false;
}

/* Keys with one string argument. */
static bool search_string_key(const char *name, enum imap_search_kind *kind_r)
{
	static const struct { const char *name; enum imap_search_kind kind; } strings[] = {
		{ "FROM", IMAP_SEARCH_FROM }, { "TO", IMAP_SEARCH_TO },
		{ "CC", IMAP_SEARCH_CC }, { "BCC", IMAP_SEARCH_BCC },
		{ "SUBJECT", IMAP_SEARCH_SUBJECT }, { "BODY", IMAP_SEARCH_BODY },
		{ "TEXT", IMAP_SEARCH_TEXT },
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (str_eq_nocase(name, strings[i].name)) {
			*kind_r = strings[i].kind;
			return true;
		}
	}
	return false;
}

/* Keys with one date argument. */
static bool search_date_key(const char *name, enum imap_search_kind *kind_r)
{
	static const struct { const char *name; enum imap_search_kind kind; } dates[] = {
		{ "BEFORE", IMAP_SEARCH_BEFORE }, { "ON", IMAP_SEARCH_ON },
		{ "SINCE", IMAP_SEARCH_SINCE }, { "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
		{ "SENTON", IMAP_SEARCH_SENTON }, { "SENTSINCE", IMAP_SEARCH_SENTSINCE },
		{ "SAVEDBEFORE", IMAP_SEARCH_SAVEDBEFORE }, { "SAVEDON", IMAP_SEARCH_SAVEDON },
		{ "SAVEDSINCE", IMAP_SEARCH_SAVEDSINCE },
	};

	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		if (str_eq_nocase(name, dates[i].name)) {
			*kind_r = dates[i].kind;
			return true;
		}
	}
	return false;
}

/* HEADER field-name string. The name is kept as sent for mime_header_get. */
static bool search_parse_header(struct search_parse *sp, struct imap_search_key *key)
{
	size_t len;

	if (!imap_parse_sp(sp->parser) || !imap_parse_astring(sp->parser, &key->field, &len))
		return imap_parser_fail(sp->parser, "Expected a header field name");
	if (len == 0 || strlen(key->field) != len || strpbrk(key->field, ": \t\r\n") != NULL)
		return imap_parser_fail(sp->parser, "Invalid header field name");
	sp->query->needs_header = true;
	return search_parse_string_arg(sp, key);
}

/* NOT key / OR key key: children one level deeper. */
static bool search_parse_operator(struct search_parse *sp, unsigned depth,
				  struct imap_search_key *key, unsigned operands)
{
	struct imap_search_key **tail = &key->children;

	for (unsigned i = 0; i < operands; i++) {
		struct imap_search_key *child;
		if (!imap_parse_sp(sp->parser) || !search_parse_key(sp, depth + 1, &child))
			return false;
		*tail = child;
		tail = &child->next;
	}
	return true;
}

/* RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer.
 * buzon keeps one MODSEQ per message, so the optional metadata entry
 * ("/flags/\\seen" "priv") is checked and then means the same. */
static bool search_parse_modseq(struct search_parse *sp, struct imap_search_key *key)
{
	struct imap_parser *p = sp->parser;
	char *entry, *type;
	size_t len;

	key->kind = IMAP_SEARCH_MODSEQ;
	sp->query->has_modseq = true;
	if (!imap_parse_sp(p))
		return false;
	if (imap_peek_char(p, '"')) {
		if (!imap_parse_string(p, &entry, &len) || !imap_parse_sp(p) ||
		    !imap_parse_atom(p, &type) ||
		    (!str_eq_nocase(type, "priv") && !str_eq_nocase(type, "shared") &&
		     !str_eq_nocase(type, "all")) || !imap_parse_sp(p))
			return imap_parser_fail(p, "Invalid MODSEQ entry");
	}
	if (!imap_parse_number64(p, &key->number))
		return imap_parser_fail(p, "Expected a mod-sequence");
	return true;
}

/* A key that starts with a name. */
static bool search_parse_named_key(struct search_parse *sp, unsigned depth, const char *name,
				   struct imap_search_key *key)
{
	enum imap_search_kind kind;

	if (search_simple_key(key, name))
		return true;
	if (search_string_key(name, &kind)) {
		key->kind = kind;
		return search_parse_string_arg(sp, key);
	}
	if (search_date_key(name, &kind)) {
		key->kind = kind;
		if (kind == IMAP_SEARCH_SENTBEFORE || kind == IMAP_SEARCH_SENTON ||
		    kind == IMAP_SEARCH_SENTSINCE)
			sp->query->needs_header = true;
		return search_parse_date_arg(sp, key);
	}
	if (str_eq_nocase(name, "NOT")) {
		key->kind = IMAP_SEARCH_NOT;
		return search_parse_operator(sp, depth, key, 1);
	}
	if (str_eq_nocase(name, "OR")) {
		key->kind = IMAP_SEARCH_OR;
		return search_parse_operator(sp, depth, key, 2);
	}
	if (str_eq_nocase(name, "KEYWORD") || str_eq_nocase(name, "UNKEYWORD"))
		return search_parse_keyword(sp, key, name[0] == 'K' || name[0] == 'k');
	if (str_eq_nocase(name, "HEADER")) {
		key->kind = IMAP_SEARCH_HEADER;
		return search_parse_header(sp, key);
	}
	if (str_eq_nocase(name, "LARGER") || str_eq_nocase(name, "SMALLER")) {
		key->kind = name[0] == 'L' || name[0] == 'l' ? IMAP_SEARCH_LARGER :
							      IMAP_SEARCH_SMALLER;
		if (!imap_parse_sp(sp->parser) || !imap_parse_number64(sp->parser, &key->number))
			return imap_parser_fail(sp->parser, "Expected a size");
		return true;
	}
	if (str_eq_nocase(name, "MODSEQ"))
		return search_parse_modseq(sp, key);
	if (str_eq_nocase(name, "OLDER") || str_eq_nocase(name, "YOUNGER")) {
		/* RFC 5032: interval in seconds, nz-number */
		key->kind = name[0] == 'O' || name[0] == 'o' ? IMAP_SEARCH_OLDER :
							      IMAP_SEARCH_YOUNGER;
		if (!imap_parse_sp(sp->parser) || !imap_parse_number64(sp->parser, &key->number) ||
		    key->number == 0)
			return imap_parser_fail(sp->parser, "Expected an interval in seconds");
		if (key->number > SEARCH_MAX_INTERVAL)
			key->number = SEARCH_MAX_INTERVAL; /* keeps now - number in range */
		return true;
	}
	if (str_eq_nocase(name, "SAVEDATESUPPORTED")) {
		key->kind = IMAP_SEARCH_ALL; /* RFC 8514 §4.3: every mailbox keeps it */
		return true;
	}
	if (str_eq_nocase(name, "UID")) {
		key->kind = IMAP_SEARCH_UIDSET;
		if (!imap_parse_sp(sp->parser) || !imap_parse_seqset(sp->parser, &key->set))
			return imap_parser_fail(sp->parser, "Expected a UID set");
		search_index_set(sp, key);
		return true;
	}
	return imap_parser_fail(sp->parser, "Unknown search key");
}

/* One search-key (RFC 9051 §9). depth counts enclosing lists and
 * operators. */
static bool search_parse_key(struct search_parse *sp, unsigned depth,
			     struct imap_search_key **key_r)
{
	struct imap_parser *parser = sp->parser;
	struct imap_search_key *key;
	char *name;

	if (depth > IMAP_SEARCH_MAX_DEPTH)
		return imap_parser_fail(parser, "[LIMIT] Search criteria nested too deep");
	if (++sp->keys > IMAP_SEARCH_MAX_KEYS)
		return imap_parser_fail(parser, "[LIMIT] Too many search keys");
	if (imap_peek_char(parser, '(')) {
		parser->p++;
		return search_parse_list(sp, depth + 1, true, key_r);
	}
	key = search_new_key(sp, IMAP_SEARCH_SEQSET);
	if (parser->p < parser->end &&
	    ((*parser->p >= '0' && *parser->p <= '9') || *parser->p == '*' || *parser->p == '$')) {
		if (!imap_parse_seqset(parser, &key->set))
			return false;
		search_index_set(sp, key);
		*key_r = key;
		return true;
	}
	if (!imap_parse_atom(parser, &name))
		return imap_parser_fail(parser, "Expected a search key");
	if (!search_parse_named_key(sp, depth, name, key))
		return false;
	*key_r = key;
	return true;
}

/* ---- the program ------------------------------------------------------------ */

/* If the next atom is word (case-insensitively), consume it with the space
 * after it and return true; otherwise leave the parser where it was. */
static bool search_take_word(struct imap_parser *parser, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(parser->end - parser->p) <= n || !str_eq_nocase_n(parser->p, n, word) ||
	    parser->p[n] != ' ')
		return false;
	parser->p += n + 1;
	return true;
}

bool imap_partial_parse(struct imap_parser *parser, struct imap_partial_range *range_r)
{
	bool negative = imap_peek_char(parser, '-');
	uint32_t first, last;

	if (negative)
		parser->p++;
	if (!imap_parse_number(parser, &first) || first == 0 || !imap_parse_char(parser, ':') ||
	    (negative && !imap_parse_char(parser, '-')) || !imap_parse_number(parser, &last) ||
	    last == 0)
		return imap_parser_fail(parser, "Invalid PARTIAL range");
	range_r->first = negative ? -(int64_t)first : (int64_t)first;
	range_r->last = negative ? -(int64_t)last : (int64_t)last;
	return true;
}

void imap_partial_slice(const struct imap_partial_range *range, size_t count, size_t *start_r,
			size_t *end_r)
{
	int64_t lo = range->first < range->last ? range->first : range->last;
	int64_t hi = range->first < range->last ? range->last : range->first;
	int64_t n = (int64_t)count, start, end;

	if (lo > 0) {
		start = lo - 1;   /* 1 is the first result */
		end = hi;
	} else {
		start = n + lo;   /* -1 is the last: index n - 1 */
		end = n + hi + 1;
	}
	start = start < 0 ? 0 : start > n ? n : start;
	end = end < start ? start : end > n ? n : end;
	*start_r = (size_t)start;
	*end_r = (size_t)end;
}

/* RFC 9051 §9 search-return-opts: "RETURN" SP "(" [opt *(SP opt)] ")".
 * Unknown options are refused with BAD, as §6.4.4 requires. */
static bool search_parse_return(struct imap_parser *parser, struct imap_search_query *query)
{
	static const struct { const char *name; unsigned bit; } options[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN }, { "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL }, { "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE }, { "PARTIAL", IMAP_SEARCH_RETURN_PARTIAL },
		{ "UPDATE", IMAP_SEARCH_RETURN_UPDATE }, { "CONTEXT", IMAP_SEARCH_RETURN_CONTEXT },
	};
	char *atom;

	query->esearch = true;
	if (!imap_parse_char(parser, '('))
		return imap_parser_fail(parser, "Expected RETURN options");
	while (!imap_peek_char(parser, ')')) {
		unsigned bit = 0;
		if (query->return_options != 0 && !imap_parse_sp(parser))
			return false;
		if (!imap_parse_atom(parser, &atom))
			return imap_parser_fail(parser, "Expected a RETURN option");
		for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
			if (str_eq_nocase(atom, options[i].name))
				bit = options[i].bit;
		}
		if (bit == 0)
			return imap_parser_fail(parser, "Unknown RETURN option");
		if (bit == IMAP_SEARCH_RETURN_PARTIAL &&
		    (!imap_parse_sp(parser) || !imap_partial_parse(parser, &query->partial)))
			return false;
		/* RFC 5465 §8: modifier-update = "UPDATE" ["(" fetch-att ... ")"] */
		if (bit == IMAP_SEARCH_RETURN_UPDATE && imap_peek_char(parser, ' ') &&
		    parser->p + 1 < parser->end && parser->p[1] == '(') {
			struct imap_fetch_request *request;

			query->update_fetch = ++parser->p;
			if (!imap_fetch_parse_items(parser, &request))
				return false;
			query->update_fetch_len = (size_t)(parser->p - query->update_fetch);
		}
		/* RFC 9394 §3.1: one PARTIAL or one ALL, not both */
		if ((bit & (IMAP_SEARCH_RETURN_PARTIAL | IMAP_SEARCH_RETURN_ALL)) &&
		    (query->return_options & (IMAP_SEARCH_RETURN_PARTIAL | IMAP_SEARCH_RETURN_ALL)))
			return imap_parser_fail(parser, "Only one of PARTIAL and ALL");
		query->return_options |= bit;
	}
	parser->p++;
	/* §6.4.4: "()" means ALL; so does SAVE alone not (it suppresses) */
	if (query->return_options == 0)
		query->return_options = IMAP_SEARCH_RETURN_ALL;
	return imap_parse_sp(parser);
}

/* RFC 9051 §6.4.4: US-ASCII and UTF-8 must be supported; the strings are
 * used as sent (US-ASCII is a subset of UTF-8). */
static bool search_parse_charset(struct imap_parser *parser, struct imap_search_query *query)
{
	size_t len;

	if (!imap_parse_astring(parser, &query->charset, &len) || !imap_parse_sp(parser))
		return imap_parser_fail(parser, "Expected a charset");
	query->charset_supported = str_eq_nocase(query->charset, "UTF-8") ||
				   str_eq_nocase(query->charset, "US-ASCII") ||
				   str_eq_nocase(query->charset, "UTF8") ||
				   str_eq_nocase(query->charset, "ASCII");
	return true;
}

bool imap_search_parse(struct imap_parser *parser, struct imap_search_query **query_r)
{
	struct imap_search_query *query = arena_zalloc(parser->arena, sizeof(*query));
	struct search_parse sp = { .parser = parser, .query = query };

	query->charset_supported = true;
	if (!imap_parse_sp(parser))
		return false;
	if (search_take_word(parser, "RETURN") && !search_parse_return(parser, query))
		return false;
	if (search_take_word(parser, "CHARSET") && !search_parse_charset(parser, query))
		return false;
	if (!search_parse_list(&sp, 0, false, &query->root))
		return false;
	*query_r = query;
	return true;
}

/* one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")" (RFC 5465 §8) */
static bool esearch_parse_names(struct imap_parser *p, enum imap_esearch_filter filter,
				struct imap_esearch_sources *src)
{
	bool list = imap_peek_char(p, '(');

	if (list)
		p->p++;
	do {
		struct imap_esearch_name *n;
		if (src->name_count == IMAP_ESEARCH_MAX_NAMES)
			return imap_parser_fail(p, "[LIMIT] Too many mailboxes");
		n = &src->names[src->name_count];
		if (!imap_parse_astring(p, &n->raw, &n->len))
			return false;
		n->filter = filter;
		src->name_count++;
	} while (list && imap_peek_char(p, ' ') && p->p++);
	return !list || imap_parse_char(p, ')');
}

bool imap_esearch_parse_sources(struct imap_parser *p, struct imap_esearch_sources *src)
{
	const char *start = p->p;
	char *word;

	memset(src, 0, sizeof(*src));
	if (!imap_peek_char(p, ' '))
		return true;
	p->p++;
	if (!search_take_word(p, "IN")) {
		p->p = start;
		return true;
	}
	src->given = true;
	src->names = arena_alloc(p->arena, IMAP_ESEARCH_MAX_NAMES * sizeof(*src->names));
	if (!imap_parse_char(p, '('))
		return imap_parser_fail(p, "Expected IN (source options)");
	do {
		if (imap_peek_char(p, '('))
			return imap_parser_fail(p, "Unknown scope option"); /* none is defined */
		if (!imap_parse_atom(p, &word))
			return imap_parser_fail(p, "Expected a source option");
		if (str_eq_nocase(word, "selected"))
			src->selected = true;
		else if (str_eq_nocase(word, "inboxes"))
			src->inboxes = true;
		else if (str_eq_nocase(word, "personal"))
			src->personal = true;
		else if (str_eq_nocase(word, "subscribed"))
			src->subscribed = true;
		else if (str_eq_nocase(word, "mailboxes") || str_eq_nocase(word, "subtree") ||
			 str_eq_nocase(word, "subtree-one")) {
			enum imap_esearch_filter filter =
				str_eq_nocase(word, "mailboxes") ? IMAP_ESEARCH_MAILBOXES :
				str_eq_nocase(word, "subtree")	 ? IMAP_ESEARCH_SUBTREE :
								   IMAP_ESEARCH_SUBTREE_ONE;
			if (!imap_parse_sp(p) || !esearch_parse_names(p, filter, src))
				return false;
		} else {
			/* includes "selected-delayed", forbidden by RFC 7377 §2.2 */
			return imap_parser_fail(p, "Unknown source option");
		}
	} while (imap_peek_char(p, ' ') && p->p++);
	return imap_parse_char(p, ')');
}

bool imap_search_parse_return(struct imap_parser *parser, struct imap_search_query *query)
{
	return !search_take_word(parser, "RETURN") || search_parse_return(parser, query);
}

bool imap_search_parse_charset_keys(struct imap_parser *parser, struct imap_search_query *query)
{
	struct search_parse sp = { .parser = parser, .query = query };

	query->charset_supported = true;
	return search_parse_charset(parser, query) &&
	       search_parse_list(&sp, 0, false, &query->root);
}
