/*
 * command: the table of IMAP commands. Each command lives in its own
 * cmd-*.c (grouped where they share code) and exports its definition; the
 * list below, sorted by name, is the feature list.
 */
#include "imap/session.h"
#include "core/str.h"

extern const struct imap_command imap_cmd_def_append, imap_cmd_def_authenticate,
	imap_cmd_def_cancelupdate,
	imap_cmd_def_capability, imap_cmd_def_check, imap_cmd_def_close, imap_cmd_def_compress,
	imap_cmd_def_copy,
	imap_cmd_def_create, imap_cmd_def_delete, imap_cmd_def_enable, imap_cmd_def_esearch,
	imap_cmd_def_examine,
	imap_cmd_def_expunge, imap_cmd_def_fetch, imap_cmd_def_id, imap_cmd_def_idle,
	imap_cmd_def_list, imap_cmd_def_unauthenticate,
	imap_cmd_def_login, imap_cmd_def_logout, imap_cmd_def_lsub, imap_cmd_def_move,
	imap_cmd_def_namespace, imap_cmd_def_noop, imap_cmd_def_notify, imap_cmd_def_rename,
	imap_cmd_def_replace, imap_cmd_def_search,
	imap_cmd_def_select, imap_cmd_def_starttls, imap_cmd_def_status, imap_cmd_def_store,
	imap_cmd_def_subscribe, imap_cmd_def_unselect, imap_cmd_def_unsubscribe, imap_cmd_def_sort,
	imap_cmd_def_thread;
/* RFC 9208 QUOTA (cmd-quota.c) */
extern const struct imap_command imap_cmd_def_getquota, imap_cmd_def_getquotaroot,
	imap_cmd_def_setquota;
/* RFC 4314 ACL (cmd-acl.c) */
extern const struct imap_command imap_cmd_def_deleteacl, imap_cmd_def_getacl,
	imap_cmd_def_listrights, imap_cmd_def_myrights, imap_cmd_def_setacl;
/* RFC 4467 URLAUTH (cmd-urlauth.c) */
extern const struct imap_command imap_cmd_def_genurlauth, imap_cmd_def_resetkey,
	imap_cmd_def_urlfetch;
/* RFC 5464 METADATA (cmd-metadata.c) */
extern const struct imap_command imap_cmd_def_getmetadata, imap_cmd_def_setmetadata;

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_fetch = {
	"FETCH", IMAP_STATE_SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_fetch
};
const struct imap_command imap_cmd_def_search = {
	"SEARCH", IMAP_STATE_SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_search
};

static const struct imap_command *const imap_commands[] = {
	&imap_cmd_def_append,    /* RFC 9051 §6.3.12 */
	&imap_cmd_def_authenticate, /* §6.2.2 */
	&imap_cmd_def_cancelupdate, /* RFC 5267 §4.3.5 */
	&imap_cmd_def_capability, /* §6.1.1 */
	&imap_cmd_def_check,     /* RFC 3501 §6.4.1 */
	&imap_cmd_def_close,     /* §6.4.1 */
	&imap_cmd_def_compress,  /* RFC 4978 */
	&imap_cmd_def_copy,      /* §6.4.7 */
	&imap_cmd_def_create,    /* §6.3.4 */
	&imap_cmd_def_delete,    /* §6.3.5 */
	&imap_cmd_def_deleteacl, /* RFC 4314 §3.2 */
	&imap_cmd_def_enable,    /* §6.3.1, RFC 5161 */
	&imap_cmd_def_esearch,   /* RFC 7377 (MULTISEARCH) */
	&imap_cmd_def_examine,   /* §6.3.3 */
	&imap_cmd_def_expunge,   /* §6.4.3 */
	&imap_cmd_def_fetch,     /* §6.4.5 */
	&imap_cmd_def_genurlauth, /* RFC 4467 §7 */
	&imap_cmd_def_getacl,    /* RFC 4314 §3.3 */
	&imap_cmd_def_getmetadata, /* RFC 5464 §4.2 */
	&imap_cmd_def_getquota,  /* RFC 9208 §4.1.1 */
	&imap_cmd_def_getquotaroot, /* RFC 9208 §4.1.2 */
	&imap_cmd_def_id,        /* RFC 2971 */
	&imap_cmd_def_idle,      /* §6.3.13, RFC 2177 */
	&imap_cmd_def_list,      /* §6.3.9 */
	&imap_cmd_def_listrights, /* RFC 4314 §3.4 */
	&imap_cmd_def_login,     /* §6.2.3 */
	&imap_cmd_def_logout,    /* §6.1.3 */
	&imap_cmd_def_lsub,      /* RFC 3501 §6.3.9 */
	&imap_cmd_def_move,      /* §6.4.8, RFC 6851 */
	&imap_cmd_def_myrights,  /* RFC 4314 §3.5 */
	&imap_cmd_def_namespace, /* §6.3.10, RFC 2342 */
	&imap_cmd_def_noop,      /* §6.1.2 */
	&imap_cmd_def_notify,    /* RFC 5465 */
	&imap_cmd_def_rename,    /* §6.3.6 */
	&imap_cmd_def_replace,   /* RFC 8508 */
	&imap_cmd_def_resetkey,  /* RFC 4467 §7 */
	&imap_cmd_def_search,    /* §6.4.4 */
	&imap_cmd_def_select,    /* §6.3.2 */
	&imap_cmd_def_setacl,    /* RFC 4314 §3.1 */
	&imap_cmd_def_setmetadata, /* RFC 5464 §4.3 */
	&imap_cmd_def_setquota,  /* RFC 9208 §4.1.3 */
	&imap_cmd_def_sort,      /* RFC 5256, RFC 5267 (ESORT) */
	&imap_cmd_def_starttls,  /* §6.2.1 */
	&imap_cmd_def_status,    /* §6.3.11 */
	&imap_cmd_def_store,     /* §6.4.6 */
	&imap_cmd_def_subscribe, /* §6.3.7 */
	&imap_cmd_def_thread,    /* RFC 5256 */
	&imap_cmd_def_unauthenticate, /* RFC 8437 */
	&imap_cmd_def_unselect,  /* §6.4.2, RFC 3691 */
	&imap_cmd_def_unsubscribe, /* §6.3.8 */
	&imap_cmd_def_urlfetch,  /* RFC 4467 §7 */
};

const struct imap_command *imap_command_find(const char *name)
{
	size_t lo = 0, hi = sizeof(imap_commands) / sizeof(imap_commands[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *a = imap_commands[mid]->name;
		int cmp = 0;
		size_t i = 0;
		/* ASCII case-insensitive strcmp against the upper-case table. */
		for (;; i++) {
			char c = name[i];
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			if (c != a[i] || c == '\0') {
				cmp = (unsigned char)c - (unsigned char)a[i];
				break;
			}
		}
		if (cmp == 0)
			return imap_commands[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
