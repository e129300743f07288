/*
 * cmd-compress: COMPRESS DEFLATE (RFC 4978). The command only decides; the
 * net layer does the work (conn_start_compress, src/net/compress.c). Like
 * STARTTLS, the switch happens in imap_cmd_complete right after the tagged
 * OK is queued, so the OK itself goes out uncompressed (§3).
 */
#include "imap/session.h"
#include "core/str.h"

/* RFC 4978 §3. command-auth: AUTHENTICATED and SELECTED only. */
static enum imap_cmd_status cmd_compress(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char *mechanism;

	if (!imap_parse_sp(p) || !imap_parse_atom(p, &mechanism) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (s->start_compress || conn_is_compressed(s->conn)) {
		/* §3 allows BAD too; NO with the code is what clients (and
		 * Dovecot) know, and it tells which layer compresses. */
		imap_cmd_no(s, "[COMPRESSIONACTIVE] DEFLATE active via COMPRESS");
		return IMAP_CMD_DONE;
	}
	if (!str_eq_nocase(mechanism, "DEFLATE")) {
		imap_cmd_bad(s, "Unknown compression mechanism");
		return IMAP_CMD_DONE;
	}
	s->start_compress = true;
	imap_cmd_ok(s, "DEFLATE active");
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_compress = {
	"COMPRESS", IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED, 0, cmd_compress
};
