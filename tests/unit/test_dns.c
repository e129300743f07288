/*
 * test_dns: the outbound queue's DNS message builder and reply parser
 * (src/delivery/dns.c), on hand-made replies: MX with compression, A,
 * AAAA, null MX, truncation, and hostile bytes (pointer loops, lengths past
 * the end).
 */
#include "unit.h"

#include <stdint.h>

#include "delivery/dns.h"

/* A reply header: id 0x1234, QR, RD, RA, rcode; one question, n answers. */
static size_t test_header(uint8_t *out, unsigned rcode, unsigned answers, bool truncated)
{
	const uint8_t h[12] = { 0x12, 0x34, (uint8_t)(0x81 | (truncated ? 0x02 : 0)),
				(uint8_t)(0x80 | rcode), 0, 1, 0, (uint8_t)answers, 0, 0, 0, 0 };
	memcpy(out, h, sizeof(h));
	return sizeof(h);
}

/* The question "example.test" type t (the name sits at offset 12). */
static size_t test_question(uint8_t *out, uint16_t type)
{
	static const uint8_t q[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0 };
	memcpy(out, q, sizeof(q));
	out[sizeof(q)] = 0;
	out[sizeof(q) + 1] = (uint8_t)type;
	out[sizeof(q) + 2] = 0;
	out[sizeof(q) + 3] = 1;
	return sizeof(q) + 4;
}

/* An answer owned by the question's name (pointer 0xC00C). */
static size_t test_answer(uint8_t *out, uint16_t type, const uint8_t *rdata, size_t len)
{
	const uint8_t a[12] = { 0xC0, 0x0C, 0, (uint8_t)type, 0, 1, 0, 0, 0x0E, 0x10,
				(uint8_t)(len >> 8), (uint8_t)len };
	memcpy(out, a, sizeof(a));
	memcpy(out + sizeof(a), rdata, len);
	return sizeof(a) + len;
}

static void query_is_well_formed(void)
{
	uint8_t q[DNS_UDP_MAX];
	size_t n = dns_build_query(q, 0xBEEF, "Mx.Example.test.", DNS_TYPE_MX);
	static const uint8_t want[] = { 0xBE, 0xEF, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					2, 'M', 'x', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
					4, 't', 'e', 's', 't', 0, 0, 15, 0, 1 };

	UNIT_CHECK(n == sizeof(want) && memcmp(q, want, n) == 0);
	UNIT_CHECK(dns_build_query(q, 1, "", DNS_TYPE_A) == 0);
	UNIT_CHECK(dns_build_query(q, 1, "a..b", DNS_TYPE_A) == 0);
	char label[80];
	memset(label, 'a', 64);
	label[64] = '\0';
	UNIT_CHECK(dns_build_query(q, 1, label, DNS_TYPE_A) == 0);
}

static void mx_records_with_compression(void)
{
	uint8_t m[512];
	struct dns_reply r;
	size_t n = test_header(m, 0, 2, false);

	n += test_question(m + n, DNS_TYPE_MX);
	/* 10 mx1.example.test (compressed: "mx1" + pointer to offset 12). */
	const uint8_t mx1[] = { 0, 10, 3, 'm', 'x', '1', 0xC0, 0x0C };
	const uint8_t mx2[] = { 0, 5, 3, 'M', 'X', '2', 0xC0, 0x0C };
	n += test_answer(m + n, DNS_TYPE_MX, mx1, sizeof(mx1));
	n += test_answer(m + n, DNS_TYPE_MX, mx2, sizeof(mx2));
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) == 0);
	UNIT_CHECK(r.id == 0x1234 && r.rcode == 0 && !r.truncated && r.count == 2);
	UNIT_CHECK(r.records[0].preference == 10);
	UNIT_CHECK_STR(r.records[0].name, "mx1.example.test");
	UNIT_CHECK_STR(r.records[1].name, "mx2.example.test");
	/* Asked for A: the MX answers are not kept. */
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_A, &r) == 0 && r.count == 0);
}

static void a_aaaa_and_null_mx(void)
{
	uint8_t m[512];
	struct dns_reply r;
	const uint8_t v4[] = { 127, 0, 0, 1 };
	uint8_t v6[16] = { 0 };
	size_t n = test_header(m, 0, 2, false);

	v6[15] = 1;
	n += test_question(m + n, DNS_TYPE_A);
	n += test_answer(m + n, DNS_TYPE_A, v4, sizeof(v4));
	n += test_answer(m + n, DNS_TYPE_AAAA, v6, sizeof(v6));
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_A, &r) == 0 && r.count == 1);
	UNIT_CHECK(memcmp(r.records[0].addr, v4, 4) == 0);
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_AAAA, &r) == 0 && r.count == 1);
	UNIT_CHECK(r.records[0].addr[15] == 1);

	/* RFC 7505: "0 ." */
	n = test_header(m, 0, 1, false);
	n += test_question(m + n, DNS_TYPE_MX);
	const uint8_t null_mx[] = { 0, 0, 0 };
	n += test_answer(m + n, DNS_TYPE_MX, null_mx, sizeof(null_mx));
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) == 0 && r.count == 1);
	UNIT_CHECK_STR(r.records[0].name, "");
}

static void rcode_and_truncation(void)
{
	uint8_t m[512];
	struct dns_reply r;
	size_t n = test_header(m, 3, 0, false);

	n += test_question(m + n, DNS_TYPE_MX);
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) == 0 && r.rcode == 3 && r.count == 0);
	n = test_header(m, 0, 5, true); /* TC: the rest need not parse */
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) == 0 && r.truncated);
}

static void hostile_replies_are_refused(void)
{
	uint8_t m[512];
	struct dns_reply r;
	size_t n = test_header(m, 0, 1, false);

	/* Not a response (QR clear), too short. */
	m[2] = 0x01;
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) < 0);
	UNIT_CHECK(dns_parse_reply(m, 5, DNS_TYPE_MX, &r) < 0);
	/* A pointer to itself in the question. */
	n = test_header(m, 0, 0, false);
	m[n++] = 0xC0;
	m[n++] = 12;
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) < 0);
	/* An answer whose rdata runs past the end. */
	n = test_header(m, 0, 1, false);
	n += test_question(m + n, DNS_TYPE_A);
	const uint8_t v4[] = { 1, 2, 3, 4 };
	n += test_answer(m + n, DNS_TYPE_A, v4, sizeof(v4));
	UNIT_CHECK(dns_parse_reply(m, n - 1, DNS_TYPE_A, &r) < 0);
	/* A with 3 bytes of rdata. */
	n = test_header(m, 0, 1, false);
	n += test_question(m + n, DNS_TYPE_A);
	n += test_answer(m + n, DNS_TYPE_A, v4, 3);
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_A, &r) < 0);
	/* An MX name that runs past its rdata. */
	n = test_header(m, 0, 1, false);
	n += test_question(m + n, DNS_TYPE_MX);
	const uint8_t mx[] = { 0, 10, 3, 'm', 'x' };
	n += test_answer(m + n, DNS_TYPE_MX, mx, sizeof(mx));
	m[n++] = '1';
	m[n++] = 0;
	UNIT_CHECK(dns_parse_reply(m, n, DNS_TYPE_MX, &r) < 0);
}

static void resolver_address_from_the_key(void)
{
	struct dns_resolver r;
	const char *error = NULL;

	UNIT_CHECK(dns_resolver_init(&r, "127.0.0.1:5353", -1, &error) == 0);
	UNIT_CHECK(r.addr.ss_family == AF_INET);
	UNIT_CHECK(dns_resolver_init(&r, "[::1]:53", -1, &error) == 0);
	UNIT_CHECK(r.addr.ss_family == AF_INET6);
	UNIT_CHECK(dns_resolver_init(&r, NULL, -1, &error) == 0); /* resolv.conf or 127.0.0.1 */
}

int main(void)
{
	UNIT_RUN(query_is_well_formed);
	UNIT_RUN(mx_records_with_compression);
	UNIT_RUN(a_aaaa_and_null_mx);
	UNIT_RUN(rcode_and_truncation);
	UNIT_RUN(hostile_replies_are_refused);
	UNIT_RUN(resolver_address_from_the_key);
	return unit_finish();
}
