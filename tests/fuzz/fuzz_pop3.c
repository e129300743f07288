/*
 * fuzz_pop3: libFuzzer target for the POP3 input side: the line reader
 * (RFC 2449's limit, over-long lines skipped across chunks) on input cut
 * into chunks, the command splitter and number parser on every line, and
 * the RETR/TOP encoder on the raw bytes, whose count must match what it
 * writes minus the stuffing dots. Nothing here may crash, hang or leak.
 */
#include "core/buf.h"
#include "pop3/encode.h"
#include "pop3/parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_line(const char *line, size_t len)
{
	struct pop3_command_line cmd;
	const char *error;
	uint32_t n;

	if (pop3_command_parse(line, len, &cmd, &error) < 0)
		return;
	for (size_t i = 0; i < cmd.arg_count; i++)
		(void)pop3_parse_number(cmd.args[i], cmd.arg_lens[i], &n);
}

static void fuzz_encoder(const uint8_t *data, size_t size)
{
	struct pop3_encoder e, count;
	struct buf out = BUF_INIT;
	bool top = size > 0 && (data[0] & 1);
	uint64_t lines = size > 1 ? data[1] % 8 : 0;
	uint64_t dots = 0;
	bool start = true;

	pop3_encoder_init(&e, top, lines);
	pop3_encoder_init(&count, top, lines);
	for (size_t i = 0; i < size; i += 13) {
		size_t n = size - i < 13 ? size - i : 13;
		pop3_encoder_feed(&e, (const char *)data + i, n, &out);
		pop3_encoder_feed(&count, (const char *)data + i, n, NULL);
	}
	pop3_encoder_finish(&e, &out);
	pop3_encoder_finish(&count, NULL);
	/* Every line of the output ends in CRLF; a stuffed dot is not counted. */
	for (size_t i = 0; i < out.len; i++) {
		if (start && out.data[i] == '.')
			dots++;
		if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r'))
			abort();
		start = out.data[i] == '\n';
	}
	if (out.len > 0 && (out.len < 2 || memcmp(out.data + out.len - 2, "\r\n", 2) != 0))
		abort();
	if (e.octets != count.octets || e.octets + dots != out.len)
		abort();
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_line_reader reader;
	struct buf in = BUF_INIT, line = BUF_INIT;
	size_t chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;

	pop3_line_reader_init(&reader, size > 0 && (data[0] & 0x80) ? POP3_SASL_LINE_MAX :
					POP3_COMMAND_MAX);
	for (size_t i = 0; i < size; i += chunk) {
		buf_append(&in, data + i, size - i < chunk ? size - i : chunk);
		for (;;) {
			enum pop3_line_result r = pop3_line_read(&reader, &in, &line);
			if (r == POP3_LINE_NEED_MORE)
				break;
			if (r == POP3_LINE_COMPLETE)
				fuzz_line(line.data, line.len);
		}
		if (in.len >= POP3_SASL_LINE_MAX + 1)
			abort(); /* the reader must never let input pile up */
	}
	buf_free(&in);
	buf_free(&line);
	fuzz_encoder(data, size);
	return 0;
}
