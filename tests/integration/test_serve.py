"""The server's life: SIGTERM while clients are busy (issue 2, point 3: "in
flight commands finish, nothing acknowledged is lost"), BYE to idle and
IDLE-ing clients, and a restart on the same data.
"""
import signal
import threading
import time

import harness
from harness import status

USER = 'alice@example.test'
PASSWORD = 'sigterm-pw'


def appender(s, marker, acked, stop):
    """APPEND numbered messages over LITERAL+ until the connection ends;
    record the numbers that got their tagged OK."""
    r = s.raw()
    try:
        _, tagged = r.cmd('LOGIN %s %s' % (USER, PASSWORD))
        if status(tagged) != 'OK':
            return
        n = 0
        while not stop.is_set():
            n += 1
            msg = b'Subject: %s-%d\r\n\r\nbody %s %d\r\n' % (marker.encode(), n,
                                                            marker.encode(), n)
            _, tagged = r.append('INBOX', msg, check=False)
            if status(tagged) != 'OK':
                return
            acked.append(n)
    except (EOFError, OSError):
        return
    finally:
        r.close()


def subjects_in_inbox(s):
    c = s.imap(USER, PASSWORD)
    c.select('INBOX', readonly=True)
    typ, data = c.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    c.logout()
    found = []
    for item in data:
        if isinstance(item, tuple):
            found.append(item[1].decode().split(':', 1)[1].strip())
    return found


def test_sigterm_during_appends_loses_nothing_acknowledged():
    with harness.Server(accounts={USER: PASSWORD}) as s:
        stop = threading.Event()
        acked = {k: [] for k in ('w1', 'w2', 'w3', 'w4')}
        threads = [threading.Thread(target=appender, args=(s, k, acked[k], stop))
                   for k in acked]
        for t in threads:
            t.start()
        time.sleep(1.0)
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=15) == 0, s.log_tail()
        stop.set()
        for t in threads:
            t.join(timeout=10)
        total = sum(len(v) for v in acked.values())
        assert total > 0, 'no APPEND was acknowledged before SIGTERM'
        s.start()
        found = subjects_in_inbox(s)
        for marker, numbers in acked.items():
            for n in numbers:
                assert found.count('%s-%d' % (marker, n)) == 1, (marker, n)
        # Nothing half-written: every stored message is one we sent whole.
        assert len(found) == len(set(found))


def test_sigterm_says_bye_to_idle_and_idling_clients():
    with harness.Server(accounts={USER: PASSWORD}) as s:
        sessions = []
        for idle in (False, True):
            r = s.raw(USER, PASSWORD)
            r.ok('SELECT INBOX')
            if idle:
                r.send('%s IDLE\r\n' % r.next_tag())
                assert r.line().startswith('+ ')
            sessions.append(r)
        s.proc.send_signal(signal.SIGTERM)
        for r in sessions:
            r.sock.settimeout(10)
            assert r.line() == '* BYE Server shutting down'
            assert r.at_eof(timeout=10, reset_is_eof=False)  # then the server closes
            r.close()
        assert s.proc.wait(timeout=15) == 0, s.log_tail()
        s.start()
        c = s.imap(USER, PASSWORD)
        assert c.select('INBOX')[0] == 'OK'
        c.logout()


if __name__ == '__main__':
    harness.main()
