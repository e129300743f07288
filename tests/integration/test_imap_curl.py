"""test_imap_curl: curl as the IMAP client (its imap:// and imaps:// URLs,
RFC 5092): listing folders, fetching a message byte-exact by UID in the
clear, over implicit TLS and after STARTTLS, searching, uploading (APPEND),
and the exit status curl gives for a wrong password.

One server for the module; each test has its own account."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

USERS = ('list', 'fetch', 'tls', 'starttls', 'search', 'upload', 'wrong')
ACCOUNTS = {'%s@example.test' % u: 'pw-%s' % u for u in USERS}

MESSAGE = (b'From: Fred Foobar <foobar@blurdybloop.example>\r\n'
           b'To: mooch@owatagu.example\r\n'
           b'Subject: afternoon meeting\r\n'
           b'Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n'
           b'Message-ID: <curl-1@example.test>\r\n'
           b'\r\n'
           b'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n'
           b'Trailing spaces stay:   \r\n'
           b'.\r\n'
           b'Bytes \xc3\xa9 too.\r\n')

# curl's exit status for "the remote server denied curl to login".
CURLE_LOGIN_DENIED = 67

server = harness.ModuleServer(accounts=ACCOUNTS)


def curl(*args, user=None, password=None, input=None):
    """Run curl (quiet, no proxy, 30 s limit); returns CompletedProcess with
    bytes output."""
    if shutil.which('curl') is None:
        raise unittest.SkipTest('curl is not installed')
    argv = ['curl', '-sS', '--noproxy', '*', '--max-time', '30']
    if user is not None:
        address = '%s@example.test' % user
        argv += ['-u', '%s:%s' % (address, password if password is not None
                                  else ACCOUNTS[address])]
    argv += list(args)
    return subprocess.run(argv, capture_output=True, input=input, timeout=60)


def url(scheme='imap', path=''):
    s = server()
    port = s.ports['imaps' if scheme == 'imaps' else 'imap']
    return '%s://127.0.0.1:%d/%s' % (scheme, port, path)


def append(user, box, data, flags='()'):
    """APPEND with imaplib; returns the UID from APPENDUID."""
    c = server().imap('%s@example.test' % user)
    typ, resp = c.append(box, flags, None, data)
    assert typ == 'OK', (typ, resp)
    m = re.match(rb'^\[APPENDUID \d+ (\d+)\]', resp[0])
    assert m, resp
    c.logout()
    return int(m.group(1))


def test_curl_lists_folders():
    r = curl(url(), user='list')
    assert r.returncode == 0, (r.returncode, r.stderr)
    # curl prints the untagged LIST lines of LIST "" *.
    names = set()
    for line in r.stdout.decode().splitlines():
        m = re.match(r'^\* LIST \(([^)]*)\) "/" "?([^"]*)"?$', line)
        assert m, line
        names.add(m.group(2))
    assert names == {'INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive'}, r.stdout
    assert re.search(r'^\* LIST \([^)]*\\Sent[^)]*\) "/" "?Sent"?\r?$', r.stdout.decode(),
                     re.M), r.stdout


def test_curl_fetches_a_message_byte_exact():
    uid = append('fetch', 'INBOX', MESSAGE)
    r = curl(url(path='INBOX;UID=%d' % uid), user='fetch')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == MESSAGE, r.stdout
    # A section: the body only (BODY[TEXT]).
    r = curl(url(path='INBOX;UID=%d;SECTION=TEXT' % uid), user='fetch')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == MESSAGE.split(b'\r\n\r\n', 1)[1], r.stdout
    # By sequence number (RFC 5092 has no MAILINDEX; curl maps it to FETCH n).
    r = curl(url(path='INBOX;MAILINDEX=1'), user='fetch')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == MESSAGE, r.stdout


def test_curl_imaps_fetches_byte_exact():
    uid = append('tls', 'INBOX', MESSAGE)
    r = curl('-k', url('imaps', 'INBOX;UID=%d' % uid), user='tls')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == MESSAGE, r.stdout
    r = curl('-k', url('imaps'), user='tls')
    assert r.returncode == 0 and b'INBOX' in r.stdout, (r.returncode, r.stderr, r.stdout)


def test_curl_starttls_with_ssl_reqd():
    uid = append('starttls', 'INBOX', MESSAGE)
    r = curl('-k', '--ssl-reqd', '-v', url(path='INBOX;UID=%d' % uid), user='starttls')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == MESSAGE, r.stdout
    # curl really did STARTTLS before logging in.
    log = r.stderr.decode(errors='replace')
    starttls = re.search(r'^> (A\d+) STARTTLS\r?$', log, re.M)
    assert starttls, log
    assert re.search(r'^< %s OK' % starttls.group(1), log, re.M), log
    handshake = log.index('SSL connection using')
    login = re.search(r'^> A\d+ (AUTHENTICATE|LOGIN) ', log, re.M)
    assert login and starttls.start() < handshake < login.start(), log


def test_curl_search():
    uids = [append('search', 'INBOX', MESSAGE.replace(b'afternoon', subject))
            for subject in (b'morning', b'evening', b'morning again')]
    r = curl(url(path='INBOX?SUBJECT%20morning'), user='search')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout.strip() == b'* SEARCH 1 3', r.stdout
    assert uids == sorted(uids)


def test_curl_upload_appends():
    with tempfile.NamedTemporaryFile(suffix='.eml', delete=False) as f:
        f.write(MESSAGE)
        path = f.name
    try:
        r = curl('-T', path, url(path='Drafts'), user='upload')
    finally:
        os.unlink(path)
    assert r.returncode == 0, (r.returncode, r.stderr)
    c = server().imap('upload@example.test')
    typ, data = c.select('Drafts', readonly=True)
    assert typ == 'OK' and data == [b'1'], (typ, data)
    typ, data = c.fetch('1', '(BODY.PEEK[])')
    assert typ == 'OK' and data[0][1] == MESSAGE, data
    c.logout()


def test_curl_wrong_password_fails_with_67():
    r = curl(url(), user='wrong', password='not-the-password')
    assert r.returncode == CURLE_LOGIN_DENIED, (r.returncode, r.stderr, r.stdout)
    assert r.stdout == b'', r.stdout


def test_server_stops_cleanly():
    """Last: SIGTERM the module's server; exit 0 and no sanitizer report."""
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
