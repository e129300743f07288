/*
 * utf7: mailbox names on the wire. Inside buzon names are UTF-8; clients
 * that have not enabled UTF-8 (RFC 6855, IMAP4rev2) see them in modified
 * UTF-7 (RFC 3501 §5.1.3): printable ASCII as is, "&" as "&-", everything
 * else as "&" + modified-BASE64 of UTF-16 + "-".
 */
#ifndef BUZON_IMAP_UTF7_H
#define BUZON_IMAP_UTF7_H

#include "core/arena.h"

/* UTF-8 -> modified UTF-7. Invalid UTF-8 input gives NULL. */
char *utf7_encode(struct arena *arena, const char *utf8);
/* Modified UTF-7 -> UTF-8. Invalid input (bad base64, unpaired
 * surrogates, non-canonical encodings) gives NULL. */
char *utf7_decode(struct arena *arena, const char *utf7);

#endif
