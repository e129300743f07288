/*
 * dns: the outbound queue's small DNS client (RFC 1035): build a query,
 * parse a reply (the part that reads network input: bounded, fuzzed by
 * tests/fuzz/fuzz_dns.c), ask one recursive resolver over UDP with a TCP
 * retry when the reply is truncated (RFC 7766), and turn a mail domain into
 * the hosts to try (RFC 5321 §5.1: MX by preference, else the domain's own
 * A/AAAA; RFC 7505 null MX).
 *
 * Why our own: getaddrinfo cannot ask for MX, res_query is not thread-safe
 * everywhere and cannot be pointed at a test resolver on another port or be
 * interrupted when the server stops. Only the runner's threads call it.
 */
#ifndef BUZON_DELIVERY_DNS_H
#define BUZON_DELIVERY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_MX 15
#define DNS_TYPE_AAAA 28

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

/* RFC 1035 §2.3.4: names are at most 255 octets (253 as text). */
#define DNS_NAME_MAX 255
/* Records of the asked type we keep from one reply; more are ignored (no
 * domain has a useful 33rd MX). */
#define DNS_RECORDS_MAX 32
/* A UDP reply is at most 512 bytes without EDNS (RFC 1035 §4.2.1); over
 * TCP at most 65535 (the length prefix). */
#define DNS_UDP_MAX 512
#define DNS_TCP_MAX 65535

struct dns_record {
	uint16_t type;
	uint16_t preference;          /* MX */
	char name[DNS_NAME_MAX + 1];  /* MX exchange, lower case, no final dot; "" = root */
	unsigned char addr[16];       /* A: 4 bytes, AAAA: 16 */
};

struct dns_reply {
	uint16_t id;
	unsigned rcode;
	bool truncated;
	size_t count;                 /* records of the asked type */
	struct dns_record records[DNS_RECORDS_MAX];
};

/* Write a query for name/type into out (at least DNS_UDP_MAX bytes) with
 * recursion desired. Returns its length, 0 when name is not a valid name. */
size_t dns_build_query(uint8_t *out, uint16_t id, const char *name, uint16_t type);

/* Parse a reply to a query of type qtype. Keeps the answer records of that
 * type (CNAMEs a resolver put before them are skipped). 0, or -1 when the
 * bytes are not a well-formed reply (any input is safe). */
int dns_parse_reply(const uint8_t *msg, size_t len, uint16_t qtype, struct dns_reply *reply_r);

/* Where to ask, and how to be interrupted. */
struct dns_resolver {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int stop_fd;     /* readable = give up at once (-1: none) */
	int timeout_ms;  /* per try */
};

/* From the dns_resolver key ("ADDR:PORT", "[V6]:PORT") or, when value is
 * NULL, the first nameserver of /etc/resolv.conf (127.0.0.1:53 if none). */
int dns_resolver_init(struct dns_resolver *resolver, const char *value, int stop_fd,
		      const char **error_r);

#define DNS_TEMPFAIL (-1) /* try again later: timeout, SERVFAIL, bad reply */
#define DNS_PERMFAIL (-2) /* the domain does not exist or accepts no mail */

/* Ask resolver for name/type. 0 with *reply_r (any rcode), or DNS_TEMPFAIL
 * with a message in error (size errlen). */
int dns_query(const struct dns_resolver *resolver, const char *name, uint16_t type,
	      struct dns_reply *reply_r, char *error, size_t errlen);

/* One host to try, with its addresses (port left 0). */
#define DNS_HOST_ADDRS_MAX 8
struct dns_host {
	char name[DNS_NAME_MAX + 1];
	size_t addr_count;
	struct sockaddr_storage addrs[DNS_HOST_ADDRS_MAX];
};

/* Hosts for mail to domain, best first: MX by preference (RFC 5321 §5.1),
 * else the domain itself. 0 with at least one host; DNS_PERMFAIL for
 * NXDOMAIN or a null MX (RFC 7505); DNS_TEMPFAIL otherwise. error says why. */
int dns_resolve_mail(const struct dns_resolver *resolver, const char *domain,
		     struct dns_host *hosts, size_t cap, size_t *count_r, char *error,
		     size_t errlen);

/* The A and AAAA addresses of name into host (for relay_host and MX names). */
int dns_resolve_host(const struct dns_resolver *resolver, const char *name,
		     struct dns_host *host, char *error, size_t errlen);

#endif
