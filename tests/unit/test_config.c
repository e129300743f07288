/*
 * test_config: the config file contract (docs/config.md). Each test writes a
 * small file into a temporary directory, loads it, and checks either the
 * values a caller sees or the exact "FILE:LINE: message" an operator sees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/config.h"
#include "unit.h"

/* Room for a temp directory name plus a file name. */
#define TEST_PATH_MAX 512

/* One temporary directory for the whole run; removed by main. */
struct test_dir {
	char path[TEST_PATH_MAX];
	char file[TEST_PATH_MAX + 16];
};

static struct test_dir test_dir;

/* Write text to DIR/buzon.conf and return that path. */
static const char *test_write(const char *text)
{
	FILE *f;

	snprintf(test_dir.file, sizeof(test_dir.file), "%s/buzon.conf", test_dir.path);
	f = fopen(test_dir.file, "w");
	if (f == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return test_dir.file;
}

/* Load text; returns the result of config_load and fills *config. */
static int test_load(const char *text, struct config *config, char **error)
{
	return config_load(test_write(text), config, error);
}

/* The error for text with the file name cut off ("3: unknown key 'x'"), or
 * "(loaded)" when it loaded. Returns a static-lifetime-per-call buffer. */
static const char *test_error(const char *text)
{
	static char message[1024];
	struct config config;
	char *error = NULL;
	size_t plen;

	if (test_load(text, &config, &error) == 0) {
		config_free(&config);
		return "(loaded)";
	}
	plen = strlen(test_dir.file);
	if (strncmp(error, test_dir.file, plen) == 0 && error[plen] == ':')
		snprintf(message, sizeof(message), "%s", error + plen + 1 +
			 (error[plen + 1] == ' ' ? 1 : 0));
	else
		snprintf(message, sizeof(message), "(no file prefix) %s", error);
	free(error);
	return message;
}

/* The expected absolute form of a path relative to the test directory. */
static const char *test_abs(const char *rel)
{
	static char path[TEST_PATH_MAX * 2];
	char *real = realpath(test_dir.path, NULL);

	snprintf(path, sizeof(path), "%s/%s", real != NULL ? real : "?", rel);
	free(real);
	return path;
}

static void minimal_file_gets_defaults(void)
{
	struct config c;
	char *error = NULL;

	UNIT_CHECK(test_load("data_dir = /var/lib/buzon\n", &c, &error) == 0);
	UNIT_CHECK(error == NULL);
	UNIT_CHECK_STR(c.data_dir, "/var/lib/buzon");
	UNIT_CHECK(c.hostname != NULL && c.hostname[0] != '\0');
	UNIT_CHECK(c.domains != NULL && c.domains[0] == NULL);
	UNIT_CHECK(c.tls_cert == NULL && c.tls_key == NULL);
	UNIT_CHECK(!c.imap.enabled && !c.imaps.enabled && !c.pop3.enabled && !c.pop3s.enabled);
	UNIT_CHECK(!c.smtp.enabled && !c.submission.enabled && !c.submissions.enabled);
	UNIT_CHECK(!c.lmtp.enabled);
	UNIT_CHECK(c.relay_host == NULL);
	UNIT_CHECK(c.relay_user == NULL && c.relay_password_file == NULL);
	UNIT_CHECK(c.dns_resolver == NULL);
	UNIT_CHECK(c.mx_port == 25);
	UNIT_CHECK(c.queue_retry_base == 300);
	UNIT_CHECK(c.queue_lifetime == 5 * 24 * 3600);
	UNIT_CHECK(c.smtp_timeout == 300);
	UNIT_CHECK(!c.allow_plaintext_auth);
	UNIT_CHECK(c.threads == 0);
	UNIT_CHECK(c.max_message_size == 50ULL * 1024 * 1024);
	UNIT_CHECK_STR(c.log_level, "info");
	UNIT_CHECK_STR(c.store, "sqlite");
	UNIT_CHECK(c.postgres_url == NULL);
	UNIT_CHECK_STR(c.path, test_dir.file);
	config_free(&c);
}

static void full_file_sets_every_key(void)
{
	struct config c;
	char *error = NULL;
	const char *text =
		"# a full example\n"
		"\n"
		"data_dir=/srv/mail\n"
		"hostname = MX.Example.TEST\n"
		"domains = Example.test , other.example\n"
		"tls_cert = /etc/buzon/cert.pem\n"
		"tls_key = /etc/buzon/key.pem\n"
		"imap = 127.0.0.1:1143\n"
		"imaps = [::1]:1993\n"
		"pop3 = *:110\n"
		"pop3s = 0.0.0.0:995\n"
		"smtp = mx.example.test:25\n"
		"submission = [::]:587\n"
		"submissions = 127.0.0.1:465\n"
		"lmtp = unix:/run/buzon/lmtp\n"
		"relay_host = smtp.provider.example:587\n"
		"allow_plaintext_auth = Yes\n"
		"threads = 4\n"
		"max_message_size = 10M\n"
		"log_level = debug\n";

	UNIT_CHECK(test_load(text, &c, &error) == 0);
	if (error != NULL) {
		printf("  %s\n", error);
		free(error);
		return;
	}
	UNIT_CHECK_STR(c.data_dir, "/srv/mail");
	UNIT_CHECK_STR(c.hostname, "mx.example.test");
	UNIT_CHECK_STR(c.domains[0], "example.test");
	UNIT_CHECK_STR(c.domains[1], "other.example");
	UNIT_CHECK(c.domains[2] == NULL);
	UNIT_CHECK_STR(c.tls_cert, "/etc/buzon/cert.pem");
	UNIT_CHECK_STR(c.tls_key, "/etc/buzon/key.pem");
	UNIT_CHECK(c.imap.enabled);
	UNIT_CHECK_STR(c.imap.host, "127.0.0.1");
	UNIT_CHECK_STR(c.imap.port, "1143");
	UNIT_CHECK(c.imap.unix_path == NULL);
	UNIT_CHECK_STR(c.imaps.host, "::1");
	UNIT_CHECK_STR(c.imaps.port, "1993");
	UNIT_CHECK_STR(c.pop3.host, "0.0.0.0");
	UNIT_CHECK_STR(c.pop3.port, "110");
	UNIT_CHECK_STR(c.pop3s.host, "0.0.0.0");
	UNIT_CHECK_STR(c.smtp.host, "mx.example.test");
	UNIT_CHECK_STR(c.submission.host, "::");
	UNIT_CHECK_STR(c.submissions.port, "465");
	UNIT_CHECK(c.lmtp.enabled);
	UNIT_CHECK(c.lmtp.host == NULL && c.lmtp.port == NULL);
	UNIT_CHECK_STR(c.lmtp.unix_path, "/run/buzon/lmtp");
	UNIT_CHECK_STR(c.relay_host, "smtp.provider.example:587");
	UNIT_CHECK(c.allow_plaintext_auth);
	UNIT_CHECK(c.threads == 4);
	UNIT_CHECK(c.max_message_size == 10ULL * 1024 * 1024);
	UNIT_CHECK_STR(c.log_level, "debug");
	config_free(&c);
}

static void relative_paths_are_relative_to_the_file(void)
{
	struct config c;
	char *error = NULL;

	UNIT_CHECK(test_load("data_dir = ../dev/data\ntls_cert = tls/c.pem\n"
			     "tls_key = k.pem\nlmtp = unix:lmtp.sock\n", &c, &error) == 0);
	if (error != NULL) {
		printf("  %s\n", error);
		free(error);
		return;
	}
	UNIT_CHECK_STR(c.data_dir, test_abs("../dev/data"));
	UNIT_CHECK_STR(c.tls_cert, test_abs("tls/c.pem"));
	UNIT_CHECK_STR(c.tls_key, test_abs("k.pem"));
	UNIT_CHECK_STR(c.lmtp.unix_path, test_abs("lmtp.sock"));
	config_free(&c);
}

static void symlinked_file_uses_the_directory_it_is_named_in(void)
{
	char sub[TEST_PATH_MAX + 8], link[TEST_PATH_MAX + 16];
	struct config c;
	char *error = NULL;

	snprintf(sub, sizeof(sub), "%s/sub", test_dir.path);
	snprintf(link, sizeof(link), "%s/sub/link.conf", test_dir.path);
	test_write("data_dir = data\n");
	UNIT_CHECK(mkdir(sub, 0700) == 0);
	UNIT_CHECK(symlink(test_dir.file, link) == 0);
	UNIT_CHECK(config_load(link, &c, &error) == 0);
	free(error);
	UNIT_CHECK_STR(c.data_dir, test_abs("sub/data"));
	config_free(&c);
	unlink(link);
	rmdir(sub);
}

static void comments_blank_lines_and_crlf_are_ignored(void)
{
	struct config c;
	char *error = NULL;

	UNIT_CHECK(test_load("  # indented comment\r\n\t\r\n"
			     "data_dir = /d  # trailing comment\r\n"
			     "domains = a.example,\tb.example\t# two\n", &c, &error) == 0);
	free(error);
	UNIT_CHECK_STR(c.data_dir, "/d");
	UNIT_CHECK_STR(c.domains[1], "b.example");
	config_free(&c);
	/* '#' inside a value (no space before it) is not a comment. */
	UNIT_CHECK_STR(test_error("data_dir = /d\nhostname = h#1\n"),
		       "2: bad host name 'h#1'");
}

static void unknown_key_names_file_and_line(void)
{
	UNIT_CHECK_STR(test_error("data_dir = /d\n\n# x\nimap_port = 143\n"),
		       "4: unknown key 'imap_port'");
	UNIT_CHECK_STR(test_error("Data_Dir = /d\n"), "1: unknown key 'Data_Dir'");
}

static void duplicate_key_is_an_error(void)
{
	UNIT_CHECK_STR(test_error("data_dir = /a\nhostname = h\ndata_dir = /b\n"),
		       "3: duplicate key 'data_dir' (first set on line 1)");
}

static void missing_equals_or_value_or_key(void)
{
	UNIT_CHECK_STR(test_error("data_dir /d\n"), "1: expected 'key = value', got 'data_dir /d'");
	UNIT_CHECK_STR(test_error("data_dir = /d\nhostname =\n"), "2: hostname: missing value");
	UNIT_CHECK_STR(test_error("data_dir = /d\n = x\n"), "2: missing key before '='");
}

static void missing_data_dir_names_the_file(void)
{
	UNIT_CHECK_STR(test_error("hostname = h\n"), "data_dir is required");
	UNIT_CHECK_STR(test_error(""), "data_dir is required");
}

static void missing_file_is_an_error(void)
{
	struct config c;
	char *error = NULL;

	UNIT_CHECK(config_load("/nonexistent/buzon.conf", &c, &error) < 0);
	UNIT_CHECK_STR(error, "/nonexistent/buzon.conf: No such file or directory");
	free(error);
}

static void domains_are_trimmed_and_lowercased(void)
{
	struct config c;
	char *error = NULL;

	UNIT_CHECK(test_load("data_dir=/d\ndomains=  A.Example ,b.example,C.EXAMPLE  \n",
			     &c, &error) == 0);
	free(error);
	UNIT_CHECK_STR(c.domains[0], "a.example");
	UNIT_CHECK_STR(c.domains[1], "b.example");
	UNIT_CHECK_STR(c.domains[2], "c.example");
	UNIT_CHECK(c.domains[3] == NULL);
	UNIT_CHECK(config_is_local_domain(&c, "B.Example"));
	UNIT_CHECK(!config_is_local_domain(&c, "d.example"));
	UNIT_CHECK(!config_is_local_domain(&c, "example"));
	config_free(&c);
	UNIT_CHECK_STR(test_error("data_dir=/d\ndomains = a.example,,b.example\n"),
		       "2: empty domain in 'a.example,,b.example'");
	UNIT_CHECK_STR(test_error("data_dir=/d\ndomains = a.example,\n"),
		       "2: empty domain in 'a.example,'");
	UNIT_CHECK_STR(test_error("data_dir=/d\ndomains = a example\n"),
		       "2: bad domain in 'a example'");
}

static void tls_cert_and_key_go_together(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\ntls_cert = /c.pem\n"),
		       "2: tls_cert and tls_key must be set together");
	UNIT_CHECK_STR(test_error("data_dir=/d\n\ntls_key = /k.pem\n"),
		       "3: tls_cert and tls_key must be set together");
}

static void listener_addresses(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = 127.0.0.1\n"),
		       "2: expected ADDRESS:PORT (IPv6 in brackets), not '127.0.0.1'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = ::1:143\n"),
		       "2: expected ADDRESS:PORT (IPv6 in brackets), not '::1:143'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimaps = [::1]1993\n"),
		       "2: expected [IPV6]:PORT, not '[::1]1993'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimaps = [zz]:1993\n"),
		       "2: bad IPv6 address in '[zz]:1993'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = 127.0.0.1:0\n"),
		       "2: bad port in '127.0.0.1:0' (1..65535)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = 127.0.0.1:65536\n"),
		       "2: bad port in '127.0.0.1:65536' (1..65535)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = 127.0.0.1:x\n"),
		       "2: bad port in '127.0.0.1:x' (1..65535)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = :143\n"), "2: bad address in ':143'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nimap = unix:/x\n"),
		       "2: bad port in 'unix:/x' (1..65535)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nlmtp = unix:\n"), "2: unix: needs a socket path");
	UNIT_CHECK_STR(test_error("data_dir=/d\nlmtp = 127.0.0.1:2424\n"), "(loaded)");
}

static void relay_host_needs_host_and_port(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\nrelay_host = smtp.example\n"),
		       "2: expected ADDRESS:PORT (IPv6 in brackets), not 'smtp.example'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nrelay_host = *:25\n"),
		       "2: relay_host needs a host name, not '*'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nrelay_host = [2001:db8::1]:25\n"), "(loaded)");
}

static void queue_keys(void)
{
	struct config c;
	char *error = NULL;

	UNIT_CHECK(test_load("data_dir=/d\nrelay_host = smtp.example:587\nrelay_user = me@x\n"
			     "relay_password_file = /etc/pw\ndns_resolver = 127.0.0.1:5353\n"
			     "mx_port = 2525\nqueue_retry_base = 2s\nqueue_lifetime = 1h\n",
			     &c, &error) == 0);
	UNIT_CHECK_STR(c.relay_user, "me@x");
	UNIT_CHECK_STR(c.relay_password_file, "/etc/pw");
	UNIT_CHECK_STR(c.dns_resolver, "127.0.0.1:5353");
	UNIT_CHECK(c.mx_port == 2525 && c.queue_retry_base == 2 && c.queue_lifetime == 3600);
	config_free(&c);
	UNIT_CHECK_STR(test_error("data_dir=/d\nqueue_lifetime = 5d\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nqueue_retry_base = 5m\n"), "(loaded)");
	UNIT_CHECK(test_load("data_dir=/d\nsmtp_timeout = 2s\n", &c, &error) == 0);
	UNIT_CHECK(c.smtp_timeout == 2);
	config_free(&c);
	UNIT_CHECK_STR(test_error("data_dir=/d\nqueue_retry_base = 5w\n"),
		       "2: expected a duration (e.g. 300, 5m, 1h, 5d), not '5w'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nqueue_lifetime = 0\n"),
		       "2: expected a duration (e.g. 300, 5m, 1h, 5d), not '0'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nmx_port = 0\n"),
		       "2: expected a port (1..65535), not '0'");
	UNIT_CHECK_STR(test_error("data_dir=/d\ndns_resolver = ns.example:53\n"),
		       "2: dns_resolver needs a numeric address, not 'ns.example:53'");
	UNIT_CHECK_STR(test_error("data_dir=/d\ndns_resolver = [::1]:53\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nrelay_host = a.example:25\nrelay_user = u\n"),
		       "3: relay_user and relay_password_file must be set together");
	UNIT_CHECK_STR(test_error("data_dir=/d\nrelay_user = u\nrelay_password_file = /p\n"),
		       "2: relay_user needs relay_host");
}

static void booleans_in_every_spelling(void)
{
	static const char *const yes[] = { "yes", "true", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "0", "No", "FALSE" };
	char text[128];
	struct config c;
	char *error = NULL;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "data_dir=/d\nallow_plaintext_auth = %s\n", yes[i]);
		UNIT_CHECK(test_load(text, &c, &error) == 0 && c.allow_plaintext_auth);
		config_free(&c);
		snprintf(text, sizeof(text), "data_dir=/d\nallow_plaintext_auth = %s\n", no[i]);
		UNIT_CHECK(test_load(text, &c, &error) == 0 && !c.allow_plaintext_auth);
		config_free(&c);
	}
	UNIT_CHECK_STR(test_error("data_dir=/d\nallow_plaintext_auth = maybe\n"),
		       "2: expected yes or no, not 'maybe'");
}

static void threads_range(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\nthreads = 0\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nthreads = 256\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nthreads = 257\n"),
		       "2: threads must be 0..256 (0 = one per core), not '257'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nthreads = -1\n"),
		       "2: threads must be 0..256 (0 = one per core), not '-1'");
}

static void message_size_suffixes(void)
{
	static const struct { const char *text; uint64_t bytes; } sizes[] = {
		{ "1000", 1000 }, { "64k", 64 * 1024 }, { "64K", 64 * 1024 },
		{ "10M", 10ULL << 20 }, { "2G", 2ULL << 30 },
	};
	char text[128];
	struct config c;
	char *error = NULL;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text), "data_dir=/d\nmax_message_size = %s\n", sizes[i].text);
		UNIT_CHECK(test_load(text, &c, &error) == 0 && c.max_message_size == sizes[i].bytes);
		config_free(&c);
	}
	UNIT_CHECK_STR(test_error("data_dir=/d\nmax_message_size = 10MB\n"),
		       "2: expected a size in bytes (e.g. 52428800, 50M), not '10MB'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nmax_message_size = 0\n"),
		       "2: expected a size in bytes (e.g. 52428800, 50M), not '0'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nmax_message_size = M\n"),
		       "2: expected a size in bytes (e.g. 52428800, 50M), not 'M'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nmax_message_size = 99999999999999999999\n"),
		       "2: expected a size in bytes (e.g. 52428800, 50M), not '99999999999999999999'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nmax_message_size = 17179869184G\n"),
		       "2: expected a size in bytes (e.g. 52428800, 50M), not '17179869184G'");
}

static void log_levels(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\nlog_level = warn\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nlog_level = error\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nlog_level = loud\n"),
		       "2: log_level must be debug, info, warn or error, not 'loud'");
}

/* store = sqlite | postgres; postgres needs a postgresql:// URI. */
static void store_backend_keys(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\nstore = sqlite\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nstore = postgres\n"
				  "postgres_url = postgresql://buzon@localhost/mail\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\npostgres_url = postgres://h/db\n"), "(loaded)");
	UNIT_CHECK_STR(test_error("data_dir=/d\nstore = mysql\n"),
		       "2: store must be sqlite or postgres, not 'mysql'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nstore = postgres\n"),
		       "2: store = postgres needs postgres_url");
	UNIT_CHECK_STR(test_error("data_dir=/d\npostgres_url = host=localhost\n"),
		       "2: postgres_url must be a postgresql:// URI, not 'host=localhost'");
}

static void hostname_is_checked(void)
{
	UNIT_CHECK_STR(test_error("data_dir=/d\nhostname = mail server\n"),
		       "2: bad host name 'mail server'");
	UNIT_CHECK_STR(test_error("data_dir=/d\nhostname = -x\n"), "2: bad host name '-x'");
}

static void first_error_wins(void)
{
	UNIT_CHECK_STR(test_error("bogus = 1\nthreads = 9999\n"), "1: unknown key 'bogus'");
}

int main(void)
{
	int ret;

	snprintf(test_dir.path, sizeof(test_dir.path), "/tmp/buzon-test-config-XXXXXX");
	if (mkdtemp(test_dir.path) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	UNIT_RUN(minimal_file_gets_defaults);
	UNIT_RUN(full_file_sets_every_key);
	UNIT_RUN(relative_paths_are_relative_to_the_file);
	UNIT_RUN(symlinked_file_uses_the_directory_it_is_named_in);
	UNIT_RUN(comments_blank_lines_and_crlf_are_ignored);
	UNIT_RUN(unknown_key_names_file_and_line);
	UNIT_RUN(duplicate_key_is_an_error);
	UNIT_RUN(missing_equals_or_value_or_key);
	UNIT_RUN(missing_data_dir_names_the_file);
	UNIT_RUN(missing_file_is_an_error);
	UNIT_RUN(domains_are_trimmed_and_lowercased);
	UNIT_RUN(tls_cert_and_key_go_together);
	UNIT_RUN(listener_addresses);
	UNIT_RUN(relay_host_needs_host_and_port);
	UNIT_RUN(queue_keys);
	UNIT_RUN(booleans_in_every_spelling);
	UNIT_RUN(threads_range);
	UNIT_RUN(message_size_suffixes);
	UNIT_RUN(log_levels);
	UNIT_RUN(store_backend_keys);
	UNIT_RUN(hostname_is_checked);
	UNIT_RUN(first_error_wins);
	ret = unit_finish();
	unlink(test_dir.file);
	rmdir(test_dir.path);
	return ret;
}
