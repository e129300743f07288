/*
 * dns: see dns.h. The parser trusts nothing it reads: every offset is
 * checked against the message length, compression pointers must point
 * backwards (so they cannot loop), and names are bounded by DNS_NAME_MAX.
 */
#include "delivery/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"

/* RFC 1035 §4.1.1: the header is 12 bytes. */
#define DNS_HEADER_SIZE 12
/* Tries over UDP before giving up (the resolver may drop one packet). */
#define DNS_UDP_TRIES 3
/* Default wait per try: a recursive resolver answers well within this. */
#define DNS_TIMEOUT_MS 5000
/* RFC 1035 §2.3.4: a label is at most 63 octets. */
#define DNS_LABEL_MAX 63
/* Where resolv.conf lives; and the fallback when it names no server. */
#define DNS_RESOLV_CONF "/etc/resolv.conf"
#define DNS_DEFAULT_SERVER "127.0.0.1"

static uint16_t dns_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

size_t dns_build_query(uint8_t *out, uint16_t id, const char *name, uint16_t type)
{
	size_t pos = DNS_HEADER_SIZE, namelen = strlen(name);

	if (namelen > 0 && name[namelen - 1] == '.')
		namelen--;
	if (namelen == 0 || namelen > DNS_NAME_MAX - 2)
		return 0;
	memset(out, 0, DNS_HEADER_SIZE);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x01; /* RD: recursion desired */
	out[5] = 1;    /* QDCOUNT */
	for (size_t start = 0; start <= namelen;) {
		const char *dot = memchr(name + start, '.', namelen - start);
		size_t end = dot != NULL ? (size_t)(dot - name) : namelen;
		size_t label = end - start;
		if (label == 0 || label > DNS_LABEL_MAX)
			return 0;
		out[pos++] = (uint8_t)label;
		memcpy(out + pos, name + start, label);
		pos += label;
		start = end + 1;
	}
	out[pos++] = 0;
	out[pos++] = (uint8_t)(type >> 8);
	out[pos++] = (uint8_t)type;
	out[pos++] = 0;
	out[pos++] = 1; /* class IN */
	return pos;
}

/* Read the (possibly compressed, RFC 1035 §4.1.4) name at *pos. Writes it
 * as lower-case text into out (may be NULL to skip) and moves *pos past it.
 * Pointers must go strictly backwards, which bounds the walk. */
static int dns_read_name(const uint8_t *msg, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, textlen = 0, wire = 0;
	bool jumped = false;

	for (;;) {
		if (p >= len)
			return -1;
		uint8_t c = msg[p];
		if ((c & 0xC0) == 0xC0) {
			if (p + 1 >= len)
				return -1;
			size_t target = (size_t)(((c & 0x3F) << 8) | msg[p + 1]);
			if (target >= p)
				return -1;
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if ((c & 0xC0) != 0)
			return -1; /* the reserved label types */
		if (c == 0) {
			if (!jumped)
				*pos = p + 1;
			break;
		}
		if (p + 1 + c > len)
			return -1;
		wire += (size_t)c + 1;
		if (wire > DNS_NAME_MAX - 1)
			return -1;
		if (out != NULL) {
			if (textlen > 0)
				out[textlen++] = '.';
			for (size_t i = 0; i < c; i++) {
				char ch = (char)msg[p + 1 + i];
				if (ch >= 'A' && ch <= 'Z')
					ch = (char)(ch - 'A' + 'a');
				/* Host names are letters, digits, '-' (and '_' seen in
				 * the wild); anything else cannot be a mail host. */
				if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				      ch == '-' || ch == '_'))
					ch = '?';
				out[textlen++] = ch;
			}
		}
		p += 1 + (size_t)c;
	}
	if (out != NULL)
		out[textlen] = '\0';
	return 0;
}

int dns_parse_reply(const uint8_t *msg, size_t len, uint16_t qtype, struct dns_reply *reply_r)
{
	size_t pos = DNS_HEADER_SIZE;
	unsigned qdcount, ancount;

	memset(reply_r, 0, sizeof(*reply_r));
	if (len < DNS_HEADER_SIZE || (msg[2] & 0x80) == 0) /* QR: a response */
		return -1;
	reply_r->id = dns_get16(msg);
	reply_r->truncated = (msg[2] & 0x02) != 0;
	reply_r->rcode = msg[3] & 0x0F;
	qdcount = dns_get16(msg + 4);
	ancount = dns_get16(msg + 6);
	if (reply_r->truncated)
		return 0;
	for (unsigned i = 0; i < qdcount; i++) {
		if (dns_read_name(msg, len, &pos, NULL) < 0 || pos + 4 > len)
			return -1;
		pos += 4;
	}
	for (unsigned i = 0; i < ancount; i++) {
		struct dns_record rec = { 0 };
		uint16_t type, rdlength;
		size_t rdata;
		if (dns_read_name(msg, len, &pos, NULL) < 0 || pos + 10 > len)
			return -1;
		type = dns_get16(msg + pos);
		rdlength = dns_get16(msg + pos + 8);
		rdata = pos + 10;
		if (rdata + rdlength > len)
			return -1;
		pos = rdata + rdlength;
		if (type != qtype || reply_r->count == DNS_RECORDS_MAX)
			continue;
		rec.type = type;
		if (type == DNS_TYPE_A) {
			if (rdlength != 4)
				return -1;
			memcpy(rec.addr, msg + rdata, 4);
		} else if (type == DNS_TYPE_AAAA) {
			if (rdlength != 16)
				return -1;
			memcpy(rec.addr, msg + rdata, 16);
		} else if (type == DNS_TYPE_MX) {
			size_t npos = rdata + 2;
			if (rdlength < 3)
				return -1;
			rec.preference = dns_get16(msg + rdata);
			/* The name must end inside its rdata (pointers may go back). */
			if (dns_read_name(msg, rdata + rdlength, &npos, rec.name) < 0 ||
			    npos != rdata + rdlength)
				return -1;
		} else {
			continue;
		}
		reply_r->records[reply_r->count++] = rec;
	}
	return 0;
}

/* ---- talking to the resolver ---------------------------------------------- */

int dns_resolver_init(struct dns_resolver *resolver, const char *value, int stop_fd,
		      const char **error_r)
{
	char host[INET6_ADDRSTRLEN + 2] = DNS_DEFAULT_SERVER;
	unsigned port = 53;

	memset(resolver, 0, sizeof(*resolver));
	resolver->stop_fd = stop_fd;
	resolver->timeout_ms = DNS_TIMEOUT_MS;
	if (value != NULL) {
		const char *colon = strrchr(value, ':');
		const char *start = value[0] == '[' ? value + 1 : value;
		size_t n = (size_t)(colon - start) - (value[0] == '[' ? 1 : 0);
		if (colon == NULL || n >= sizeof(host)) {
			*error_r = "bad dns_resolver";
			return -1;
		}
		memcpy(host, start, n);
		host[n] = '\0';
		port = (unsigned)atoi(colon + 1);
	} else {
		FILE *f = fopen(DNS_RESOLV_CONF, "r");
		char line[512];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			char name[64];
			if (sscanf(line, " nameserver %63s", name) == 1 &&
			    strlen(name) < sizeof(host)) {
				strcpy(host, name);
				break;
			}
		}
		if (f != NULL)
			fclose(f);
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)&resolver->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&resolver->addr;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		resolver->addrlen = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		resolver->addrlen = sizeof(*v6);
	} else {
		*error_r = "the resolver is not a numeric address";
		return -1;
	}
	return 0;
}

static int64_t dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. 1 ready, 0
 * timeout, -1 stopped or error. */
static int dns_wait(const struct dns_resolver *resolver, int fd, short events, int64_t deadline)
{
	struct pollfd pfd[2] = { { fd, events, 0 }, { resolver->stop_fd, POLLIN, 0 } };
	int64_t left = deadline - dns_now_ms();
	int n;

	if (left <= 0)
		return 0;
	n = poll(pfd, resolver->stop_fd >= 0 ? 2 : 1, (int)left);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (resolver->stop_fd >= 0 && (pfd[1].revents & POLLIN))
		return -1;
	return n > 0;
}

static int dns_fail(char *error, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(error, errlen, fmt, arg);
	return DNS_TEMPFAIL;
}

/* One exchange over UDP; *len_r 0 when every try timed out. */
static int dns_query_udp(const struct dns_resolver *resolver, const uint8_t *query, size_t qlen,
			 uint8_t *answer, size_t *len_r, uint16_t id)
{
	int fd = socket(resolver->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	*len_r = 0;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&resolver->addr, resolver->addrlen) < 0) {
		close(fd);
		return -1;
	}
	for (int attempt = 0; attempt < DNS_UDP_TRIES; attempt++) {
		int64_t deadline = dns_now_ms() + resolver->timeout_ms / DNS_UDP_TRIES + 1;
		if (send(fd, query, qlen, 0) < 0)
			break;
		for (;;) {
			int w = dns_wait(resolver, fd, POLLIN, deadline);
			if (w < 0) {
				close(fd);
				return -1;
			}
			if (w == 0)
				break;
			ssize_t n = recv(fd, answer, DNS_UDP_MAX, 0);
			/* Drop what does not answer our query (RFC 5452 §9.1). */
			if (n >= DNS_HEADER_SIZE && dns_get16(answer) == id &&
			    (size_t)n >= qlen && memcmp(answer + DNS_HEADER_SIZE,
							query + DNS_HEADER_SIZE,
							qlen - DNS_HEADER_SIZE) == 0) {
				*len_r = (size_t)n;
				close(fd);
				return 0;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				break; /* ICMP refused: next try */
		}
	}
	close(fd);
	return 0;
}

/* Move len bytes over a non-blocking TCP socket, in or out. */
static int dns_tcp_io(const struct dns_resolver *resolver, int fd, uint8_t *data, size_t len,
		      bool out, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = out ? send(fd, data + done, len - done, MSG_NOSIGNAL)
				: recv(fd, data + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (dns_wait(resolver, fd, out ? POLLOUT : POLLIN, deadline) <= 0)
			return -1;
	}
	return 0;
}

/* One exchange over TCP (RFC 1035 §4.2.2: a two-byte length before each
 * message), for replies too large for UDP. */
static int dns_query_tcp(const struct dns_resolver *resolver, const uint8_t *query, size_t qlen,
			 uint8_t *answer, size_t *len_r)
{
	int64_t deadline = dns_now_ms() + resolver->timeout_ms;
	uint8_t out[DNS_UDP_MAX + 2], prefix[2];
	int fd = socket(resolver->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int ret = -1;

	*len_r = 0;
	if (fd < 0)
		return -1;
	out[0] = (uint8_t)(qlen >> 8);
	out[1] = (uint8_t)qlen;
	memcpy(out + 2, query, qlen);
	if (connect(fd, (const struct sockaddr *)&resolver->addr, resolver->addrlen) < 0 &&
	    errno != EINPROGRESS)
		goto out;
	if (dns_tcp_io(resolver, fd, out, qlen + 2, true, deadline) < 0 ||
	    dns_tcp_io(resolver, fd, prefix, 2, false, deadline) < 0)
		goto out;
	size_t n = dns_get16(prefix);
	if (n < DNS_HEADER_SIZE || dns_tcp_io(resolver, fd, answer, n, false, deadline) < 0)
		goto out;
	*len_r = n;
	ret = 0;
out:
	close(fd);
	return ret;
}

int dns_query(const struct dns_resolver *resolver, const char *name, uint16_t type,
	      struct dns_reply *reply_r, char *error, size_t errlen)
{
	uint8_t query[DNS_UDP_MAX];
	uint8_t *answer = malloc(DNS_TCP_MAX);
	uint16_t id;
	size_t qlen, alen;
	int ret = DNS_TEMPFAIL;

	if (answer == NULL)
		return dns_fail(error, errlen, "%s", "out of memory");
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(dns_now_ms() ^ getpid());
	qlen = dns_build_query(query, id, name, type);
	if (qlen == 0) {
		free(answer);
		snprintf(error, errlen, "bad domain name '%s'", name);
		return DNS_PERMFAIL;
	}
	if (dns_query_udp(resolver, query, qlen, answer, &alen, id) < 0 || alen == 0) {
		ret = dns_fail(error, errlen, "DNS: no answer for %s", name);
		goto out;
	}
	if (dns_parse_reply(answer, alen, type, reply_r) < 0) {
		ret = dns_fail(error, errlen, "DNS: malformed reply for %s", name);
		goto out;
	}
	if (reply_r->truncated) {
		if (dns_query_tcp(resolver, query, qlen, answer, &alen) < 0 ||
		    dns_get16(answer) != id || dns_parse_reply(answer, alen, type, reply_r) < 0) {
			ret = dns_fail(error, errlen, "DNS: no TCP answer for %s", name);
			goto out;
		}
	}
	ret = 0;
out:
	free(answer);
	return ret;
}

/* ---- mail routing ------------------------------------------------------------ */

int dns_resolve_host(const struct dns_resolver *resolver, const char *name,
		     struct dns_host *host, char *error, size_t errlen)
{
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	struct dns_reply *reply = malloc(sizeof(*reply));
	bool nxdomain = false, tempfail = false;

	memset(host, 0, sizeof(*host));
	snprintf(host->name, sizeof(host->name), "%s", name);
	if (reply == NULL)
		return dns_fail(error, errlen, "%s", "out of memory");
	for (size_t t = 0; t < 2; t++) {
		int r = dns_query(resolver, name, types[t], reply, error, errlen);
		if (r < 0 || reply->rcode == DNS_RCODE_SERVFAIL || (reply->rcode != 0 &&
		    reply->rcode != DNS_RCODE_NXDOMAIN)) {
			tempfail = true;
			continue;
		}
		nxdomain |= reply->rcode == DNS_RCODE_NXDOMAIN;
		for (size_t i = 0; i < reply->count && host->addr_count < DNS_HOST_ADDRS_MAX; i++) {
			struct sockaddr_storage *ss = &host->addrs[host->addr_count++];
			memset(ss, 0, sizeof(*ss));
			if (types[t] == DNS_TYPE_A) {
				struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
				v4->sin_family = AF_INET;
				memcpy(&v4->sin_addr, reply->records[i].addr, 4);
			} else {
				struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
				v6->sin6_family = AF_INET6;
				memcpy(&v6->sin6_addr, reply->records[i].addr, 16);
			}
		}
	}
	free(reply);
	if (host->addr_count > 0)
		return 0;
	if (tempfail)
		return DNS_TEMPFAIL;
	snprintf(error, errlen, nxdomain ? "DNS: %s does not exist" : "DNS: %s has no address",
		 name);
	return nxdomain ? DNS_PERMFAIL : DNS_TEMPFAIL;
}

static int dns_mx_compare(const void *a, const void *b)
{
	const struct dns_record *x = a, *y = b;

	return (int)x->preference - (int)y->preference;
}

int dns_resolve_mail(const struct dns_resolver *resolver, const char *domain,
		     struct dns_host *hosts, size_t cap, size_t *count_r, char *error,
		     size_t errlen)
{
	struct dns_reply *reply = malloc(sizeof(*reply));
	int r;

	*count_r = 0;
	if (reply == NULL)
		return dns_fail(error, errlen, "%s", "out of memory");
	r = dns_query(resolver, domain, DNS_TYPE_MX, reply, error, errlen);
	if (r < 0) {
		free(reply);
		return r;
	}
	if (reply->rcode == DNS_RCODE_NXDOMAIN) {
		free(reply);
		snprintf(error, errlen, "DNS: domain %s does not exist", domain);
		return DNS_PERMFAIL;
	}
	if (reply->rcode != DNS_RCODE_NOERROR) {
		snprintf(error, errlen, "DNS: error %u for MX of %s", reply->rcode, domain);
		free(reply);
		return DNS_TEMPFAIL;
	}
	if (reply->count == 0) {
		/* RFC 5321 §5.1: no MX, the domain itself is the implicit MX. */
		free(reply);
		r = dns_resolve_host(resolver, domain, &hosts[0], error, errlen);
		if (r == 0)
			*count_r = 1;
		return r;
	}
	/* RFC 7505 §3: a single MX of "." (preference 0) says no mail. */
	for (size_t i = 0; i < reply->count; i++) {
		if (reply->records[i].name[0] == '\0') {
			free(reply);
			snprintf(error, errlen, "556 5.1.10 domain %s accepts no mail (null MX)",
				 domain);
			return DNS_PERMFAIL;
		}
	}
	/* Among equal preferences the order is qsort's; RFC 5321 §5.1 asks for
	 * randomising them, which matters for load, not for correctness. */
	qsort(reply->records, reply->count, sizeof(reply->records[0]), dns_mx_compare);
	for (size_t i = 0; i < reply->count && *count_r < cap; i++) {
		r = dns_resolve_host(resolver, reply->records[i].name, &hosts[*count_r], error,
				     errlen);
		if (r == 0)
			(*count_r)++;
	}
	free(reply);
	if (*count_r > 0)
		return 0;
	/* MX hosts without addresses: perhaps only for now. */
	return DNS_TEMPFAIL;
}
