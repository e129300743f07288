/*
 * urlauth: see urlauth.h. RFC 4467 is the text: §2 (keys, tokens), §3 (the
 * URL components and access identifiers), §6 (validation), §7 (commands).
 */
#include "imap/urlauth.h"
#include "imap/fetch.h"
#include "imap/session.h"
#include "imap/url.h"
#include "core/log.h"
#include "core/str.h"
#include "mime/mime.h"
#include "store/acl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool imap_urlauth_entry_hidden(const char *entry)
{
	size_t n = strlen(IMAP_URLAUTH_KEY_PREFIX);

	return str_has_prefix_nocase(entry, IMAP_URLAUTH_KEY_PREFIX) &&
	       (entry[n] == '\0' || entry[n] == '/');
}

void imap_urlauth_token(const unsigned char *key, size_t key_len, const char *rump,
			size_t rump_len, char hex_r[IMAP_URLAUTH_TOKEN_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	/* HMAC() cannot fail for SHA-1 with a key in memory; a zeroed MAC
	 * (mac_len 0) would only make every check fail, never pass. */
	if (HMAC(EVP_sha1(), key, (int)key_len, (const unsigned char *)rump, rump_len, mac,
		 &mac_len) == NULL || mac_len != IMAP_URLAUTH_TOKEN_HEX / 2)
		memset(mac, 0, sizeof(mac));
	for (size_t i = 0; i < IMAP_URLAUTH_TOKEN_HEX / 2; i++) {
		hex_r[2 * i] = digits[mac[i] >> 4];
		hex_r[2 * i + 1] = digits[mac[i] & 15];
	}
	hex_r[IMAP_URLAUTH_TOKEN_HEX] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

int imap_urlauth_key_get(struct store *store, int64_t mailbox_id, int64_t account_id, bool create,
			 struct arena *arena, unsigned char key_r[IMAP_URLAUTH_KEY_SIZE],
			 const char **error_r)
{
	struct store_metadata *list;
	size_t count;
	int r = store_metadata_get(store, mailbox_id, account_id, IMAP_URLAUTH_KEY_ENTRY, arena,
				   &list, &count, error_r);

	if (r < 0)
		return r;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(list[i].entry, IMAP_URLAUTH_KEY_ENTRY) == 0 &&
		    list[i].value_len == IMAP_URLAUTH_KEY_SIZE) {
			memcpy(key_r, list[i].value, IMAP_URLAUTH_KEY_SIZE);
			return 1;
		}
	}
	if (!create)
		return 0;
	if (imap_urlauth_key_reset(store, account_id, NULL, mailbox_id, arena, error_r) < 0)
		return STORE_EFAIL;
	/* Read back what is stored: a concurrent GENURLAUTH of the same
	 * mailbox may have written its own key last, and that one counts. */
	return imap_urlauth_key_get(store, mailbox_id, account_id, false, arena, key_r, error_r);
}

int imap_urlauth_key_reset(struct store *store, int64_t account_id, const char *address,
			   int64_t mailbox_id, struct arena *arena, const char **error_r)
{
	if (mailbox_id != 0) {
		unsigned char key[IMAP_URLAUTH_KEY_SIZE];
		if (RAND_bytes(key, sizeof(key)) != 1) {
			*error_r = "RAND_bytes failed";
			return STORE_EFAIL;
		}
		struct store_metadata change = {
			.mailbox_id = mailbox_id, .account_id = account_id,
			.entry = IMAP_URLAUTH_KEY_ENTRY, .value = (const char *)key,
			.value_len = sizeof(key),
		};
		/* The key is not one of the user's annotations: no limit. */
		int r = store_metadata_set(store, &change, 1, SIZE_MAX, error_r);
		OPENSSL_cleanse(key, sizeof(key));
		return r;
	}
	/* Every mailbox the user may have a key for: its own and those
	 * shared with it (RFC 4467 §2.2: per user, per mailbox). */
	struct store_mailbox *own;
	struct store_shared_mailbox *shared = NULL;
	size_t own_count, shared_count = 0;
	int r = store_mailbox_list(store, account_id, arena, &own, &own_count, error_r);
	if (r < 0)
		return r;
	if (address != NULL &&
	    (r = store_acl_shared_with(store, account_id, address, arena, &shared, &shared_count,
				       error_r)) < 0)
		return r;
	size_t count = own_count + shared_count;
	if (count == 0)
		return 0;
	struct store_metadata *changes = arena_alloc(arena, count * sizeof(*changes));
	for (size_t i = 0; i < count; i++) {
		changes[i] = (struct store_metadata){
			.mailbox_id = i < own_count ? own[i].id : shared[i - own_count].mailbox.id,
			.account_id = account_id, .entry = IMAP_URLAUTH_KEY_ENTRY,
		};
	}
	return store_metadata_set(store, changes, count, SIZE_MAX, error_r);
}

/* RFC 9051 §5.1: INBOX in any case, also as a parent (the URL names the
 * mailbox as the user would in SELECT). */
static const char *urlauth_mailbox_name(struct arena *arena, const char *name)
{
	if (str_eq_nocase(name, "INBOX"))
		return "INBOX";
	if (str_has_prefix_nocase(name, "INBOX/"))
		return arena_printf(arena, "INBOX%s", name + 5);
	return name;
}

bool imap_urlauth_generate(struct store *store, struct arena *arena, const char *hostname,
			   int64_t account_id, const char *address, const char *url, size_t len,
			   const char **full_r, const char **error_r, bool *failed_r)
{
	struct imap_url parsed;
	struct imap_mailbox_ref ref;
	unsigned char key[IMAP_URLAUTH_KEY_SIZE];
	char hex[IMAP_URLAUTH_TOKEN_HEX + 1];

	*failed_r = false;
	if (strlen(url) != len || !imap_url_parse(arena, url, len, &parsed, error_r))
		return false;
	/* RFC 4467 §7 GENURLAUTH checks (1)-(3); examples a775, a776. */
	if (parsed.user == NULL) {
		*error_r = "Missing owner username in supplied URL";
		return false;
	}
	if (parsed.access == IMAP_URL_ACCESS_NONE) {
		*error_r = "Missing access identifier in supplied URL";
		return false;
	}
	if (parsed.mechanism != NULL) {
		*error_r = "Supplied URL already has a mechanism and token";
		return false;
	}
	if (!str_eq_nocase(parsed.host, hostname)) {
		*error_r = "URL is not of this server";
		return false;
	}
	/* (2): only the logged-in user's own key table. */
	if (!str_eq_nocase(parsed.user, address)) {
		*error_r = "URL owner is not the logged-in user";
		return false;
	}
	const char *name = urlauth_mailbox_name(arena, parsed.mailbox);
	if (!imap_utf8_valid(name, strlen(name)) ||
	    imap_mailbox_resolve_as(store, arena, account_id, address, name, &ref) < 0) {
		*error_r = "Cannot resolve the mailbox";
		*failed_r = true;
		return false;
	}
	if (!ref.exists || !(ref.rights & ACL_LOOKUP) || !(ref.rights & ACL_READ)) {
		*error_r = "Mailbox does not exist";
		return false;
	}
	if (parsed.uidvalidity != 0 && parsed.uidvalidity != ref.mailbox.uidvalidity) {
		*error_r = "UIDVALIDITY does not match the mailbox";
		return false;
	}
	int r = imap_urlauth_key_get(store, ref.mailbox.id, account_id, true, arena, key, error_r);
	if (r <= 0) {
		*failed_r = true;
		if (r == 0)
			*error_r = "key vanished";
		return false;
	}
	imap_urlauth_token(key, sizeof(key), url, len, hex);
	OPENSSL_cleanse(key, sizeof(key));
	*full_r = arena_printf(arena, "%.*s:internal:%s", (int)len, url, hex);
	return true;
}

/* ---- body structures in wire form (RFC 9051 §7.5.2) ------------------------------ */

/* Nesting a body structure may have: MIME_MAX_DEPTH parts, each a list
 * within a list (message parts add an envelope and a body). */
#define BODYSTRUCTURE_MAX_DEPTH 256
/* Elements of one body list that matter: the 1-part fields up to a
 * message's body (9), or a multipart's children (as many as parts). */
#define BODYSTRUCTURE_MAX_ELEMENTS 4096

/* The end of the value at wire[i] (a list, quoted string, literal, atom or
 * number), or 0 when it is malformed. */
static size_t bs_skip(const char *wire, size_t len, size_t i, unsigned depth)
{
	if (i >= len || depth > BODYSTRUCTURE_MAX_DEPTH)
		return 0;
	if (wire[i] == '(') {
		i++;
		while (i < len && wire[i] != ')') {
			if (wire[i] == ' ') {
				i++;
				continue;
			}
			if ((i = bs_skip(wire, len, i, depth + 1)) == 0)
				return 0;
		}
		return i < len ? i + 1 : 0;
	}
	if (wire[i] == '"') {
		for (i++; i < len && wire[i] != '"'; i++) {
			if (wire[i] == '\\')
				i++;
		}
		return i < len ? i + 1 : 0;
	}
	if (wire[i] == '{') {
		uint64_t n = 0;
		for (i++; i < len && wire[i] >= '0' && wire[i] <= '9'; i++) {
			if (n > len)
				return 0;
			n = n * 10 + (uint64_t)(wire[i] - '0');
		}
		if (i + 3 > len || wire[i] != '}' || wire[i + 1] != '\r' || wire[i + 2] != '\n' ||
		    n > len - (i + 3))
			return 0;
		return i + 3 + (size_t)n;
	}
	size_t start = i;
	while (i < len && wire[i] != ' ' && wire[i] != '(' && wire[i] != ')')
		i++;
	return i > start ? i : 0;
}

/* The elements of the list at wire[start]: where each begins and ends. */
static size_t bs_elements(const char *wire, size_t len, size_t start, size_t *begin,
			  size_t *end, size_t max)
{
	size_t n = 0, i = start + 1;

	while (i < len && wire[i] != ')' && n < max) {
		if (wire[i] == ' ') {
			i++;
			continue;
		}
		size_t next = bs_skip(wire, len, i, 1);
		if (next == 0)
			return 0;
		begin[n] = i;
		end[n++] = next;
		i = next;
	}
	return n;
}

static bool bs_atom_is(const char *wire, size_t begin, size_t end, const char *quoted)
{
	size_t n = strlen(quoted);

	return end - begin == n && str_eq_nocase_n(wire + begin, n, quoted);
}

bool imap_bodystructure_find(const char *wire, size_t wire_len, const char *section,
			     size_t *start_r, size_t *len_r)
{
	size_t *begin = malloc(BODYSTRUCTURE_MAX_ELEMENTS * sizeof(size_t) * 2);
	size_t *end = begin + BODYSTRUCTURE_MAX_ELEMENTS;
	size_t start = 0, stop;
	bool container = true; /* the body of a message: its part 1 is itself */
	bool found = false;
	const char *p = section;

	if (begin == NULL)
		return false;
	if (wire_len == 0 || wire[0] != '(' || (stop = bs_skip(wire, wire_len, 0, 0)) == 0)
		goto out;
	while (*p != '\0') {
		char *next;
		if (*p < '0' || *p > '9')
			goto out;
		unsigned long n = strtoul(p, &next, 10);
		if (n == 0 || (*next != '.' && *next != '\0') || (*next == '.' && next[1] == '\0'))
			goto out;
		size_t count = bs_elements(wire, stop, start, begin, end,
					   BODYSTRUCTURE_MAX_ELEMENTS);
		if (count == 0)
			goto out;
		if (wire[begin[0]] == '(') {
			/* multipart: its children lead the list */
			size_t children = 0;
			while (children < count && wire[begin[children]] == '(')
				children++;
			if (n > children)
				goto out;
			start = begin[n - 1];
			stop = end[n - 1];
			container = false;
		} else if (container) {
			if (n != 1)
				goto out;
			container = false;
		} else if (count >= 9 && bs_atom_is(wire, begin[0], end[0], "\"MESSAGE\"") &&
			   (bs_atom_is(wire, begin[1], end[1], "\"RFC822\"") ||
			    bs_atom_is(wire, begin[1], end[1], "\"GLOBAL\"")) &&
			   wire[begin[8]] == '(') {
			/* into the encapsulated message; n applies to its body */
			start = begin[8];
			stop = end[8];
			container = true;
			continue;
		} else {
			goto out;
		}
		p = *next == '.' ? next + 1 : next;
	}
	*start_r = start;
	*len_r = stop - start;
	found = true;
out:
	free(begin);
	return found;
}

char *imap_bodystructure_as_binary(struct arena *arena, const char *part, size_t len,
				   uint64_t size)
{
	size_t begin[8], end[8];
	size_t count = bs_elements(part, len, 0, begin, end, 8);

	/* body-type-basic / body-type-text: type subtype params id desc
	 * encoding size ... (RFC 9051 §9); not a multipart, not a message */
	if (count < 7 || part[begin[0]] == '(' ||
	    bs_atom_is(part, begin[0], end[0], "\"MESSAGE\"") ||
	    (part[begin[6]] < '0' || part[begin[6]] > '9'))
		return arena_strndup(arena, part, len);
	return arena_printf(arena, "%.*s\"BINARY\" %llu%.*s", (int)begin[5], part,
			    (unsigned long long)size, (int)(len - end[6]), part + end[6]);
}

/* The part's bytes with its Content-Transfer-Encoding undone (RFC 3516
 * §4.3, as FETCH BINARY): multiparts, messages and the whole message go as
 * they are. 1 for an encoding we do not know, <0 on a read error. */
static int url_read_binary(struct store *store, struct arena *arena, int64_t blob_id,
			   const struct mime_part *part, struct buf *out)
{
	const char *header, *body, *error;
	size_t header_len, body_len;
	bool whole = part->section[0] == '\0';
	uint32_t start = whole ? 0 : part->body_offset;

	if (store_blob_read(store, blob_id, start, part->body_end - start, arena, &body,
			    &body_len, &error) < 0 ||
	    (!whole && store_blob_read(store, blob_id, part->header_offset,
				       part->body_offset - part->header_offset, arena, &header,
				       &header_len, &error) < 0)) {
		log_error("imap: url: reading blob %lld: %s", (long long)blob_id, error);
		return -1;
	}
	if (whole || part->multipart || part->message) {
		buf_append(out, body, body_len);
		return 0;
	}
	char *encoding = mime_header_get(arena, header, header_len, "Content-Transfer-Encoding");
	return mime_decode_transfer(encoding, body, body_len, out) < 0 ? 1 : 0;
}

/* RFC 5524 §3: BINARY and BODYPARTSTRUCTURE of a part section. */
static enum imap_urlauth_result url_read_extended(struct store *store, struct arena *arena,
						  const struct store_message_info *info,
						  const struct mime_part *parts, size_t part_count,
						  const struct imap_url *url, uint64_t limit,
						  struct imap_urlauth_extended *ext,
						  struct buf *out)
{
	const struct mime_part *part = mime_parts_find(parts, part_count, url->section.part);
	struct buf data = BUF_INIT;
	size_t offset, length, start, len;

	if (url->section.text != IMAP_SECTION_ALL || part == NULL)
		return IMAP_URLAUTH_MISSING;
	int r = url_read_binary(store, arena, info->blob_id, part, &data);
	if (r < 0) {
		buf_free(&data);
		return IMAP_URLAUTH_FAILED;
	}
	ext->undecodable = r > 0;
	struct imap_fetch_item item = {
		.partial = url->partial, .origin = url->origin, .length = url->length,
	};
	imap_fetch_partial(&item, data.len, &offset, &length);
	if (ext->bodypartstructure) {
		const char *wire = info->bodystructure != NULL ? info->bodystructure : "";
		if (!imap_bodystructure_find(wire, strlen(wire), url->section.part, &start, &len)) {
			buf_free(&data);
			return IMAP_URLAUTH_MISSING;
		}
		ext->structure = ext->binary && !ext->undecodable ?
			imap_bodystructure_as_binary(arena, wire + start, len, length) :
			arena_strndup(arena, wire + start, len);
	}
	enum imap_urlauth_result result = IMAP_URLAUTH_OK;
	if (ext->binary && !ext->undecodable) {
		if (out->len > limit || length > limit - out->len)
			result = IMAP_URLAUTH_TOOBIG;
		else
			buf_append(out, data.data != NULL ? data.data + offset : "", length);
	}
	buf_free(&data);
	return result;
}

/* imap_url_read, or with ext the RFC 5524 items. */
static enum imap_urlauth_result url_read(struct store *store, struct arena *arena,
					 int64_t mailbox_id, const struct imap_url *url,
					 uint64_t limit, struct imap_urlauth_extended *ext,
					 struct buf *out)
{
	struct store_message_info info;
	struct imap_fetch_range range;
	struct mime_part *parts = NULL;
	size_t part_count = 0, offset, length;
	const char *error, *data;

	int r = store_message_get(store, mailbox_id, url->uid, STORE_INFO_STRUCTURE, arena, &info,
				  &error);
	if (r == STORE_ENOTFOUND)
		return IMAP_URLAUTH_MISSING;
	if (r < 0) {
		log_error("imap: url: reading uid %u: %s", url->uid, error);
		return IMAP_URLAUTH_FAILED;
	}
	if (info.parts == NULL ||
	    mime_parts_deserialize(arena, info.parts, &parts, &part_count) < 0)
		part_count = 0;
	if (!imap_fetch_section_range(&url->section, parts, part_count, info.size, &range))
		return IMAP_URLAUTH_MISSING;
	if (ext != NULL && (ext->binary || ext->bodypartstructure)) {
		enum imap_urlauth_result r2 = url_read_extended(store, arena, &info, parts,
								part_count, url, limit, ext, out);
		if (r2 != IMAP_URLAUTH_OK || !ext->body)
			return r2;
	} else if (ext != NULL && !ext->body) {
		return IMAP_URLAUTH_OK;
	}
	struct imap_fetch_item item = {
		.partial = url->partial, .origin = url->origin, .length = url->length,
	};
	struct buf filtered = BUF_INIT;
	size_t total = (size_t)(range.end - range.start);
	bool fields = url->section.text == IMAP_SECTION_HEADER_FIELDS ||
		      url->section.text == IMAP_SECTION_HEADER_FIELDS_NOT;
	if (out->len > limit || (!fields && total > limit - out->len))
		return IMAP_URLAUTH_TOOBIG; /* before reading a byte of it */
	if (store_blob_read(store, info.blob_id, (size_t)range.start, total, arena, &data, &length,
			    &error) < 0) {
		log_error("imap: url: reading uid %u: %s", url->uid, error);
		return IMAP_URLAUTH_FAILED;
	}
	if (fields) {
		mime_header_filter(data, length, (const char *const *)url->section.fields,
				   url->section.field_count,
				   url->section.text == IMAP_SECTION_HEADER_FIELDS_NOT, &filtered);
		data = filtered.data != NULL ? filtered.data : "";
		length = filtered.len;
	}
	imap_fetch_partial(&item, length, &offset, &length);
	enum imap_urlauth_result result = IMAP_URLAUTH_OK;
	if (length > limit - out->len)
		result = IMAP_URLAUTH_TOOBIG;
	else
		buf_append(out, data + offset, length);
	buf_free(&filtered);
	return result;
}

enum imap_urlauth_result imap_url_read(struct store *store, struct arena *arena,
				       int64_t mailbox_id, const struct imap_url *url,
				       uint64_t limit, struct buf *out)
{
	return url_read(store, arena, mailbox_id, url, limit, NULL, out);
}

/* RFC 4467 §3: may who use a URL with this access identifier? A
 * submission server (BURL) acts for its authenticated user: submit+ that
 * user, or the identifiers any logged-in session may use (RFC 4468 §3.3).
 * buzon has no anonymous logins, so "anonymous" is "authuser" (§10). */
static bool urlauth_access_ok(const struct imap_url *url, const struct imap_urlauth_requester *who)
{
	if (who->account_id == 0)
		return false;
	switch (url->access) {
	case IMAP_URL_ACCESS_SUBMIT:
		return who->submit && str_eq_nocase(url->access_user, who->address);
	case IMAP_URL_ACCESS_USER:
		return !who->submit && str_eq_nocase(url->access_user, who->address);
	case IMAP_URL_ACCESS_AUTHUSER:
	case IMAP_URL_ACCESS_ANONYMOUS:
		return true;
	case IMAP_URL_ACCESS_NONE:
		break;
	}
	return false;
}

enum imap_urlauth_result imap_urlauth_fetch(struct store *store, struct arena *arena,
					    const char *hostname,
					    const struct imap_urlauth_requester *who,
					    const char *url, size_t len, int64_t now,
					    uint64_t limit, struct imap_urlauth_extended *ext,
					    struct buf *out)
{
	struct imap_url parsed;
	struct imap_mailbox_ref ref = { 0 };
	struct store_account owner;
	unsigned char key[IMAP_URLAUTH_KEY_SIZE];
	char hex[IMAP_URLAUTH_TOKEN_HEX + 1], given[IMAP_URLAUTH_TOKEN_HEX];
	const char *error;
	bool known = false;

	if (strlen(url) != len || !imap_url_parse(arena, url, len, &parsed, &error) ||
	    parsed.access == IMAP_URL_ACCESS_NONE || parsed.mechanism == NULL ||
	    parsed.user == NULL || !str_eq_nocase(parsed.host, hostname))
		return IMAP_URLAUTH_BADURL;
	/* §6: identify the mailbox from the rump; when it cannot be, check
	 * against a random "plausible" key, so that the time taken does not
	 * tell which users and mailboxes exist. */
	int r = store_account_find(store, parsed.user, arena, &owner, &error);
	if (r < 0 && r != STORE_ENOTFOUND)
		goto failed;
	if (r == 0) {
		const char *name = urlauth_mailbox_name(arena, parsed.mailbox);
		if (imap_utf8_valid(name, strlen(name)) &&
		    imap_mailbox_resolve_as(store, arena, owner.id, owner.address, name, &ref) < 0)
			return IMAP_URLAUTH_FAILED;
		if (ref.exists) {
			r = imap_urlauth_key_get(store, ref.mailbox.id, owner.id, false, arena, key,
						 &error);
			if (r < 0)
				goto failed;
			known = r == 1;
		}
	}
	if (!known && RAND_bytes(key, sizeof(key)) != 1) {
		error = "RAND_bytes failed";
		goto failed;
	}
	imap_urlauth_token(key, sizeof(key), url, parsed.rump_len, hex);
	OPENSSL_cleanse(key, sizeof(key));
	/* Compared in constant time, hex digits in either case. */
	size_t token_len = strlen(parsed.token);
	for (size_t i = 0; i < IMAP_URLAUTH_TOKEN_HEX; i++) {
		char c = i < token_len ? parsed.token[i] : '-';
		given[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
	}
	bool valid = CRYPTO_memcmp(given, hex, IMAP_URLAUTH_TOKEN_HEX) == 0 &&
		     token_len == IMAP_URLAUTH_TOKEN_HEX && known &&
		     str_eq_nocase(parsed.mechanism, "INTERNAL");
	if (!valid)
		return IMAP_URLAUTH_DENIED;
	/* §3: after the expiry the URL MUST be rejected. */
	if (parsed.has_expire && now > parsed.expire)
		return IMAP_URLAUTH_DENIED;
	if (!urlauth_access_ok(&parsed, who))
		return IMAP_URLAUTH_DENIED;
	/* §7 URLFETCH: whatever access the owner has now, no more. */
	if (!(ref.rights & ACL_READ))
		return IMAP_URLAUTH_DENIED;
	if (parsed.uidvalidity != 0 && parsed.uidvalidity != ref.mailbox.uidvalidity)
		return IMAP_URLAUTH_MISSING;
	return url_read(store, arena, ref.mailbox.id, &parsed, limit, ext, out);
failed:
	log_error("imap: urlauth: %s", error);
	return IMAP_URLAUTH_FAILED;
}
