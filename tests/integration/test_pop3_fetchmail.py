"""POP3 with a real download client: fetchmail (Debian's) downloads and
deletes 1,000 messages from buzon's POP3, and an IMAP session then sees the
INBOX empty (issue 5). The messages are kept by fetchmail in a BSMTP file,
so we can check that every one of them arrived whole.
"""

import os
import re
import shutil
import subprocess
import time
import unittest

import harness

USER = 'fetch@example.test'
PASSWORD = 'fetch pw'
COUNT = 1000


def message(i):
    """A small message; every tenth has bare LF line ends and a line that
    starts with a dot, so sizes and stuffing are exercised on the way."""
    body = b'Subject: message %d\r\nMessage-ID: <m%d@example.test>\r\n\r\n' % (i, i)
    body += b'line %d\r\n' % i * 20
    if i % 10 == 0:
        body = body.replace(b'\r\n', b'\n') + b'.dot line\n'
    return body


def multiappend(s, user, messages):
    """All messages in one APPEND (RFC 3502 MULTIAPPEND, LITERAL+): one
    transaction, one fsync."""
    r = s.raw(user)
    tag = r.next_tag()
    parts = [('%s APPEND INBOX' % tag).encode()]
    for m in messages:
        parts.append(b' {%d+}\r\n' % len(m) + m)
    r.sock.sendall(b''.join(parts) + b'\r\n')
    _, tagged = r.read_until(tag, timeout=120)
    assert harness.status(tagged) == 'OK', tagged
    r.close()


def fetchmail_rc(path, port, bsmtp, keep):
    with open(path, 'w') as f:
        f.write('set no bouncemail\n'
                'set no syslog\n'
                'poll 127.0.0.1 service %d protocol POP3 auth password timeout 120\n'
                '  user "%s" there with password "%s" is "root" here\n'
                '  options fetchall %s sslproto \'\' bsmtp "%s" limit 0\n'
                % (port, USER, PASSWORD, 'keep' if keep else 'nokeep', bsmtp))
    os.chmod(path, 0o600)


def test_fetchmail_downloads_and_deletes_1000_messages():
    if shutil.which('fetchmail') is None:
        raise unittest.SkipTest('fetchmail is not installed (scripts/deps.sh)')
    with harness.Server(accounts={USER: PASSWORD}, listeners=('imap', 'pop3')) as s:
        messages = [message(i) for i in range(COUNT)]
        multiappend(s, USER, messages)
        rc = os.path.join(s.dir, 'fetchmailrc')
        bsmtp = os.path.join(s.dir, 'out.bsmtp')
        fetchmail_rc(rc, s.ports['pop3'], bsmtp, keep=False)
        env = dict(os.environ, HOME=s.dir, FETCHMAILHOME=s.dir)
        start = time.monotonic()
        r = subprocess.run(['fetchmail', '-f', rc, '--nodetach', '-v'], env=env,
                           capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - start
        # 0: mail was fetched.
        assert r.returncode == 0, (r.returncode, r.stdout[-3000:], r.stderr[-3000:])
        print('# fetchmail: %d messages downloaded and deleted in %.2f s'
              % (COUNT, elapsed))
        with open(bsmtp, 'rb') as f:
            out = f.read()
        # BSMTP: one MAIL FROM per message, bodies dot-stuffed as SMTP does.
        assert out.count(b'\r\nMAIL FROM:') + out.startswith(b'MAIL FROM:') == COUNT, \
            out.count(b'MAIL FROM:')
        for i in (0, 1, 10, 999):
            assert b'Message-ID: <m%d@example.test>' % i in out, i
        assert out.count(b'\r\n..dot line\r\n') == COUNT // 10
        c = s.imap(USER)
        typ, data = c.select('INBOX')
        assert data == [b'0'], data
        c.logout()
        # Everything went through QUIT and UPDATE.
        assert re.search(r'pop3: %s: %d messages deleted' % (re.escape(USER), COUNT), s.log())


if __name__ == '__main__':
    harness.main()
