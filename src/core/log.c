/*
 * log: formats into a stack buffer and writes the line with a single write(2)
 * so that lines from several loop threads never interleave.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Set once by main before any thread starts; read-only afterwards. */
static atomic_int log_min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	atomic_store(&log_min_level, (int)level);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char line[2048];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	size_t n;
	int r;

	if ((int)level < atomic_load(&log_min_level))
		return;
	gmtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	r = snprintf(line + n, sizeof(line) - n, "%s ", names[level]);
	n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w; /* nowhere left to report a failed log write */
}
