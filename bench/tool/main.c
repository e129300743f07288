/*
 * buzon-bench: a load generator for mail servers (issue 7).
 *
 *   buzon-bench SCENARIO [options]
 *
 * One process, one epoll loop, thousands of connections. It prints one
 * "result scenario=S target=L figure=F value=V unit=U" line per figure on
 * stdout (and "phase ..." markers for the harness), and exits 0 only when
 * the run had no protocol error; with errors it says so on stderr and exits
 * 1. bench/compare runs it against buzon, Dovecot and Postfix.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: buzon-bench SCENARIO [options]\n"
		"scenarios:\n"
		"  imap-mix     N IMAP clients run a weighted client-like mix for --duration s\n"
		"  idle         N IMAP clients in IDLE; --rounds messages delivered over\n"
		"               --deliver-port; time until every client saw EXISTS\n"
		"  connections  N IMAP clients logged in and idling, held --duration s\n"
		"               (or until a line on stdin with --hold-stdin)\n"
		"  deliver      N SMTP (or --lmtp) sessions deliver --messages messages\n"
		"               (or for --duration s) of --size bytes\n"
		"  mailbox      SELECT, FETCH 1:* (FLAGS), SEARCH HEADER, SEARCH BODY on INBOX\n"
		"options:\n"
		"  --host ADDR          IPv4 address of the server (127.0.0.1)\n"
		"  --port N             IMAP port (SMTP/LMTP port for deliver)\n"
		"  --deliver-port N     idle: SMTP/LMTP port new mail goes to\n"
		"  --lmtp               deliver/idle: speak LMTP rather than SMTP\n"
		"  --tls                implicit TLS on --port\n"
		"  --user FORMAT        account names, %%u = index (bench%%u@example.test)\n"
		"  --password TEXT      every account's password (bench)\n"
		"  --accounts N         accounts in use; client i is account i %% N (clients)\n"
		"  --clients N          connections or sessions (10)\n"
		"  --duration S         seconds of load or hold (5)\n"
		"  --messages N         deliver: messages in all (0: until --duration)\n"
		"  --size BYTES         generated message size (5120)\n"
		"  --rounds N           idle: messages delivered; mailbox: runs per command (3)\n"
		"  --ramp N             connections set up at once, at most (100)\n"
		"  --weights LIST       imap-mix: select=5,fetch-headers=25,fetch-body=20,\n"
		"                       store=15,search=10,append=10,expunge=10,idle=5\n"
		"  --label NAME         the target's name in result lines (server)\n"
		"  --seed N             message generator seed (1)\n");
}

/* A number option within [min, max], or exit with usage. */
static unsigned long parse_number(const char *name, const char *text, unsigned long min,
				  unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		fprintf(stderr, "buzon-bench: --%s must be %lu..%lu, not '%s'\n", name, min, max,
			text);
		exit(2);
	}
	return v;
}

/* Thousands of connections need as many descriptors: take the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			perror("buzon-bench: setrlimit");
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "deliver-port", required_argument, NULL, 'P' },
		{ "lmtp", no_argument, NULL, 'L' },
		{ "tls", no_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'w' },
		{ "accounts", required_argument, NULL, 'a' },
		{ "clients", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "hold-stdin", no_argument, NULL, 'I' },
		{ "messages", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "ramp", required_argument, NULL, 'R' },
		{ "weights", required_argument, NULL, 'W' },
		{ "label", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_options o = {
		.label = "server",
		.user_format = "bench%u@example.test",
		.password = "bench",
		.clients = 10,
		.duration = 5,
		.message_size = 5120,
		.rounds = 3,
		.ramp = 100,
		.seed = 1,
		.weights = "",
		.domain = "bench.test",
	};
	const char *host = "127.0.0.1";
	unsigned long port = 0, deliver_port = 0;
	int c;
	long errors;

	if (argc < 2 || argv[1][0] == '-') {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	o.scenario = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = parse_number("port", optarg, 1, 65535); break;
		case 'P': deliver_port = parse_number("deliver-port", optarg, 1, 65535); break;
		case 'L': o.deliver_lmtp = true; break;
		case 'T': o.tls = true; break;
		case 'u': o.user_format = optarg; break;
		case 'w': o.password = optarg; break;
		case 'a': o.accounts = (unsigned)parse_number("accounts", optarg, 1, 1000000); break;
		case 'c': o.clients = (unsigned)parse_number("clients", optarg, 1, 1000000); break;
		case 'd': o.duration = (double)parse_number("duration", optarg, 0, 86400); break;
		case 'I': o.hold_stdin = true; break;
		case 'm': o.messages = (unsigned)parse_number("messages", optarg, 0, 100000000); break;
		case 's': o.message_size = (unsigned)parse_number("size", optarg, 1, 100000000); break;
		case 'r': o.rounds = (unsigned)parse_number("rounds", optarg, 1, 100000); break;
		case 'R': o.ramp = (unsigned)parse_number("ramp", optarg, 1, 1000000); break;
		case 'W': o.weights = optarg; break;
		case 'l': o.label = optarg; break;
		case 'S': o.seed = (unsigned)parse_number("seed", optarg, 0, 4294967295ul); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || port == 0) {
		fprintf(stderr, "buzon-bench: %s\n", port == 0 ? "--port is required"
							       : "unexpected arguments");
		return 2;
	}
	{
		/* Exactly one %u in the account pattern, nothing else. */
		const char *p = strchr(o.user_format, '%');
		if (!p || p[1] != 'u' || strchr(p + 2, '%') ||
		    strlen(o.user_format) > BENCH_TEXT_MAX / 2 ||
		    strlen(o.password) > BENCH_TEXT_MAX / 2 || strpbrk(o.password, "\"\\\r\n")) {
			fprintf(stderr, "buzon-bench: --user needs one %%u; --password no quotes\n");
			return 2;
		}
	}
	if (o.accounts == 0)
		o.accounts = o.clients;
	o.addr.sin_family = AF_INET;
	o.addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &o.addr.sin_addr) != 1) {
		fprintf(stderr, "buzon-bench: --host must be an IPv4 address, not '%s'\n", host);
		return 2;
	}
	o.deliver_addr = o.addr;
	o.deliver_addr.sin_port = htons((uint16_t)deliver_port);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	if (strcmp(o.scenario, "imap-mix") == 0) {
		errors = bench_imap_mix(&o);
	} else if (strcmp(o.scenario, "idle") == 0) {
		if (deliver_port == 0) {
			fprintf(stderr, "buzon-bench: idle needs --deliver-port\n");
			return 2;
		}
		errors = bench_imap_idle(&o);
	} else if (strcmp(o.scenario, "connections") == 0) {
		errors = bench_imap_connections(&o);
	} else if (strcmp(o.scenario, "deliver") == 0) {
		errors = bench_smtp_deliver(&o);
	} else if (strcmp(o.scenario, "mailbox") == 0) {
		o.clients = 1;
		errors = bench_imap_mailbox(&o);
	} else {
		fprintf(stderr, "buzon-bench: unknown scenario '%s'\n", o.scenario);
		usage(stderr);
		return 2;
	}
	if (errors < 0)
		return 2;
	if (errors > 0) {
		fprintf(stderr, "buzon-bench: %s: %s: %ld PROTOCOL ERRORS — these figures are not valid\n",
			o.scenario, o.label, errors);
		return 1;
	}
	return 0;
}
