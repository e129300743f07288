/*
 * acl: the rights arithmetic of RFC 4314 (IMAP ACL), pure functions shared
 * by the store (which keeps ACL entries), the IMAP commands that check and
 * change them and the command line that manages public folders.
 *
 * Rights are a bit set of the eleven standard rights "lrswipkxtea". The
 * obsolete virtual rights of RFC 4314 §2.1.1 are accepted on input ("c" =
 * k and x, "d" = e and t) and added on output when any of their members is
 * present. Identifiers: an account address (lower case), "anyone",
 * "authenticated", or any of those after "-" for negative rights.
 */
#ifndef BUZON_STORE_ACL_H
#define BUZON_STORE_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

enum acl_right {
	ACL_LOOKUP = 1 << 0,     /* l: visible to LIST */
	ACL_READ = 1 << 1,       /* r: SELECT, STATUS, FETCH */
	ACL_SEEN = 1 << 2,       /* s: keep \Seen */
	ACL_WRITE = 1 << 3,      /* w: other flags and keywords */
	ACL_INSERT = 1 << 4,     /* i: APPEND, COPY into */
	ACL_POST = 1 << 5,       /* p: send to the submission address (unused) */
	ACL_CREATE = 1 << 6,     /* k: create children */
	ACL_DELETE_MBOX = 1 << 7,/* x: delete the mailbox */
	ACL_DELETE_MSG = 1 << 8, /* t: set \Deleted */
	ACL_EXPUNGE = 1 << 9,    /* e: EXPUNGE */
	ACL_ADMIN = 1 << 10,     /* a: SETACL, GETACL, LISTRIGHTS */
};
#define ACL_ALL 0x7ffu
/* Longest rights text: eleven rights, "c", "d" and a NUL. */
#define ACL_RIGHTS_TEXT 16
/* Longest identifier we keep: an address (254) and the "-" of a negative one. */
#define ACL_IDENTIFIER_MAX 255

/* Rights text ("lrs", "+cd", ...) to bits; the leading "+"/"-" of SETACL
 * is the caller's. -1 for an unknown or upper-case right (RFC 4314 §3.1:
 * a BAD, never ignored). */
int acl_rights_parse(const char *text, unsigned *bits_r);
/* Canonical text of bits: "lrswipkxtea" order, with "c"/"d" appended when
 * virtual is true and a member is present (MYRIGHTS, ACL responses). */
void acl_rights_format(unsigned bits, bool virtual_rights, char out[ACL_RIGHTS_TEXT]);
/* A valid identifier: not empty, no controls or spaces, bounded; "-" alone
 * is not one. */
bool acl_identifier_valid(const char *identifier);
/* The rights address has from entries (not the owner's: the owner always
 * has ACL_ALL): the union of the entries for address, "anyone" and
 * "authenticated", less the union of their negative entries. */
unsigned acl_rights_of(const struct store_acl_entry *entries, size_t count, const char *address);

#endif
