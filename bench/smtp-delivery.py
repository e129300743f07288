#!/usr/bin/env python3
"""smtp-delivery: messages per second delivered over SMTP and over LMTP by
buzon, beside Postfix handing mail to Dovecot over LMTP and Dovecot's LMTP
alone, on the same machine (issue 4's closing figure).

    python3 bench/smtp-delivery.py [--messages 4000] [--runs 3] [--buzon bin/buzon]

The load is Postfix's own generator, smtp-source(1): 5 KB messages
(`-l 5120` payload plus its few header lines), one recipient each, to one
account, over 4 and 20 parallel sessions that stay connected (`-d`),
plain TCP on loopback. A run is --messages messages in all; every figure
is the best of --runs runs, after a warm-up run.

  buzon SMTP      the MX listener of bin/buzon (run `make` first: the
                  optimised build). Its 250 comes after the message is in
                  the INBOX and fsync'd (rule 1), so accepted = delivered.
  buzon LMTP      the lmtp listener, likewise.
  Postfix+Dovecot a private Postfix (its own config_directory and
                  queue_directory in a temp dir, `postfix -c DIR start`,
                  smtpd on a loopback port, Debian's stock settings
                  otherwise) with virtual_transport = lmtp:inet: to a
                  private Dovecot (its own base_dir, maildir under the temp
                  dir, mail_fsync = optimized, the default: a delivered
                  message is fsync'd before LMTP's 250). Postfix's 250
                  comes once the message is in its queue (fsync'd); the
                  delivered figure counts until the last message is a file
                  in the Maildir. Both are shown.
  Dovecot LMTP    the same Dovecot, smtp-source -L straight at its LMTP.

Every run checks that the mailbox grew by exactly --messages. Needs root
(Postfix's master runs as root and drops to the postfix user) and
`apt-get install postfix dovecot-lmtpd` (smtp-source is in postfix). Not
part of `make check`.
"""

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import harness  # noqa: E402  (Server, free ports)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (Postfix, wait_port)
from common import wait_port  # noqa: E402

USER = 'bench@example.test'
PASSWORD = 'bench pw'
SENDER = 'sender@elsewhere.test'
PAYLOAD = 5120


def smtp_source(port, sessions, count, lmtp=False):
    """Send count messages over sessions parallel connections; seconds."""
    argv = ['smtp-source', '-4', '-d', '-s', str(sessions), '-m', str(count),
            '-l', str(PAYLOAD), '-f', SENDER, '-t', USER, '-M', 'client.bench.test',
            '-S', 'bench']
    if lmtp:
        argv.append('-L')
    argv.append('127.0.0.1:%d' % port)
    start = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    elapsed = time.monotonic() - start
    if r.returncode != 0:
        raise SystemExit('%s failed (%d): %s' % (' '.join(argv), r.returncode,
                                                   (r.stdout + r.stderr)[-2000:]))
    return elapsed


# ---- buzon ------------------------------------------------------------------------

class Buzon:
    def __init__(self, binary):
        self.s = harness.Server(accounts={USER: PASSWORD}, listeners=('imap', 'smtp', 'lmtp'),
                                config={'log_level': 'warn'}, buzon=binary)
        self.s.__enter__()

    def count(self):
        c = self.s.imap(USER, timeout=60)
        typ, data = c.status('INBOX', '(MESSAGES)')
        c.logout()
        return int(data[0].decode().split('MESSAGES ')[1].rstrip(')'))

    def run(self, kind, sessions, count):
        before = self.count()
        t = smtp_source(self.s.ports[kind], sessions, count, lmtp=kind == 'lmtp')
        got = self.count() - before
        assert got == count, ('buzon', kind, got, count)
        return t

    def stop(self):
        self.s.stop()


# ---- Dovecot ----------------------------------------------------------------------

DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
instance_name = buzon-bench-lmtp-{port}
protocols = lmtp
listen = 127.0.0.1
ssl = no
default_internal_user = {user}
default_login_user = {user}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_fsync = optimized
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
  process_min_avail = 4
}}
"""


class Dovecot:
    def __init__(self):
        if shutil.which('dovecot') is None or not os.path.exists('/usr/lib/dovecot/lmtp'):
            raise SystemExit('dovecot-lmtpd is not installed')
        self.dir = tempfile.mkdtemp(prefix='dvl-')  # short: unix socket paths are limited
        os.chmod(self.dir, 0o755)
        who = pwd.getpwnam('nobody') if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        self.port = harness.free_ports(1)[0]
        home = os.path.join(self.dir, 'home', USER)
        os.makedirs(home)
        if os.getuid() == 0:
            os.chown(home, who.pw_uid, who.pw_gid)
        self.maildir = os.path.join(home, 'Maildir')
        with open(os.path.join(self.dir, 'passwd'), 'w') as f:
            f.write('%s:{PLAIN}%s::::::\n' % (USER, PASSWORD))
        self.conf = os.path.join(self.dir, 'dovecot.conf')
        with open(self.conf, 'w') as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, port=self.port, user=who.pw_name,
                                        uid=who.pw_uid, gid=who.pw_gid))
        self.proc = subprocess.Popen(['dovecot', '-F', '-c', self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def count(self):
        n = 0
        for sub in ('new', 'cur'):
            try:
                n += len(os.listdir(os.path.join(self.maildir, sub)))
            except FileNotFoundError:
                pass
        return n

    def run(self, sessions, count):
        before = self.count()
        t = smtp_source(self.port, sessions, count, lmtp=True)
        got = self.count() - before
        assert got == count, ('dovecot lmtp', got, count)
        return t

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- Postfix ----------------------------------------------------------------------

class Postfix(common.Postfix):
    """The private Postfix of bench/common.py, handing mail to Dovecot's LMTP."""

    def run(self, dovecot, sessions, count):
        """(seconds until every 250, seconds until every message is in the
        Maildir)."""
        before = dovecot.count()
        start = time.monotonic()
        accepted = smtp_source(self.port, sessions, count)
        deadline = time.monotonic() + 600
        while dovecot.count() < before + count:
            if time.monotonic() > deadline:
                raise SystemExit('Postfix delivered only %d of %d in 10 min:\n%s'
                                 % (dovecot.count() - before, count, self.log_tail()))
            time.sleep(0.005)
        delivered = time.monotonic() - start
        assert dovecot.count() == before + count
        return accepted, delivered


# ---- main ---------------------------------------------------------------------------

def best(f, runs):
    return min(f() for _ in range(runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--messages', type=int, default=4000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--sessions', default='4,20')
    ap.add_argument('--buzon', default=os.path.join(ROOT, 'bin', 'buzon'))
    args = ap.parse_args()
    if shutil.which('smtp-source') is None:
        raise SystemExit('smtp-source is not installed (it is in the postfix package)')
    sessions = [int(x) for x in args.sessions.split(',')]
    n = args.messages
    print('# %d messages of %d bytes payload per run, 1 recipient, 1 mailbox; '
          'best of %d runs; %d CPUs; loopback, no TLS'
          % (n, PAYLOAD, args.runs, os.cpu_count()))
    rows = []  # (what, sessions, buzon msg/s, reference name, reference msg/s)
    buzon = Buzon(os.path.abspath(args.buzon))
    dovecot = Dovecot()
    postfix = None
    blocked = None
    try:
        try:
            postfix = Postfix(dovecot.port)
        except (SystemExit, OSError, KeyError) as e:
            blocked = str(e)
        # Warm-up: page cache, first mailbox writes, process pools.
        buzon.run('smtp', 4, 200)
        buzon.run('lmtp', 4, 200)
        dovecot.run(4, 200)
        if postfix:
            postfix.run(dovecot, 4, 200)
        for s in sessions:
            b_smtp = best(lambda: buzon.run('smtp', s, n), args.runs)
            b_lmtp = best(lambda: buzon.run('lmtp', s, n), args.runs)
            d_lmtp = best(lambda: dovecot.run(s, n), args.runs)
            if postfix:
                runs = [postfix.run(dovecot, s, n) for _ in range(args.runs)]
                p_acc = min(r[0] for r in runs)
                p_del = min(r[1] for r in runs)
                rows.append(('SMTP, delivered', s, n / b_smtp, 'Postfix -> Dovecot LMTP',
                             n / p_del))
                rows.append(('SMTP, 250 received', s, n / b_smtp, 'Postfix (queued only)',
                             n / p_acc))
            else:
                rows.append(('SMTP, delivered', s, n / b_smtp, 'Postfix -> Dovecot LMTP',
                             None))
            rows.append(('LMTP, delivered', s, n / b_lmtp, 'Dovecot LMTP', n / d_lmtp))
    finally:
        if postfix:
            postfix.stop()
        dovecot.stop()
        buzon.stop()
    print('| what | sessions | buzon (msg/s) | reference | reference (msg/s) | buzon / reference |')
    print('|---|---:|---:|---|---:|---:|')
    for what, s, b, ref, r in rows:
        print('| %s | %d | %.0f | %s | %s | %s |'
              % (what, s, b, ref, '%.0f' % r if r else 'n/a', '%.2f' % (b / r) if r else 'n/a'))
    if blocked:
        print('# Postfix not measured: %s' % blocked)


if __name__ == '__main__':
    main()
