/*
 * capability: the one CAPABILITY table (STYLE.md habit 8), sorted, each
 * entry with its RFC. It lists exactly what is implemented; some entries
 * depend on the session (TLS, login state).
 */
#include "imap/session.h"

enum cap_when {
	CAP_ALWAYS,
	CAP_APPENDLIMIT,      /* always, with "=<max_message_size>" */
	CAP_PLAINTEXT_OK,     /* password logins are allowed on this connection */
	CAP_AUTH_MECHS,       /* ... and then one AUTH=NAME per SASL mechanism offered */
	CAP_PLAINTEXT_REFUSED,/* ... are not (LOGINDISABLED) */
	CAP_NEEDS_STARTTLS,   /* not yet TLS */
	CAP_AUTHENTICATED,    /* after login only */
};

static const struct {
	const char *name;
	enum cap_when when;
	const char *rfc;
} imap_capabilities[] = {
	{ "IMAP4rev1", CAP_ALWAYS, "RFC 3501" },
	{ "IMAP4rev2", CAP_ALWAYS, "RFC 9051" },
	{ "ACL", CAP_ALWAYS, "RFC 4314" },
	{ "APPENDLIMIT", CAP_APPENDLIMIT, "RFC 7889" },
	{ "AUTH=", CAP_AUTH_MECHS, "RFC 9051 §6.2.2; the mechanisms of auth/auth.c" },
	{ "BINARY", CAP_ALWAYS, "RFC 3516" },
	{ "CATENATE", CAP_ALWAYS, "RFC 4469" },
	{ "CHILDREN", CAP_ALWAYS, "RFC 3348" },
	{ "COMPRESS=DEFLATE", CAP_AUTHENTICATED, "RFC 4978" },
	{ "CONDSTORE", CAP_ALWAYS, "RFC 7162" },
	{ "CONTEXT=SEARCH", CAP_ALWAYS, "RFC 5267 §4 (PARTIAL: RFC 9394)" },
	{ "CONTEXT=SORT", CAP_ALWAYS, "RFC 5267 §4" },
	{ "CREATE-SPECIAL-USE", CAP_ALWAYS, "RFC 6154 §3" },
	{ "ENABLE", CAP_ALWAYS, "RFC 5161" },
	{ "ESEARCH", CAP_ALWAYS, "RFC 4731" },
	{ "ESORT", CAP_ALWAYS, "RFC 5267" },
	{ "ID", CAP_ALWAYS, "RFC 2971" },
	{ "IDLE", CAP_ALWAYS, "RFC 2177" },
	{ "LIST-EXTENDED", CAP_ALWAYS, "RFC 5258" },
	{ "LIST-MYRIGHTS", CAP_ALWAYS, "RFC 8440" },
	{ "LIST-STATUS", CAP_ALWAYS, "RFC 5819" },
	{ "LITERAL+", CAP_ALWAYS, "RFC 7888" },
	{ "LOGINDISABLED", CAP_PLAINTEXT_REFUSED, "RFC 9051 §6.2.3" },
	{ "METADATA", CAP_ALWAYS, "RFC 5464" },
	{ "METADATA-SERVER", CAP_ALWAYS, "RFC 5464" },
	{ "MOVE", CAP_ALWAYS, "RFC 6851" },
	{ "MULTIAPPEND", CAP_ALWAYS, "RFC 3502" },
	{ "MULTISEARCH", CAP_ALWAYS, "RFC 7377" },
	{ "NAMESPACE", CAP_ALWAYS, "RFC 2342" },
	{ "NOTIFY", CAP_ALWAYS, "RFC 5465" },
	{ "OBJECTID", CAP_ALWAYS, "RFC 8474" },
	{ "PARTIAL", CAP_ALWAYS, "RFC 9394" },
	{ "PREVIEW", CAP_ALWAYS, "RFC 8970" },
	{ "QRESYNC", CAP_ALWAYS, "RFC 7162" },
	{ "QUOTA", CAP_ALWAYS, "RFC 9208" },
	{ "QUOTA=RES-MESSAGE", CAP_ALWAYS, "RFC 9208 §5.2" },
	{ "QUOTA=RES-STORAGE", CAP_ALWAYS, "RFC 9208 §5.1" },
	{ "REPLACE", CAP_ALWAYS, "RFC 8508" },
	{ "RIGHTS=texk", CAP_ALWAYS, "RFC 4314 §5.1.1" },
	{ "SASL-IR", CAP_ALWAYS, "RFC 4959" },
	{ "SAVEDATE", CAP_ALWAYS, "RFC 8514" },
	{ "SEARCHRES", CAP_ALWAYS, "RFC 5182" },
	{ "SORT", CAP_ALWAYS, "RFC 5256" },
	{ "SORT=DISPLAY", CAP_ALWAYS, "RFC 5957" },
	{ "SPECIAL-USE", CAP_ALWAYS, "RFC 6154" },
	{ "STARTTLS", CAP_NEEDS_STARTTLS, "RFC 9051 §6.2.1" },
	{ "STATUS=SIZE", CAP_ALWAYS, "RFC 8438" },
	{ "THREAD=ORDEREDSUBJECT", CAP_ALWAYS, "RFC 5256" },
	{ "THREAD=REFERENCES", CAP_ALWAYS, "RFC 5256" },
	{ "UIDPLUS", CAP_ALWAYS, "RFC 4315" },
	{ "UNAUTHENTICATE", CAP_AUTHENTICATED, "RFC 8437" },
	{ "UNSELECT", CAP_ALWAYS, "RFC 3691" },
	{ "URLAUTH", CAP_ALWAYS, "RFC 4467 (INTERNAL; BURL: RFC 4468)" },
	{ "URLAUTH=BINARY", CAP_ALWAYS, "RFC 5524" },
	{ "UTF8=ACCEPT", CAP_ALWAYS, "RFC 6855" },
	{ "WITHIN", CAP_ALWAYS, "RFC 5032" },
};

/* Rule 8: no password over an unencrypted non-loopback connection unless
 * the administrator allows it. */
bool imap_plaintext_auth_allowed(struct imap_session *s)
{
	return s->conn != NULL && (conn_is_tls(s->conn) || conn_is_loopback(s->conn) ||
				   s->server->config->allow_plaintext_auth);
}

static bool imap_capability_applies(struct imap_session *s, enum cap_when when)
{
	bool authed = s->state != IMAP_STATE_NOT_AUTHENTICATED;

	switch (when) {
	case CAP_ALWAYS:
	case CAP_APPENDLIMIT:
		return true;
	case CAP_PLAINTEXT_OK:
	case CAP_AUTH_MECHS:
		return !authed && imap_plaintext_auth_allowed(s);
	case CAP_PLAINTEXT_REFUSED:
		return !authed && !imap_plaintext_auth_allowed(s);
	case CAP_NEEDS_STARTTLS:
		return !authed && s->conn != NULL && !conn_is_tls(s->conn) && s->server->tls != NULL;
	case CAP_AUTHENTICATED:
		return authed;
	}
	return false;
}

void imap_write_capabilities(struct imap_session *s, struct buf *out)
{
	buf_append_str(out, "CAPABILITY");
	for (size_t i = 0; i < sizeof(imap_capabilities) / sizeof(imap_capabilities[0]); i++) {
		if (!imap_capability_applies(s, imap_capabilities[i].when))
			continue;
		if (imap_capabilities[i].when == CAP_AUTH_MECHS) {
			const char *names[8];
			size_t n = auth_mech_list(s->server->auth, s->conn, names, 8);
			for (size_t k = 0; k < n; k++)
				buf_printf(out, " AUTH=%s", names[k]);
			continue;
		}
		buf_append_char(out, ' ');
		buf_append_str(out, imap_capabilities[i].name);
		if (imap_capabilities[i].when == CAP_APPENDLIMIT)
			buf_printf(out, "=%llu",
				   (unsigned long long)s->server->config->max_message_size);
	}
}
