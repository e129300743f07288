/*
 * command: the POP3 command table, one place that lists every command with
 * the states it is valid in (RFC 1939 §3). The folder listing and this
 * table are the feature list.
 */
#include "pop3/session.h"

#include <string.h>

#define AUTHZ POP3_STATE_AUTHORIZATION
#define TRANS POP3_STATE_TRANSACTION

/* Sorted by name. APOP (RFC 1939 §7) is not offered: it needs the password
 * in clear on the server, and we keep only crypt(3) hashes. */
static const struct pop3_command pop3_commands[] = {
	{ "AUTH", AUTHZ, pop3_cmd_auth },         /* RFC 5034 */
	{ "CAPA", AUTHZ | TRANS, pop3_cmd_capa }, /* RFC 2449 §5 */
	{ "DELE", TRANS, pop3_cmd_dele },         /* RFC 1939 §5 */
	{ "LIST", TRANS, pop3_cmd_list },         /* RFC 1939 §5 */
	{ "NOOP", TRANS, pop3_cmd_noop },         /* RFC 1939 §5 */
	{ "PASS", AUTHZ, pop3_cmd_pass },         /* RFC 1939 §7 */
	{ "QUIT", AUTHZ | TRANS, pop3_cmd_quit }, /* RFC 1939 §4, §6 */
	{ "RETR", TRANS, pop3_cmd_retr },         /* RFC 1939 §5 */
	{ "RSET", TRANS, pop3_cmd_rset },         /* RFC 1939 §5 */
	{ "STAT", TRANS, pop3_cmd_stat },         /* RFC 1939 §5 */
	{ "STLS", AUTHZ, pop3_cmd_stls },         /* RFC 2595 §4 */
	{ "TOP", TRANS, pop3_cmd_top },           /* RFC 1939 §7 */
	{ "UIDL", TRANS, pop3_cmd_uidl },         /* RFC 1939 §7 */
	{ "USER", AUTHZ, pop3_cmd_user },         /* RFC 1939 §7 */
};

const struct pop3_command *pop3_command_find(const char *name)
{
	size_t lo = 0, hi = sizeof(pop3_commands) / sizeof(pop3_commands[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, pop3_commands[mid].name);
		if (c == 0)
			return &pop3_commands[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
