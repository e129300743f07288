"""common: what the benchmarks in bench/ share -- starting the reference
servers (a private Dovecot, a private Postfix handing mail to it over LMTP)
on loopback in temporary folders, waiting for ports, and reading the CPU
time and memory of a server's process tree.

Used by bench/compare, bench/smtp-delivery.py, bench/imap-search.py and
bench/pop3-download.py. Needs root for Postfix (its master drops to the
postfix user) and for the Dovecot mail user;
`apt-get install dovecot-imapd dovecot-lmtpd dovecot-pop3d postfix`.
"""

import grp
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
import harness  # noqa: E402  (Server, free_ports)


def wait_port(port, timeout=20.0):
    """Until 127.0.0.1:port accepts (OSError after timeout seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---- processes: CPU and memory -------------------------------------------------------

CLK_TCK = os.sysconf('SC_CLK_TCK')


def process_tree(pid):
    """pid and all its descendants (those alive now)."""
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(name))
        except (OSError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid):
    """User + system CPU seconds of the tree under pid, counting children
    that already exited and were reaped (cutime/cstime of their parents)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open('/proc/%d/stat' % p) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError):
            pass
    return total / CLK_TCK


def memory_kb(pid):
    """(RSS, PSS) in KB summed over the tree under pid. PSS shares each
    shared page among the processes that map it, so a server of many
    processes is not charged its shared libraries once per process."""
    rss = pss = 0
    for p in process_tree(pid):
        try:
            with open('/proc/%d/smaps_rollup' % p) as f:
                for line in f:
                    if line.startswith('Rss:'):
                        rss += int(line.split()[1])
                    elif line.startswith('Pss:'):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def memory_anon_kb(pid):
    """Anonymous and shared-memory PSS in KB summed over the tree under pid
    (Pss_Anon + Pss_Shmem of smaps_rollup): what connections cost (heaps,
    buffers, a process's private pages), without file-backed pages. Those
    are left out because a shared library's PSS changes whenever ANY other
    process maps or unmaps it: starting the load generator (it maps libc
    and libssl too) lowered buzon's PSS by megabytes, which is why the
    memory per connection once came out negative."""
    total = 0
    for p in process_tree(pid):
        try:
            with open('/proc/%d/smaps_rollup' % p) as f:
                for line in f:
                    if line.startswith('Pss_Anon:') or line.startswith('Pss_Shmem:'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


# ---- accounts --------------------------------------------------------------------------

def write_passwd(path, users, password):
    """A Dovecot passwd-file with one SHA512-CRYPT hash for all users: both
    servers pay the same hashing cost per login, and buzon imports the same
    file (`buzon user import`)."""
    import crypt  # deprecated in 3.11, present in Debian 12's Python
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    with open(path, 'w') as f:
        for u in users:
            f.write('%s:{SHA512-CRYPT}%s::::::\n' % (u, hashed))


def self_signed(directory):
    """(cert, key) paths of a new self-signed pair for localhost."""
    cert = os.path.join(directory, 'cert.pem')
    key = os.path.join(directory, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=localhost', '-keyout', key, '-out', cert],
                   check=True, capture_output=True)
    return cert, key


# ---- Dovecot ---------------------------------------------------------------------------

DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
instance_name = buzon-bench-{imap_port}
protocols = {protocols}
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {user}
default_login_user = {user}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
# Durable: a delivered or appended message is fsync'd before the reply
# (Dovecot's default, "optimized", does that; it skips only index fsyncs).
mail_fsync = optimized
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
# Capacity, not tuning: room for the connection counts the benchmark opens
# (the shipped limits refuse more than 1000 imap processes and more than 10
# connections of one user from one address).
default_process_limit = {limit}
default_client_limit = {limit}
protocol imap {{
  mail_max_userip_connections = {limit}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
{login_tuning}}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
{pop3_service}{tuning}
"""

# With pop3=True (bench/pop3-download.py): Dovecot's POP3 too, plain.
DOVECOT_POP3 = """\
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""

# What Dovecot's documentation and its experts recommend for many users
# (doc: "Login processes", "High-performance mode"; "imap_hibernate_timeout"):
# login processes that serve many connections each instead of one process
# per login, and idle IMAP connections handed to imap-hibernate.
DOVECOT_LOGIN_TUNING = """\
  service_count = 0
  process_min_avail = {cpus}
  vsz_limit = 1G
"""

DOVECOT_TUNING = """\
imap_hibernate_timeout = 5s
service imap-hibernate {{
  unix_listener imap-hibernate {{
    mode = 0660
    user = {user}
  }}
}}
service imap {{
  unix_listener imap-master {{
    user = {user}
  }}
}}
"""


class Dovecot:
    """A private Dovecot: IMAP, IMAPS and LMTP on loopback, passwd-file
    accounts, Maildir under a temporary folder. tuned: the settings above.
    pop3: plain POP3 too (pop3_port)."""

    def __init__(self, users, password, tuned=False, limit=20000, name=None, pop3=False):
        needs = ['/usr/lib/dovecot/imap', '/usr/lib/dovecot/lmtp']
        if pop3:
            needs.append('/usr/lib/dovecot/pop3')
        for need in needs:
            if shutil.which('dovecot') is None or not os.path.exists(need):
                raise SystemExit('dovecot is not installed (apt-get install dovecot-imapd '
                                 'dovecot-lmtpd%s)' % (' dovecot-pop3d' if pop3 else ''))
        self.name = name or ('dovecot-tuned' if tuned else 'dovecot')
        self.users = list(users)
        self.dir = tempfile.mkdtemp(prefix='dvb-')  # short: unix socket paths are limited
        os.chmod(self.dir, 0o755)
        who = pwd.getpwnam('nobody') if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        self.uid, self.gid = who.pw_uid, who.pw_gid
        self.imap_port, self.imaps_port, self.lmtp_port, pop3_port = harness.free_ports(4)
        self.pop3_port = pop3_port if pop3 else None
        os.makedirs(os.path.join(self.dir, 'home'))
        if os.getuid() == 0:
            os.chown(os.path.join(self.dir, 'home'), self.uid, self.gid)
        write_passwd(os.path.join(self.dir, 'passwd'), self.users, password)
        cert, key = self_signed(self.dir)
        cpus = os.cpu_count() or 1
        values = dict(dir=self.dir, imap_port=self.imap_port, imaps_port=self.imaps_port,
                      lmtp_port=self.lmtp_port, user=who.pw_name, uid=self.uid, gid=self.gid,
                      cert=cert, key=key, limit=limit, cpus=cpus, pop3_port=pop3_port,
                      protocols='imap lmtp pop3' if pop3 else 'imap lmtp')
        values['pop3_service'] = DOVECOT_POP3.format(**values) if pop3 else ''
        values['login_tuning'] = DOVECOT_LOGIN_TUNING.format(**values) if tuned else ''
        values['tuning'] = DOVECOT_TUNING.format(**values) if tuned else ''
        self.conf = os.path.join(self.dir, 'dovecot.conf')
        with open(self.conf, 'w') as f:
            f.write(DOVECOT_CONF.format(**values))
        self.proc = subprocess.Popen(['dovecot', '-F', '-c', self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for port in (self.imap_port, self.imaps_port, self.lmtp_port, self.pop3_port):
            if port is not None:
                wait_port(port)

    @property
    def pid(self):
        return self.proc.pid

    def maildir_fill(self, user, messages):
        """Put messages (bytes) straight into user's Maildir, as files in
        cur/ owned by the mail user: a bulk load without delivery."""
        maildir = os.path.join(self.dir, 'home', user, 'Maildir')
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        now = int(time.time())
        for i, m in enumerate(messages):
            with open(os.path.join(maildir, 'cur', '%d.M%dP1.bench:2,' % (now, i)), 'wb') as f:
                f.write(m)
        if os.getuid() == 0:
            home = os.path.join(self.dir, 'home', user)
            for base, dirs, files in os.walk(home):
                for name in dirs + files + ['']:
                    os.chown(os.path.join(base, name), self.uid, self.gid)

    def maildir_count(self, user=None):
        """Messages in the INBOX Maildirs (of one user, or of all)."""
        n = 0
        for u in [user] if user else self.users:
            for sub in ('new', 'cur'):
                try:
                    n += len(os.listdir(os.path.join(self.dir, 'home', u, 'Maildir', sub)))
                except FileNotFoundError:
                    pass
        return n

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, 'dovecot.log'), errors='replace') as f:
                return '\n'.join(f.read().splitlines()[-lines:])
        except FileNotFoundError:
            return ''

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- Postfix ---------------------------------------------------------------------------

POSTFIX_MAIN = """\
compatibility_level = 3.6
config_directory = {dir}/etc
queue_directory = {dir}/spool
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.bench.test
mydomain = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP
biff = no
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
virtual_mailbox_domains = example.test
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
"""

# Debian's master.cf, less what is not used, with no chroot (the queue
# directory is private) and smtpd on our port.
POSTFIX_MASTER = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A private Postfix (own config_directory and queue_directory, `postfix
    -c DIR start`, Debian's stock settings otherwise) whose smtpd on a
    loopback port hands every message for example.test to an LMTP port."""

    def __init__(self, lmtp_port):
        if shutil.which('postfix') is None:
            raise SystemExit('postfix is not installed')
        if os.getuid() != 0:
            raise SystemExit('a private Postfix needs root (its master drops to postfix)')
        pwd.getpwnam('postfix')
        grp.getgrnam('postdrop')
        self.dir = tempfile.mkdtemp(prefix='pfx-')
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, 'etc')
        os.makedirs(self.etc)
        for sub in ('spool', 'data'):
            os.makedirs(os.path.join(self.dir, sub))
        self.port = harness.free_ports(1)[0]
        with open(os.path.join(self.etc, 'main.cf'), 'w') as f:
            f.write(POSTFIX_MAIN.format(dir=self.dir, lmtp_port=lmtp_port))
        with open(os.path.join(self.etc, 'master.cf'), 'w') as f:
            f.write(POSTFIX_MASTER.format(port=self.port))
        pf = pwd.getpwnam('postfix')
        os.chown(os.path.join(self.dir, 'data'), pf.pw_uid, pf.pw_gid)
        self.postfix('check')
        self.postfix('start')
        wait_port(self.port)

    def postfix(self, *args):
        r = subprocess.run(['postfix', '-c', self.etc] + list(args), capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit('postfix -c %s %s failed (%d): %s\n%s'
                             % (self.etc, ' '.join(args), r.returncode, r.stdout + r.stderr,
                                self.log_tail()))
        return r

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, 'maillog'), errors='replace') as f:
                return '\n'.join(f.read().splitlines()[-20:])
        except FileNotFoundError:
            return ''

    def stop(self):
        try:
            self.postfix('stop')
        finally:
            time.sleep(0.5)
            shutil.rmtree(self.dir, ignore_errors=True)
