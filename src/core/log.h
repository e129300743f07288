/*
 * log: one line per event on stderr, "time level message".
 *
 * The format is stable and greppable (fail2ban reads the auth failures):
 *   2026-11-23T12:00:00Z info imap: login alice@example.test from 127.0.0.1
 * Thread-safe: each call writes one line with one write(2).
 */
#ifndef BUZON_CORE_LOG_H
#define BUZON_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below level are dropped. Called once by main before threads start. */
void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
