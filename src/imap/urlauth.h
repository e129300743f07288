/*
 * urlauth: URLAUTH-authorized IMAP URLs (RFC 4467): the INTERNAL
 * mechanism's tokens, the per-user, per-mailbox access keys, and the one
 * resolver that both IMAP URLFETCH (cmd-urlauth.c) and submission BURL
 * (RFC 4468, smtp/command.c) use, so a URL passes exactly the same checks
 * whichever of them fetches it.
 *
 * Keys: RFC 4467 §2.2 gives each user a table of mailbox access keys, one
 * per mailbox (two users sharing a mailbox have different keys). A key is
 * IMAP_URLAUTH_KEY_SIZE random bytes (OpenSSL RAND_bytes) kept as private
 * server metadata of (mailbox, user): the entry IMAP_URLAUTH_KEY_ENTRY,
 * which GETMETADATA never shows and SETMETADATA may not touch
 * (imap_urlauth_entry_hidden), so no schema step is needed and the keys
 * go with the mailbox or the account when either is deleted.
 *
 * Tokens: INTERNAL = HMAC-SHA1(key, rump URL), 40 lower-case hex digits
 * (RFC 4467 §2.4.1 recommends an HMAC such as HMAC-SHA1; §2.5 wants at least
 * 128 bits). The length names the algorithm: a successor (say HMAC-SHA256,
 * 64 digits) can be told apart and both checked for a while (§2.4.1).
 */
#ifndef BUZON_IMAP_URLAUTH_H
#define BUZON_IMAP_URLAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/store.h"

/* 256 bits: RFC 4467 §2.2 asks for at least 128 bits of entropy. */
#define IMAP_URLAUTH_KEY_SIZE 32
/* HMAC-SHA1 in hex */
#define IMAP_URLAUTH_TOKEN_HEX 40
/* Where the INTERNAL key of (mailbox, user) is kept. */
#define IMAP_URLAUTH_KEY_PREFIX "/private/vendor/buzon/urlauth"
#define IMAP_URLAUTH_KEY_ENTRY IMAP_URLAUTH_KEY_PREFIX "/internal"

/* Is a metadata entry name (lower case) one of the hidden key entries? */
bool imap_urlauth_entry_hidden(const char *entry);

/* The INTERNAL token of rump[0..rump_len) under key: hex_r gets 40
 * lower-case hex digits and a NUL. */
void imap_urlauth_token(const unsigned char *key, size_t key_len, const char *rump,
			size_t rump_len, char hex_r[IMAP_URLAUTH_TOKEN_HEX + 1]);

/* account_id's INTERNAL key for mailbox_id. create: make one when there is
 * none (GENURLAUTH, RFC 4467 §7). Returns 1 with key_r set, 0 when there is
 * none (and create is false), or a STORE_E* code. */
int imap_urlauth_key_get(struct store *store, int64_t mailbox_id, int64_t account_id, bool create,
			 struct arena *arena, unsigned char key_r[IMAP_URLAUTH_KEY_SIZE],
			 const char **error_r);

/* RESETKEY (RFC 4467 §7): a new key for mailbox_id, or, when mailbox_id is
 * 0, remove every key of account_id (its own mailboxes and those shared
 * with it), revoking every URL the user made. */
int imap_urlauth_key_reset(struct store *store, int64_t account_id, const char *address,
			   int64_t mailbox_id, struct arena *arena, const char **error_r);

/* GENURLAUTH of one rump URL (RFC 4467 §7) by the logged-in account: the
 * full URL (rump ":internal:" token) in *full_r. False with *error_r (for
 * the tagged BAD) when the URL is not a rump URL of this user on this
 * server naming an existing mailbox; *failed_r is set when the store
 * failed instead (NO). */
bool imap_urlauth_generate(struct store *store, struct arena *arena, const char *hostname,
			   int64_t account_id, const char *address, const char *url, size_t len,
			   const char **full_r, const char **error_r, bool *failed_r);

/* Who asks to resolve a URL (RFC 4467 §3 access identifiers). */
struct imap_urlauth_requester {
	int64_t account_id;
	const char *address;  /* the authorization identity */
	bool submit;          /* a submission server acting for address (BURL) */
};

enum imap_urlauth_result {
	IMAP_URLAUTH_OK,
	IMAP_URLAUTH_BADURL,   /* not a URLAUTH URL, or not one of this server */
	IMAP_URLAUTH_DENIED,   /* token, key, expiry, access identifier or rights */
	IMAP_URLAUTH_MISSING,  /* the message or part is not there (any more) */
	IMAP_URLAUTH_TOOBIG,   /* more than limit bytes */
	IMAP_URLAUTH_FAILED,   /* the store failed */
};

/* RFC 5524 (URLAUTH=BINARY): what an extended URLFETCH asks of one URL,
 * and what it gets besides the data. */
struct imap_urlauth_extended {
	bool body;              /* BODY: the data as stored */
	bool binary;            /* BINARY: its Content-Transfer-Encoding undone */
	bool bodypartstructure; /* BODYPARTSTRUCTURE */
	char *structure;        /* out: the part's body structure (arena) */
	bool undecodable;       /* out: BINARY met an unknown encoding (send NIL) */
};

/* Resolve a full URLAUTH URL (URLFETCH, BURL): check it (RFC 4467 §6, in
 * constant time for the token; a plausible random key when the owner or
 * mailbox does not exist, so failures take the same time), the expiry,
 * the access identifier against who, and the owner's current rights on
 * the mailbox ("r", RFC 4467 §7 URLFETCH: the URL grants only what its
 * owner may do now), then append the bytes it names to out (as BODY.PEEK
 * would return them). now: seconds since the epoch. Nothing is appended
 * unless the result is OK; more than limit bytes appended is TOOBIG.
 * ext (NULL: plain RFC 4467) asks for RFC 5524's items instead: BINARY and
 * BODYPARTSTRUCTURE need a part section (a number, or none), else MISSING;
 * out gets BINARY's or BODY's data, nothing when neither was asked. */
enum imap_urlauth_result imap_urlauth_fetch(struct store *store, struct arena *arena,
					    const char *hostname,
					    const struct imap_urlauth_requester *who,
					    const char *url, size_t len, int64_t now,
					    uint64_t limit, struct imap_urlauth_extended *ext,
					    struct buf *out);

/* The body structure of part section ("" the message, "1.2", ...) within
 * a message's extended body structure in wire form (RFC 9051 §7.5.2, as
 * kept at save time): *start_r and *len_r delimit it in wire. False when
 * the message has no such part. Pure. */
bool imap_bodystructure_find(const char *wire, size_t wire_len, const char *section,
			     size_t *start_r, size_t *len_r);
/* The same part's structure with its encoding said to be "BINARY" and its
 * size size (RFC 5524 §3.2: the structure of the data as returned), for a
 * part that is neither multipart nor a message; else a copy. Arena. */
char *imap_bodystructure_as_binary(struct arena *arena, const char *part, size_t len,
				   uint64_t size);

/* The IMAP URL reading CATENATE also uses (cmd-append.c): the bytes of
 * message uid of mailbox_id that section and partial of url name, appended
 * to out; TOOBIG when they would take out past limit bytes. */
struct imap_url;
enum imap_urlauth_result imap_url_read(struct store *store, struct arena *arena,
				       int64_t mailbox_id, const struct imap_url *url,
				       uint64_t limit, struct buf *out);

#endif
