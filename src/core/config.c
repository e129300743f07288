/*
 * config: reads the `key = value` file described in docs/config.md into a
 * struct config, validating every value, so that the rest of the program can
 * trust what it finds there.
 *
 * Each key has one row in config_keys: its name, the parser for its kind of
 * value and where the result goes. A parser gets the trimmed value and either
 * stores it or returns a message; config_load adds "FILE:LINE: " in front.
 * Paths (data_dir, tls_cert, tls_key, lmtp's unix socket) are made absolute
 * against the directory of the config file, so the server can be started from
 * anywhere.
 */
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/str.h"

/* Longer lines are surely not a config file (a path is at most PATH_MAX). */
#define CONFIG_LINE_MAX 8192
/* threads: one event loop per core; more than this is a typo. */
#define CONFIG_THREADS_MAX 256
/* max_message_size default: 50 MiB, what large providers accept today. */
#define CONFIG_MESSAGE_SIZE_DEFAULT (50ULL * 1024 * 1024)
/* RFC 5321 §4.5.4.1: retry after at least 30 minutes, give up after 4-5
 * days; we start sooner (5 min, then growing) as most MTAs do today. */
#define CONFIG_RETRY_BASE_DEFAULT 300
/* RFC 5321 §4.5.3.2.7: at least 5 minutes for the next command. */
#define CONFIG_SMTP_TIMEOUT_DEFAULT 300
#define CONFIG_QUEUE_LIFETIME_DEFAULT (5 * 24 * 3600)
/* RFC 3461 §5.2.5 leaves "an extended length of time" to the MTA; 4 hours
 * is Postfix's delay_warning_time example and Sendmail's Timeout.queuewarn. */
#define CONFIG_DSN_DELAY_DEFAULT (4 * 3600)
/* RFC 7662 §4 lets a resource server cache introspection answers; a
 * minute bounds how long a revoked token keeps working, and a refused
 * token is asked about again after a few seconds (it may just have been
 * issued). */
#define CONFIG_INTROSPECTION_CACHE_DEFAULT 60
#define CONFIG_INTROSPECTION_NEGATIVE_DEFAULT 5
/* Durations are stored in seconds as uint32: 100 years is plenty. */
#define CONFIG_DURATION_MAX (100U * 365 * 24 * 3600)
/* RFC 5321 §4.5.4.1: SMTP port 25. */
#define CONFIG_MX_PORT_DEFAULT 25
/* RFC 1035 §2.3.4: a name is at most 255 octets. */
#define CONFIG_HOSTNAME_MAX 255

/* State while reading one file. */
struct config_parse {
	struct config *config;
	const char *dir;   /* absolute directory of the file, for relative paths */
	char *error;       /* malloc'd message without the FILE:LINE prefix */
};

typedef int config_value_fn(struct config_parse *parse, const char *value, void *field);

struct config_key {
	const char *name;
	config_value_fn *parse;
	size_t offset;
};

/* Set parse->error to a formatted message; returns -1 for the caller's return. */
static int __attribute__((format(printf, 2, 3)))
config_fail(struct config_parse *parse, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(parse->error);
	parse->error = buf_steal(&b);
	return -1;
}

/* A path as written, or the config file's directory joined with it. */
static char *config_resolve_path(const struct config_parse *parse, const char *value)
{
	struct buf b = BUF_INIT;

	if (value[0] == '/')
		return mem_strdup(value);
	buf_printf(&b, "%s%s%s", parse->dir, strcmp(parse->dir, "/") == 0 ? "" : "/", value);
	return buf_steal(&b);
}

/* ---- value parsers --------------------------------------------------------- */

/* A file or directory name, relative to the config file's directory. */
static int config_parse_path(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;

	*dst = config_resolve_path(parse, value);
	return 0;
}

/* true for the letters, digits, dots and hyphens that DNS names are made of. */
static bool config_is_hostname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CONFIG_HOSTNAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s != '\0'; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static int config_parse_hostname(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;

	if (!config_is_hostname(value))
		return config_fail(parse, "bad host name '%s'", value);
	*dst = str_lower(mem_strdup(value));
	return 0;
}

/* Free a NULL-terminated list of strings. */
static void config_free_list(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

/* "a.example, B.example" -> {"a.example", "b.example", NULL}. */
static int config_parse_domains(struct config_parse *parse, const char *value, void *field)
{
	char ***dst = field;
	char *copy = mem_strdup(value);
	char **list = mem_zalloc(sizeof(*list));
	size_t count = 0;
	char *item = copy, *comma;

	do {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma = '\0';
		str_lower(str_trim(item));
		if (item[0] == '\0' || !config_is_hostname(item)) {
			(void)config_fail(parse, item[0] == '\0' ? "empty domain in '%s'" :
				    "bad domain in '%s'", value);
			config_free_list(list);
			free(copy);
			return -1;
		}
		list = mem_realloc(list, (count + 2) * sizeof(*list));
		list[count++] = mem_strdup(item);
		list[count] = NULL;
		if (comma != NULL)
			item = comma + 1;
	} while (comma != NULL);
	free(copy);
	*dst = list;
	return 0;
}

/* yes/no in the spellings people write. */
static int config_parse_bool(struct config_parse *parse, const char *value, void *field)
{
	bool *dst = field;

	if (str_eq_nocase(value, "yes") || str_eq_nocase(value, "true") || strcmp(value, "1") == 0)
		*dst = true;
	else if (str_eq_nocase(value, "no") || str_eq_nocase(value, "false") ||
		 strcmp(value, "0") == 0)
		*dst = false;
	else
		return config_fail(parse, "expected yes or no, not '%s'", value);
	return 0;
}

static int config_parse_threads(struct config_parse *parse, const char *value, void *field)
{
	unsigned *dst = field;
	uint32_t n;

	if (str_parse_u32(value, strlen(value), &n) < 0 || n > CONFIG_THREADS_MAX)
		return config_fail(parse, "threads must be 0..%d (0 = one per core), not '%s'",
				   CONFIG_THREADS_MAX, value);
	*dst = n;
	return 0;
}

/* Bytes, with an optional K, M or G suffix (powers of 1024). */
static int config_parse_size(struct config_parse *parse, const char *value, void *field)
{
	uint64_t *dst = field;
	size_t len = strlen(value);
	uint64_t n, unit = 1;

	switch (len > 0 ? value[len - 1] : '\0') {
	case 'k': case 'K': unit = 1024ULL; len--; break;
	case 'm': case 'M': unit = 1024ULL * 1024; len--; break;
	case 'g': case 'G': unit = 1024ULL * 1024 * 1024; len--; break;
	default: break;
	}
	if (str_parse_u64(value, len, &n) < 0 || n == 0 || n > UINT64_MAX / unit)
		return config_fail(parse, "expected a size in bytes (e.g. 52428800, 50M), not '%s'",
				   value);
	*dst = n * unit;
	return 0;
}

/* Seconds, with an optional s, m, h or d suffix (300, 5m, 1h, 5d). */
static int config_parse_duration(struct config_parse *parse, const char *value, void *field)
{
	uint32_t *dst = field;
	size_t len = strlen(value);
	uint64_t n, unit = 1;

	switch (len > 0 ? value[len - 1] : '\0') {
	case 's': unit = 1; len--; break;
	case 'm': unit = 60; len--; break;
	case 'h': unit = 3600; len--; break;
	case 'd': unit = 86400; len--; break;
	default: break;
	}
	if (str_parse_u64(value, len, &n) < 0 || n == 0 || n > CONFIG_DURATION_MAX / unit)
		return config_fail(parse, "expected a duration (e.g. 300, 5m, 1h, 5d), not '%s'",
				   value);
	*dst = (uint32_t)(n * unit);
	return 0;
}

static int config_parse_port(struct config_parse *parse, const char *value, void *field)
{
	uint32_t *dst = field;
	uint32_t port;

	if (str_parse_u32(value, strlen(value), &port) < 0 || port == 0 || port > 65535)
		return config_fail(parse, "expected a port (1..65535), not '%s'", value);
	*dst = port;
	return 0;
}

/* Any non-empty value, kept as written (a login name). */
static int config_parse_string(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;

	*dst = mem_strdup(value);
	return 0;
}

static int config_parse_log_level(struct config_parse *parse, const char *value, void *field)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	char **dst = field;

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(value, levels[i]) == 0) {
			*dst = mem_strdup(value);
			return 0;
		}
	}
	return config_fail(parse, "log_level must be debug, info, warn or error, not '%s'", value);
}

/* store: which back end keeps the mail (store/store.h). */
static int config_parse_store(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;

	if (strcmp(value, "sqlite") != 0 && strcmp(value, "postgres") != 0)
		return config_fail(parse, "store must be sqlite or postgres, not '%s'", value);
	*dst = mem_strdup(value);
	return 0;
}

/* postgres_url: a libpq connection URI. Only the scheme is checked here;
 * libpq judges the rest when the store connects, and says what is wrong. */
static int config_parse_postgres_url(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;

	if (strncmp(value, "postgresql://", 13) != 0 && strncmp(value, "postgres://", 11) != 0)
		return config_fail(parse, "postgres_url must be a postgresql:// URI, not '%s'",
				   value);
	*dst = mem_strdup(value);
	return 0;
}

/* Split "HOST:PORT" / "[V6]:PORT" into its parts, checking both. */
static int config_split_host_port(struct config_parse *parse, const char *value,
				  char **host_r, char **port_r)
{
	const char *colon;
	char *host;
	uint32_t port;

	if (value[0] == '[') {
		const char *end = strchr(value, ']');
		struct in6_addr addr;
		if (end == NULL || end[1] != ':')
			return config_fail(parse, "expected [IPV6]:PORT, not '%s'", value);
		host = mem_strndup(value + 1, (size_t)(end - value - 1));
		colon = end + 1;
		if (inet_pton(AF_INET6, host, &addr) != 1) {
			free(host);
			return config_fail(parse, "bad IPv6 address in '%s'", value);
		}
	} else {
		colon = strchr(value, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return config_fail(parse, "expected ADDRESS:PORT (IPv6 in brackets), not '%s'",
					   value);
		host = mem_strndup(value, (size_t)(colon - value));
		if (strcmp(host, "*") != 0 && !config_is_hostname(host)) {
			free(host);
			return config_fail(parse, "bad address in '%s'", value);
		}
	}
	if (str_parse_u32(colon + 1, strlen(colon + 1), &port) < 0 || port == 0 || port > 65535) {
		free(host);
		return config_fail(parse, "bad port in '%s' (1..65535)", value);
	}
	*host_r = host;
	*port_r = mem_strdup(colon + 1);
	return 0;
}

/* A TCP listener; "*" is written for "every IPv4 address" (0.0.0.0). */
static int config_parse_listen(struct config_parse *parse, const char *value, void *field)
{
	struct config_listen *dst = field;
	char *host, *port;

	if (config_split_host_port(parse, value, &host, &port) < 0)
		return -1;
	if (strcmp(host, "*") == 0) {
		free(host);
		host = mem_strdup("0.0.0.0");
	}
	dst->enabled = true;
	dst->host = host;
	dst->port = port;
	return 0;
}

/* lmtp also takes "unix:PATH" (DESIGN.md). */
static int config_parse_listen_lmtp(struct config_parse *parse, const char *value, void *field)
{
	struct config_listen *dst = field;

	if (strncmp(value, "unix:", 5) != 0)
		return config_parse_listen(parse, value, field);
	if (value[5] == '\0')
		return config_fail(parse, "unix: needs a socket path");
	dst->enabled = true;
	dst->unix_path = config_resolve_path(parse, value + 5);
	return 0;
}

/* relay_host keeps the HOST:PORT text; the parts are checked here. */
static int config_parse_relay(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;
	char *host, *port;

	if (config_split_host_port(parse, value, &host, &port) < 0)
		return -1;
	free(host);
	free(port);
	if (strncmp(value, "*:", 2) == 0)
		return config_fail(parse, "relay_host needs a host name, not '*'");
	*dst = mem_strdup(value);
	return 0;
}

/* dns_resolver: a numeric address (no name: it is what resolves names). */
static int config_parse_resolver(struct config_parse *parse, const char *value, void *field)
{
	char **dst = field;
	char *host, *port;
	unsigned char addr[16];
	bool numeric;

	if (config_split_host_port(parse, value, &host, &port) < 0)
		return -1;
	numeric = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	free(host);
	free(port);
	if (!numeric)
		return config_fail(parse, "dns_resolver needs a numeric address, not '%s'", value);
	*dst = mem_strdup(value);
	return 0;
}

/* quota_storage: a size as max_message_size takes it, or "none". */
static int config_parse_quota_storage(struct config_parse *parse, const char *value, void *field)
{
	if (strcmp(value, "none") == 0) {
		*(uint64_t *)field = 0;
		return 0;
	}
	if (config_parse_size(parse, value, field) < 0)
		return config_fail(parse, "quota_storage must be a size (e.g. 500M, 2G) or 'none', "
				   "not '%s'", value);
	return 0;
}

/* quota_messages: a count above 0, or "none". */
static int config_parse_quota_messages(struct config_parse *parse, const char *value,
				       void *field)
{
	uint64_t n;

	if (strcmp(value, "none") == 0) {
		*(uint64_t *)field = 0;
		return 0;
	}
	if (str_parse_u64(value, strlen(value), &n) < 0 || n == 0 || n > INT64_MAX)
		return config_fail(parse, "quota_messages must be a count above 0 or 'none', "
				   "not '%s'", value);
	*(uint64_t *)field = n;
	return 0;
}

int64_t config_quota_storage_kib(const struct config *config)
{
	if (config->quota_storage == 0)
		return -1;
	return (int64_t)((config->quota_storage + 1023) / 1024);
}

int64_t config_quota_messages(const struct config *config)
{
	return config->quota_messages == 0 ? -1 : (int64_t)config->quota_messages;
}

#define CONFIG_KEY(name, fn) { #name, fn, offsetof(struct config, name) }

/* Every key the file may hold (docs/config.md lists the same, keep in step). */
static const struct config_key config_keys[] = {
	CONFIG_KEY(data_dir, config_parse_path),
	CONFIG_KEY(hostname, config_parse_hostname),
	CONFIG_KEY(domains, config_parse_domains),
	CONFIG_KEY(tls_cert, config_parse_path),
	CONFIG_KEY(tls_key, config_parse_path),
	CONFIG_KEY(imap, config_parse_listen),
	CONFIG_KEY(imaps, config_parse_listen),
	CONFIG_KEY(pop3, config_parse_listen),
	CONFIG_KEY(pop3s, config_parse_listen),
	CONFIG_KEY(smtp, config_parse_listen),
	CONFIG_KEY(submission, config_parse_listen),
	CONFIG_KEY(submissions, config_parse_listen),
	CONFIG_KEY(lmtp, config_parse_listen_lmtp),
	CONFIG_KEY(relay_host, config_parse_relay),
	CONFIG_KEY(relay_user, config_parse_string),
	CONFIG_KEY(relay_password_file, config_parse_path),
	CONFIG_KEY(relay_tls_insecure, config_parse_bool),
	CONFIG_KEY(relay_tls_ca_file, config_parse_path),
	CONFIG_KEY(dsn_delay, config_parse_duration),
	CONFIG_KEY(dns_resolver, config_parse_resolver),
	CONFIG_KEY(mx_port, config_parse_port),
	CONFIG_KEY(queue_retry_base, config_parse_duration),
	CONFIG_KEY(queue_lifetime, config_parse_duration),
	CONFIG_KEY(smtp_timeout, config_parse_duration),
	CONFIG_KEY(allow_plaintext_auth, config_parse_bool),
	CONFIG_KEY(threads, config_parse_threads),
	CONFIG_KEY(max_message_size, config_parse_size),
	CONFIG_KEY(quota_storage, config_parse_quota_storage),
	CONFIG_KEY(quota_messages, config_parse_quota_messages),
	CONFIG_KEY(log_level, config_parse_log_level),
	CONFIG_KEY(user, config_parse_string),
	CONFIG_KEY(group, config_parse_string),
	CONFIG_KEY(oauth_issuer, config_parse_string),
	CONFIG_KEY(oauth_audience, config_parse_string),
	CONFIG_KEY(oauth_jwks_file, config_parse_path),
	CONFIG_KEY(oauth_pem_keys, config_parse_string),
	CONFIG_KEY(oauth_account_claim, config_parse_string),
	CONFIG_KEY(oauth_introspection_url, config_parse_string),
	CONFIG_KEY(oauth_client_id, config_parse_string),
	CONFIG_KEY(oauth_client_secret_file, config_parse_path),
	CONFIG_KEY(oauth_ca_file, config_parse_path),
	CONFIG_KEY(oauth_introspection_cache, config_parse_duration),
	CONFIG_KEY(oauth_introspection_negative_cache, config_parse_duration),
	CONFIG_KEY(store, config_parse_store),
	CONFIG_KEY(postgres_url, config_parse_postgres_url),
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

/* ---- the file ---------------------------------------------------------------- */

/* Cut a comment off: '#' at the start or after a space or tab starts one
 * (so "a#b" stays a value, "a # b" is "a"). */
static void config_strip_comment(char *line)
{
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

/* Handle one line; lines_seen[i] is the line where key i was set (0 = not yet). */
static int config_parse_line(struct config_parse *parse, char *line, unsigned *lines_seen,
			     unsigned line_number)
{
	char *eq, *key, *value;

	config_strip_comment(line);
	str_trim(line);
	if (line[0] == '\0')
		return 0;
	eq = strchr(line, '=');
	if (eq == NULL)
		return config_fail(parse, "expected 'key = value', got '%s'", line);
	*eq = '\0';
	key = str_trim(line);
	value = str_trim(eq + 1);
	if (key[0] == '\0')
		return config_fail(parse, "missing key before '='");
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		if (strcmp(key, config_keys[i].name) != 0)
			continue;
		if (lines_seen[i] != 0)
			return config_fail(parse, "duplicate key '%s' (first set on line %u)",
					   key, lines_seen[i]);
		lines_seen[i] = line_number;
		if (value[0] == '\0')
			return config_fail(parse, "%s: missing value", key);
		return config_keys[i].parse(parse, value, (char *)parse->config +
					    config_keys[i].offset);
	}
	return config_fail(parse, "unknown key '%s'", key);
}

/* Read every line of f; on error *line_r is the line that failed. */
static int config_parse_file(struct config_parse *parse, FILE *f, unsigned *lines_seen,
			     unsigned *line_r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = 0;

	*line_r = 0;
	while (ret == 0 && (len = getline(&line, &cap, f)) >= 0) {
		(*line_r)++;
		if ((size_t)len > CONFIG_LINE_MAX) {
			ret = config_fail(parse, "line longer than %d bytes", CONFIG_LINE_MAX);
			break;
		}
		if (strlen(line) != (size_t)len) {
			ret = config_fail(parse, "NUL byte in line");
			break;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		ret = config_parse_line(parse, line, lines_seen, *line_r);
	}
	if (ret == 0 && ferror(f)) {
		*line_r = 0;
		ret = config_fail(parse, "%s", strerror(errno));
	}
	free(line);
	return ret;
}

/* What the file leaves out: hostname, domains, sizes, the log level. */
static int config_apply_defaults(struct config_parse *parse)
{
	struct config *config = parse->config;
	char name[CONFIG_HOSTNAME_MAX + 1];

	if (config->hostname == NULL) {
		if (gethostname(name, sizeof(name)) < 0)
			return config_fail(parse, "gethostname: %s", strerror(errno));
		name[sizeof(name) - 1] = '\0';
		config->hostname = str_lower(mem_strdup(name));
	}
	if (config->domains == NULL)
		config->domains = mem_zalloc(sizeof(*config->domains));
	if (config->max_message_size == 0)
		config->max_message_size = CONFIG_MESSAGE_SIZE_DEFAULT;
	if (config->log_level == NULL)
		config->log_level = mem_strdup("info");
	if (config->store == NULL)
		config->store = mem_strdup("sqlite");
	if (config->mx_port == 0)
		config->mx_port = CONFIG_MX_PORT_DEFAULT;
	if (config->queue_retry_base == 0)
		config->queue_retry_base = CONFIG_RETRY_BASE_DEFAULT;
	if (config->queue_lifetime == 0)
		config->queue_lifetime = CONFIG_QUEUE_LIFETIME_DEFAULT;
	if (config->smtp_timeout == 0)
		config->smtp_timeout = CONFIG_SMTP_TIMEOUT_DEFAULT;
	if (config->dsn_delay == 0)
		config->dsn_delay = CONFIG_DSN_DELAY_DEFAULT;
	if (config->oauth_introspection_cache == 0)
		config->oauth_introspection_cache = CONFIG_INTROSPECTION_CACHE_DEFAULT;
	if (config->oauth_introspection_negative_cache == 0)
		config->oauth_introspection_negative_cache = CONFIG_INTROSPECTION_NEGATIVE_DEFAULT;
	return 0;
}

/* Checks that involve more than one key; *line_r is where to point (0 = none). */
static int config_check_whole(struct config_parse *parse, const unsigned *lines_seen,
			      unsigned *line_r)
{
	const struct config *config = parse->config;
	size_t cert = 0, key = 0, user = 0, password = 0, store = 0;

	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		if (strcmp(config_keys[i].name, "tls_cert") == 0)
			cert = i;
		else if (strcmp(config_keys[i].name, "tls_key") == 0)
			key = i;
		else if (strcmp(config_keys[i].name, "relay_user") == 0)
			user = i;
		else if (strcmp(config_keys[i].name, "relay_password_file") == 0)
			password = i;
		else if (strcmp(config_keys[i].name, "store") == 0)
			store = i;
	}
	*line_r = 0;
	if (config->data_dir == NULL)
		return config_fail(parse, "data_dir is required");
	if ((config->tls_cert == NULL) != (config->tls_key == NULL)) {
		*line_r = lines_seen[config->tls_cert != NULL ? cert : key];
		return config_fail(parse, "tls_cert and tls_key must be set together");
	}
	if ((config->relay_user == NULL) != (config->relay_password_file == NULL)) {
		*line_r = lines_seen[config->relay_user != NULL ? user : password];
		return config_fail(parse, "relay_user and relay_password_file must be set together");
	}
	if (config->relay_user != NULL && config->relay_host == NULL) {
		*line_r = lines_seen[user];
		return config_fail(parse, "relay_user needs relay_host");
	}
	if (config->store != NULL && strcmp(config->store, "postgres") == 0 &&
	    config->postgres_url == NULL) {
		*line_r = lines_seen[store];
		return config_fail(parse, "store = postgres needs postgres_url");
	}
	return 0;
}

/* The absolute directory of path as named (a symlinked file's own target
 * directory does not count), for relative paths inside the file. */
static char *config_file_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real;

	if (slash == NULL)
		dir = mem_strdup(".");
	else if (slash == path)
		dir = mem_strdup("/");
	else
		dir = mem_strndup(path, (size_t)(slash - path));
	real = realpath(dir, NULL);
	free(dir);
	return real;
}

/* "FILE:LINE: message" (or "FILE: message" when line is 0), malloc'd. */
static char *config_format_error(const char *path, unsigned line, const char *message)
{
	struct buf b = BUF_INIT;

	if (line > 0)
		buf_printf(&b, "%s:%u: %s", path, line, message);
	else
		buf_printf(&b, "%s: %s", path, message);
	return buf_steal(&b);
}

/* Open and parse path; everything but the final error formatting. */
static int config_load_file(struct config_parse *parse, const char *path, unsigned *line_r)
{
	unsigned lines_seen[CONFIG_KEY_COUNT] = { 0 };
	FILE *f;
	int ret;

	*line_r = 0;
	f = fopen(path, "r");
	if (f == NULL)
		return config_fail(parse, "%s", strerror(errno));
	parse->dir = config_file_dir(path);
	if (parse->dir == NULL) {
		ret = config_fail(parse, "%s", strerror(errno));
	} else {
		ret = config_parse_file(parse, f, lines_seen, line_r);
		if (ret == 0)
			ret = config_check_whole(parse, lines_seen, line_r);
		if (ret == 0)
			ret = config_apply_defaults(parse);
	}
	fclose(f);
	free((char *)parse->dir);
	parse->dir = NULL;
	return ret;
}

int config_load(const char *path, struct config *config_r, char **error_r)
{
	struct config_parse parse = { .config = config_r };
	unsigned line;

	memset(config_r, 0, sizeof(*config_r));
	config_r->path = mem_strdup(path);
	*error_r = NULL;
	if (config_load_file(&parse, path, &line) < 0) {
		*error_r = config_format_error(path, line, parse.error);
		free(parse.error);
		config_free(config_r);
		return -1;
	}
	return 0;
}

static void config_free_listen(struct config_listen *listen)
{
	free(listen->host);
	free(listen->port);
	free(listen->unix_path);
	memset(listen, 0, sizeof(*listen));
}

void config_free(struct config *config)
{
	config_free_list(config->domains);
	free(config->path);
	free(config->data_dir);
	free(config->hostname);
	free(config->tls_cert);
	free(config->tls_key);
	config_free_listen(&config->imap);
	config_free_listen(&config->imaps);
	config_free_listen(&config->pop3);
	config_free_listen(&config->pop3s);
	config_free_listen(&config->smtp);
	config_free_listen(&config->submission);
	config_free_listen(&config->submissions);
	config_free_listen(&config->lmtp);
	free(config->relay_host);
	free(config->relay_user);
	free(config->relay_password_file);
	free(config->relay_tls_ca_file);
	free(config->dns_resolver);
	free(config->log_level);
	free(config->user);
	free(config->group);
	free(config->oauth_issuer);
	free(config->oauth_audience);
	free(config->oauth_jwks_file);
	free(config->oauth_pem_keys);
	free(config->oauth_account_claim);
	free(config->oauth_introspection_url);
	free(config->oauth_client_id);
	free(config->oauth_client_secret_file);
	free(config->oauth_ca_file);
	free(config->store);
	free(config->postgres_url);
	memset(config, 0, sizeof(*config));
}

bool config_is_local_domain(const struct config *config, const char *domain)
{
	if (config->domains == NULL)
		return false;
	for (char **d = config->domains; *d != NULL; d++) {
		if (str_eq_nocase(*d, domain))
			return true;
	}
	return false;
}
