"""Memory of a long IDLE: every update pushed into one IDLE command (new
mail, NOTIFY, SEARCH RETURN (UPDATE) contexts) used to allocate in the IDLE
command's arena, freed only at DONE, so a client idling for a week made the
server grow without bound. Each push now has an arena of its own, reset
after it (session.h, "Memory").

The check is on memory, never on time: the server's resident size, read
from /proc/PID/status, must not grow by more than a generous bound over
2,000 pushes into one IDLE (it grew by tens of MB before the fix).
"""

import os

import harness

USER = 'idler@example.test'
PUSHES = 2000
WARMUP = 300
# Generous: the view, the context's UIDs and SQLite's page cache grow
# a little with 2,000 messages; the old arena grew by a multiple of this.
GROWTH_LIMIT_KB = 16 * 1024

# AddressSanitizer keeps freed memory in a quarantine (256 MB by default),
# which would hide whether memory is freed at all: keep it small here.
os.environ['ASAN_OPTIONS'] = (os.environ.get('ASAN_OPTIONS', 'detect_leaks=1:halt_on_error=1')
                              + ':quarantine_size_mb=2')


def rss_kb(s):
    """VmRSS of the server process, in KB."""
    with open('/proc/%d/status' % s.proc.pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS in /proc/%d/status' % s.proc.pid)


def test_many_pushes_into_one_idle_keep_memory_bounded():
    with harness.Server(accounts={USER: 'pw'}, listeners=('imap',)) as s:
        w = s.raw(USER, timeout=60)
        a = s.raw(USER, timeout=60)
        w.ok('SELECT INBOX')
        w.ok('NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) '
             '(personal (MessageNew MessageExpunge))')
        _, tagged = w.ok('SEARCH RETURN (UPDATE (UID)) SUBJECT "push"')
        context_tag = tagged.split()[0]
        tag = w.next_tag()
        w.send('%s IDLE\r\n' % tag)
        assert w.line().startswith('+ '), 'no IDLE continuation'
        before = None
        for n in range(1, PUSHES + 1):
            a.append('INBOX', b'Subject: push %d\r\n\r\nbody %d\r\n' % (n, n))
            # every push is read before the next append: one push each
            while True:
                line = w.line()
                if line.startswith('* ESEARCH (TAG "%s") ADDTO' % context_tag) \
                        and line.endswith(' %d)' % n):
                    break
            if n == WARMUP:
                before = rss_kb(s)
        after = rss_kb(s)
        grown = after - before
        print('# VmRSS %d KB after %d pushes, %d KB after %d: grew %d KB'
              % (before, WARMUP, after, PUSHES, grown))
        assert grown < GROWTH_LIMIT_KB, \
            'the server grew by %d KB over %d pushes into one IDLE' % (grown, PUSHES - WARMUP)
        w.send('DONE\r\n')
        lines, tagged = w.read_until(tag)
        assert harness.status(tagged) == 'OK', tagged
        w.ok('LOGOUT')
        a.ok('LOGOUT')
        w.close()
        a.close()


if __name__ == '__main__':
    harness.main()
