/*
 * saslprep: the SASLprep profile (RFC 4013) of stringprep (RFC 3454) for
 * user names and passwords, so that a password typed differently by two
 * clients that normalise (or not) still matches: "I<U+00AD>X" is "IX",
 * U+00AA is "a" and U+2168 is "IX" (NFKC), a non-ASCII space is a space,
 * and control characters, private use, surrogates, unassigned code points
 * (in stored strings) and mixed-direction text are refused.
 *
 * The tables and the NFKC of Unicode 3.2 that RFC 3454 fixes come from GNU
 * libidn (stringprep_profile(..., "SASLprep")), the implementation GNU
 * gsasl uses; see docs/ARCHITECTURE.md for why a library. ASCII without
 * control characters is its own SASLprep, so the usual password and every
 * mail address pass through unchanged.
 *
 * Used where RFC 4616 §2 (PLAIN), RFC 5802 §2.2 and §5.1 (SCRAM) ask for it:
 * when a password is set (a stored string: its hash and SCRAM keys are of
 * the prepared form) and when one is checked (a query). Thread-safe.
 */
#ifndef BUZON_AUTH_SASLPREP_H
#define BUZON_AUTH_SASLPREP_H

#include <stdbool.h>

#include "core/arena.h"

/* The longest input we prepare: far above any password or address, and it
 * bounds the library's work on hostile input. */
#define SASLPREP_INPUT_MAX 4096

/* Prepare in (UTF-8). stored: a string being stored (RFC 3454 §7:
 * unassigned code points refused), else a query (allowed). The result,
 * maybe empty, goes into *out_r in arena. 0, or -1 with *error_r when in is
 * not valid UTF-8, too long, or holds what SASLprep prohibits. */
int saslprep_prepare(struct arena *arena, const char *in, bool stored, const char **out_r,
		     const char **error_r);

#endif
