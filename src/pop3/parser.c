/*
 * parser: POP3 line framing and command splitting (see parser.h).
 */
#include "pop3/parser.h"
#include "core/str.h"

#include <string.h>

void pop3_line_reader_init(struct pop3_line_reader *reader, size_t limit)
{
	reader->limit = limit;
	reader->skipping = false;
}

enum pop3_line_result pop3_line_read(struct pop3_line_reader *reader, struct buf *in,
				     struct buf *line)
{
	const char *lf = in->len > 0 ? memchr(in->data, '\n', in->len) : NULL;

	buf_clear(line);
	if (reader->skipping) {
		if (lf == NULL) {
			buf_consume(in, in->len);
			return POP3_LINE_NEED_MORE;
		}
		buf_consume(in, (size_t)(lf - in->data) + 1);
		reader->skipping = false;
		return pop3_line_read(reader, in, line);
	}
	if (lf == NULL) {
		if (in->len < reader->limit)
			return POP3_LINE_NEED_MORE;
		/* Over the limit with no end in sight: drop what we have and
		 * the rest of the line as it comes. */
		buf_consume(in, in->len);
		reader->skipping = true;
		return POP3_LINE_TOO_LONG;
	}
	size_t total = (size_t)(lf - in->data) + 1;
	if (total > reader->limit) {
		buf_consume(in, total);
		return POP3_LINE_TOO_LONG;
	}
	size_t len = total - 1;
	if (len > 0 && in->data[len - 1] == '\r')
		len--;
	buf_append(line, in->data, len);
	buf_consume(in, total);
	return POP3_LINE_COMPLETE;
}

int pop3_command_parse(const char *line, size_t len, struct pop3_command_line *cmd_r,
		       const char **error_r)
{
	size_t i = 0, k = 0;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->rest = "";
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)line[j];
		if (c < 0x20 || c == 0x7f) {
			*error_r = "Control characters in command";
			return -1;
		}
	}
	while (i < len && line[i] != ' ') {
		char c = line[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) || k == POP3_KEYWORD_MAX) {
			*error_r = "Unknown command";
			return -1;
		}
		cmd_r->keyword[k++] = (char)(c >= 'a' ? c - 'a' + 'A' : c);
		i++;
	}
	if (k == 0) {
		*error_r = len == 0 ? "Empty command" : "Unknown command";
		return -1;
	}
	cmd_r->keyword[k] = '\0';
	if (i < len)
		i++; /* the one space after the keyword */
	cmd_r->rest = line + i;
	cmd_r->rest_len = len - i;
	/* RFC 1939 §3: arguments are separated by a single space; be lenient
	 * about runs of spaces, a common client slip. */
	while (i < len) {
		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (cmd_r->arg_count == POP3_ARGS_MAX) {
			cmd_r->too_many_args = true;
			break;
		}
		cmd_r->args[cmd_r->arg_count] = line + start;
		cmd_r->arg_lens[cmd_r->arg_count] = i - start;
		cmd_r->arg_count++;
	}
	return 0;
}

int pop3_parse_number(const char *s, size_t len, uint32_t *value_r)
{
	return str_parse_u32(s, len, value_r);
}
