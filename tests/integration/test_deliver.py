"""`buzon -c FILE deliver [-f SENDER] RCPT...`: a message on stdin into
local INBOXes, with sendmail's exit codes."""

import harness
from test_smtp import inbox

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ACCOUNTS = {ALICE: 'a pw', BOB: 'b pw'}

EX_USAGE, EX_DATAERR, EX_NOUSER = 64, 65, 67


def test_deliver_from_stdin_reaches_every_inbox_with_crlf():
    with harness.Server(accounts=ACCOUNTS, listeners=('imap',)) as s:
        r = s.cli('deliver', '-f', 'cron@example.test', ALICE, 'bob',
                  input='Subject: from cron\nTo: alice\n\nline one\nline two\n')
        assert r.returncode == 0, r.stderr
        for user in (ALICE, BOB):
            got = [m for m in inbox(s, user) if b'Subject: from cron' in m]
            assert len(got) == 1, (user, got)
            assert got[0].startswith(b'Return-Path: <cron@example.test>\r\nReceived: from local')
            assert got[0].endswith(b'\r\n\r\nline one\r\nline two\r\n'), got[0]


def test_deliver_unknown_user_delivers_nothing():
    with harness.Server(accounts=ACCOUNTS, listeners=('imap',)) as s:
        r = s.cli('deliver', ALICE, 'nobody@example.test', input='Subject: no\n\nx\n')
        assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)
        assert 'nobody@example.test' in r.stderr
        assert not [m for m in inbox(s, ALICE) if b'Subject: no' in m]


def test_deliver_usage_and_size_errors():
    with harness.Server(accounts=ACCOUNTS, listeners=('imap',),
                        config={'max_message_size': '1000'}) as s:
        assert s.cli('deliver', input='x').returncode == EX_USAGE
        assert s.cli('deliver', '-x', ALICE, input='x').returncode == EX_USAGE
        r = s.cli('deliver', ALICE, input='Subject: big\n\n' + 'x' * 5000)
        assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)


if __name__ == '__main__':
    harness.main()
