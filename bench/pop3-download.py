#!/usr/bin/env python3
"""pop3-download: time a POP3 download of the same 1,000 messages from buzon
and from Dovecot's POP3 (Debian's dovecot-pop3d), side by side, on loopback.

    python3 bench/pop3-download.py [--count 1000] [--runs 3] [--buzon bin/buzon]

Each server runs from a temporary directory with a temporary config and
holds the same messages (buzon: stored with IMAP MULTIAPPEND; Dovecot: a
Maildir written directly). Then, against each in turn:

  fetchmail keep   fetchmail -f RC (fetchall, keep, BSMTP to a file): the
                   download as a user's client does it; run --runs times,
                   the first run is the cold one (both servers count sizes)
  poplib RETR      Python poplib: USER/PASS, STAT, LIST, RETR of every
                   message, QUIT; --runs times
  fetchmail delete one last fetchmail run with nokeep (DELE + QUIT/UPDATE),
                   then we check that the maildrop is empty

Plain POP3 on loopback for both (no TLS), so the figures are the servers'
work, not the cipher's. Dovecot is bench/common.py's private instance (as
bench/compare runs it) with POP3 added. Not part of `make check`. Needs
root, fetchmail and Dovecot (apt-get install fetchmail dovecot-imapd
dovecot-lmtpd dovecot-pop3d).
"""

import argparse
import os
import poplib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the private Dovecot)
from common import harness  # noqa: E402  (Server)

ROOT = common.ROOT

USER = 'bench@example.test'
PASSWORD = 'bench pw'


def message(i):
    """About 4 KB of plain text, a few with bare LF line ends and dot lines:
    the same bytes go to both servers."""
    head = (b'From: Sender %d <sender%d@example.test>\r\nTo: <%s>\r\n'
            b'Subject: benchmark message %d\r\nMessage-ID: <bench%d@example.test>\r\n'
            b'Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\n' % (i, i, USER.encode(), i, i))
    line = b'The quick brown fox jumps over the lazy dog, message %06d.\r\n' % i
    body = line * (40 + i % 40)
    if i % 10 == 0:
        return (head + body).replace(b'\r\n', b'\n') + b'.a line starting with a dot\n'
    return head + body


# ---- buzon ------------------------------------------------------------------------

def start_buzon(binary, messages):
    s = harness.Server(accounts={USER: PASSWORD}, listeners=('imap', 'pop3'),
                       config={'log_level': 'warn'}, buzon=binary)
    s.__enter__()
    r = s.raw(USER)
    tag = r.next_tag()
    parts = [('%s APPEND INBOX' % tag).encode()]
    for m in messages:
        parts.append(b' {%d+}\r\n' % len(m) + m)
    r.sock.sendall(b''.join(parts) + b'\r\n')
    _, tagged = r.read_until(tag, timeout=300)
    assert harness.status(tagged) == 'OK', tagged
    r.close()
    return s, s.ports['pop3']


# ---- Dovecot ----------------------------------------------------------------------

def start_dovecot(messages):
    """bench/common.py's private Dovecot with POP3, the messages put
    straight into the Maildir (cur/)."""
    d = common.Dovecot([USER], PASSWORD, name='dovecot', pop3=True)
    d.maildir_fill(USER, messages)
    return d


# ---- the clients --------------------------------------------------------------------

def fetchmail(port, keep, work):
    rc = os.path.join(work, 'fetchmailrc-%d' % port)
    out = os.path.join(work, 'out-%d.bsmtp' % port)
    with open(rc, 'w') as f:
        f.write('set no bouncemail\nset no syslog\n'
                'poll 127.0.0.1 service %d protocol POP3 auth password timeout 300\n'
                '  user "%s" there with password "%s" is "root" here\n'
                '  options fetchall %s sslproto \'\' bsmtp "%s" limit 0\n'
                % (port, USER, PASSWORD, 'keep' if keep else 'nokeep', out))
    os.chmod(rc, 0o600)
    if os.path.exists(out):
        os.unlink(out)
    env = dict(os.environ, HOME=work, FETCHMAILHOME=work)
    start = time.monotonic()
    r = subprocess.run(['fetchmail', '-f', rc, '--nodetach'], env=env, capture_output=True,
                       text=True, timeout=600)
    elapsed = time.monotonic() - start
    if r.returncode != 0:
        raise SystemExit('fetchmail on port %d failed (%d): %s' % (port, r.returncode,
                                                                   r.stderr[-2000:]))
    with open(out, 'rb') as f:
        got = f.read().count(b'MAIL FROM:')
    return elapsed, got


def poplib_download(port):
    start = time.monotonic()
    p = poplib.POP3('127.0.0.1', port, timeout=60)
    p.user(USER)
    p.pass_(PASSWORD)
    count, octets = p.stat()
    p.list()
    got = 0
    for n in range(1, count + 1):
        got += p.retr(n)[2]
    p.quit()
    return time.monotonic() - start, count, octets, got


def maildrop_count(port):
    p = poplib.POP3('127.0.0.1', port, timeout=60)
    p.user(USER)
    p.pass_(PASSWORD)
    n = p.stat()[0]
    p.quit()
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--buzon', default=os.path.join(ROOT, 'bin', 'buzon'))
    args = ap.parse_args()
    if shutil.which('fetchmail') is None:
        raise SystemExit('fetchmail is not installed')
    messages = [message(i) for i in range(args.count)]
    print('# %d messages, %d bytes stored; loopback, plain POP3; %d CPUs'
          % (args.count, sum(len(m) for m in messages), os.cpu_count()))
    work = tempfile.mkdtemp(prefix='pop3-bench-')
    buzon, bport = start_buzon(os.path.abspath(args.buzon), messages)
    dovecot = start_dovecot(messages)
    dport = dovecot.pop3_port
    results = {}
    try:
        for name, port in (('buzon', bport), ('dovecot', dport)):
            rows = results.setdefault(name, {})
            for run in range(args.runs):
                t, got = fetchmail(port, True, work)
                assert got == args.count, (name, got)
                rows.setdefault('fetchmail keep', []).append(t)
            for run in range(args.runs):
                t, count, octets, got = poplib_download(port)
                assert count == args.count, (name, count)
                rows.setdefault('poplib RETR', []).append(t)
                rows['octets'] = octets
            t, got = fetchmail(port, False, work)
            assert got == args.count, (name, got)
            rows['fetchmail delete'] = [t]
            left = maildrop_count(port)
            assert left == 0, (name, left)
        print('# STAT octets: buzon %d, dovecot %d' % (results['buzon']['octets'],
                                                      results['dovecot']['octets']))
        print('%-18s %-28s %-28s %s' % ('what', 'buzon (s)', 'dovecot (s)',
                                         'dovecot/buzon (best)'))
        for what in ('fetchmail keep', 'poplib RETR', 'fetchmail delete'):
            b, d = results['buzon'][what], results['dovecot'][what]
            print('%-18s %-28s %-28s %.2f' % (what, ' '.join('%.3f' % x for x in b),
                                               ' '.join('%.3f' % x for x in d),
                                               min(d) / min(b)))
    finally:
        dovecot.stop()
        buzon.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
