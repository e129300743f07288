#!/usr/bin/env python3
"""bench/foundation.py: the three figures of the foundation issue.

    python3 bench/foundation.py [--messages 10000] [--connections 1000]

Starts bin/buzon (the optimised build: run `make` first) on loopback with a
temporary data dir and measures, with Python's imaplib as the client:

  1. the time to APPEND N messages (~2 KB each, one connection, one APPEND
     per message, each acknowledged only after fsync);
  2. the time to FETCH 1:* (FLAGS ENVELOPE) over them;
  3. resident memory per idle logged-in connection: RSS of the server
     with C connections logged in and selected on a small INBOX (10
     messages), minus RSS before, divided by C (plain and TLS); measured
     before the big mailbox exists, since a selected view also costs
     32 bytes per message of the mailbox.

This is the foundation's smoke figure, not the comparison with Dovecot
that bench/compare will make (issue 7).
"""
import argparse
import imaplib
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import harness  # noqa: E402


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def make_message(i):
    body = ('Line %d of a benchmark message with some words to index.\r\n' % i) * 30
    return ('From: Bench <bench@example.test>\r\nTo: user@example.test\r\n'
            'Subject: benchmark message %d\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n'
            'Message-ID: <%d@bench.example.test>\r\n\r\n%s' % (i, i, body)).encode()


def bench_append_fetch(s, user, n):
    c = s.imap(user)
    # imaplib sends a literal and its closing CRLF in two writes; with
    # Nagle on, the second waits for the server's delayed ACK (40 ms).
    # Real clients write whole commands, so measure the server, not that.
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    for i in range(n):
        typ, _ = c.append('INBOX', None, None, make_message(i))
        assert typ == 'OK'
    t_append = time.monotonic() - t0
    c.select('INBOX')
    t0 = time.monotonic()
    typ, data = c.fetch('1:*', '(FLAGS ENVELOPE)')
    t_fetch = time.monotonic() - t0
    assert typ == 'OK' and len([d for d in data if d]) >= n
    c.logout()
    return t_append, t_fetch


def bench_idle_memory(s, user, count, tls):
    raise_fd_limit(count * 2 + 100)
    pid = s.proc.pid
    before = rss_kb(pid)
    conns = []
    for _ in range(count):
        c = s.imap(user, tls='implicit' if tls else 'plain')
        c.select('INBOX')
        conns.append(c)
    time.sleep(1)
    after = rss_kb(pid)
    for c in conns:
        try:
            c.logout()
        except Exception:
            pass
    return (after - before) / count


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--messages', type=int, default=10000)
    ap.add_argument('--connections', type=int, default=1000)
    args = ap.parse_args()
    os.environ.setdefault('BUZON', os.path.join(ROOT, 'bin', 'buzon'))
    user = 'bench@example.test'
    with harness.Server(accounts={user: 'benchpw', 'idle@example.test': 'idlepw'}) as s:
        c = s.imap('idle@example.test')
        for i in range(10):
            c.append('INBOX', None, None, make_message(i))
        c.logout()
        # warm up allocator and per-loop caches before measuring
        bench_idle_memory(s, 'idle@example.test', 50, False)
        plain = bench_idle_memory(s, 'idle@example.test', args.connections, False)
        print('RSS per idle logged-in connection (plain, %d conns): %.1f KB' %
              (args.connections, plain))
        tls = bench_idle_memory(s, 'idle@example.test', args.connections, True)
        print('RSS per idle logged-in connection (TLS, %d conns): %.1f KB' %
              (args.connections, tls))
        t_append, t_fetch = bench_append_fetch(s, user, args.messages)
        print('APPEND %d messages: %.2f s (%.0f msg/s)' % (args.messages, t_append,
                                                          args.messages / t_append))
        print('FETCH 1:* (FLAGS ENVELOPE) over %d: %.3f s' % (args.messages, t_fetch))


if __name__ == '__main__':
    main()
