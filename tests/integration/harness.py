"""harness: start a real buzon for integration tests, and run the tests.

Standard library only. A test file looks like this:

    import harness

    def test_login_works():
        with harness.Server(accounts={'alice@example.test': 'pw'}) as s:
            c = s.imap('alice@example.test')          # logged in, plain IMAP
            c.select('INBOX')
            c.logout()

    if __name__ == '__main__':
        harness.main()

Server() writes a config into a fresh temporary directory (data_dir inside
it, imap and imaps on free loopback ports), creates the accounts with
`buzon user add` (password on stdin), starts `buzon serve` with its stderr in
a log file, and waits until every listener accepts (at most 5 s). Leaving the
`with` block sends SIGTERM and fails the test unless the server exits with
status 0 and its log holds no AddressSanitizer / UBSan / LeakSanitizer
report. Every CLI call is checked for sanitizer reports the same way.

The binary is $BUZON (make check sets build/san/bin/buzon), else bin/buzon.
With BUZON_STORE=postgres every Server gets `store = postgres` and the
`postgres_url` of a fresh database (dropped when the server's folder is
removed) on a real PostgreSQL (pgserver.py): the one BUZON_PG_URL names
(make check starts one for the whole run), else one started for this test
process. When PostgreSQL cannot be started, the tests skip, saying why. A
config that sets `store` itself is left alone (pg_database() gives a test
its own database, e.g. for two servers sharing one).
Set BUZON_KEEP=1 to keep the temporary directories (always kept, and named
on stderr, when a server misbehaved).

For speaking IMAP by hand (every line and its order visible):

    r = s.raw('alice@example.test')      # a Raw connection, logged in
    untagged, tagged = r.cmd('SELECT INBOX')
    assert harness.status(tagged) == 'OK'
    untagged, tagged = r.ok('NOOP')       # cmd() that must end in OK
    r.append('INBOX', b'Subject: x\r\n\r\nbody\r\n', flags='\\Seen')
    r.close()

Raw: line() reads one response (a line plus the literals it announces),
cmd()/ok()/read_until() collect the untagged lines up to the tagged one,
append() does APPEND (LITERAL+ or a synchronizing literal), starttls() and
at_eof() cover the rest. quote(), status(), appenduid(), parse_value() and
parse_values() are the small helpers that go with it.

A module whose tests share one server (each test on its own account, say):

    server = harness.ModuleServer(accounts=ACCOUNTS)   # started on first use

    def test_something():
        r = server().raw('alice@example.test')
        ...

    def test_server_stops_cleanly():                   # last in the file
        server()
        server.stop()

server() fails at once, saying why, when the server died in an earlier
test; it is stopped (and checked) at exit if no test did it.

main() runs the test_* functions and unittest.TestCase classes of the
calling module in source order and prints one line per test, like the C unit
tests: "ok NAME", "FAIL NAME: reason" (then the traceback, indented) or
"skip NAME: reason". scripts/check.sh counts those lines. Arguments filter
tests by substring: python3 tests/integration/test_cli.py usage
"""

import atexit
import ctypes
import imaplib
import inspect
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

import pgserver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Lines a sanitizer prints; any of them in a log fails the test.
SANITIZER_MARKERS = (
    'ERROR: AddressSanitizer',
    'ERROR: LeakSanitizer',
    'runtime error:',
    'SUMMARY: UndefinedBehaviorSanitizer',
    'ERROR: ThreadSanitizer',
)

# DESIGN.md: all listeners accept connections within 5 s of start.
START_TIMEOUT = 5.0
# A clean stop after SIGTERM; generous because LeakSanitizer's exit scan is slow.
STOP_TIMEOUT = 15.0
# One CLI call (user add hashes a password: tens of ms; sanitizers slow it).
CLI_TIMEOUT = 30.0
# Network reads by test clients.
CLIENT_TIMEOUT = 10.0

DEFAULT_DOMAIN = 'example.test'

# The store back end every Server uses: 'sqlite' (default) or 'postgres'.
STORE = os.environ.get('BUZON_STORE', 'sqlite')

_pg = None
_pg_databases = 0


def pg_server():
    """The PostgreSQL the tests use (pgserver.PgServer, started on first use
    and stopped at exit unless BUZON_PG_URL names a running one); raises
    unittest.SkipTest saying why when PostgreSQL cannot be started."""
    global _pg
    if _pg is None:
        try:
            srv = pgserver.PgServer(os.environ.get('BUZON_PG_URL') or None)
            srv.start()
        except (pgserver.PgUnavailable, OSError, subprocess.SubprocessError) as e:
            raise unittest.SkipTest('PostgreSQL unavailable: %s' % e)
        atexit.register(srv.stop)
        _pg = srv
    return _pg


def pg_database():
    """(name, postgres_url) of a new empty database; drop it with
    pg_server().drop_database(name)."""
    global _pg_databases
    srv = pg_server()
    _pg_databases += 1
    name = 'buzon_%d_%d' % (os.getpid(), _pg_databases)
    return name, srv.create_database(name)


def sqlite_only(why):
    """Skip the calling test under BUZON_STORE=postgres (why: what it does
    that only the SQLite store has)."""
    if STORE == 'postgres':
        raise unittest.SkipTest('SQLite store only: %s' % why)


def buzon_path():
    """The binary under test, as an absolute path."""
    path = os.environ.get('BUZON') or os.path.join(ROOT, 'bin', 'buzon')
    return os.path.abspath(path)


def sanitizer_env():
    """The environment for buzon: sanitizer reports go to stderr and stop
    the process, unless the caller already chose options."""
    env = dict(os.environ)
    env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:halt_on_error=1:abort_on_error=0:'
                   'strict_string_checks=1')
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
    env.setdefault('LSAN_OPTIONS', 'print_suppressions=0')
    return env


def sanitizer_report(text):
    """The first sanitizer line in text, or None."""
    for line in text.splitlines():
        if any(marker in line for marker in SANITIZER_MARKERS):
            return line.strip()
    return None


def free_ports(count, host='127.0.0.1'):
    """count distinct ports that were free a moment ago (bound to port 0 all
    at once so they differ)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def unverified_ssl_context():
    """TLS client context that accepts the server's self-signed certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _die_with_parent():
    """preexec_fn: the server gets SIGTERM if the test process dies, so a
    killed test run leaves no server holding ports."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:
        pass


class ServerError(AssertionError):
    """The server or a CLI call misbehaved (a test failure, not a test bug)."""


class Server:
    """One buzon on loopback with its own data directory.

    accounts:  {address: password} created before the server starts.
    domains:   the `domains` key (default: example.test plus the domains of
               the accounts).
    config:    {key: value} added to (or replacing) the generated config.
    listeners: which listeners get a free loopback port.
    serve:     False to only write the config and create accounts (CLI tests).
    """

    def __init__(self, accounts=None, domains=None, config=None,
                 listeners=('imap', 'imaps'), serve=True, buzon=None):
        # First, as it may skip the test (PostgreSQL unavailable).
        self.pg_database = None
        config = dict(config or {})
        if STORE == 'postgres' and 'store' not in config:
            self.pg_database, url = pg_database()
            config['store'] = 'postgres'
            config['postgres_url'] = url
        self.buzon = buzon or buzon_path()
        self.host = '127.0.0.1'
        self.accounts = {}
        self._pending_accounts = dict(accounts or {})
        self.listeners = tuple(listeners)
        self.serve = serve
        self.dir = tempfile.mkdtemp(prefix='buzon-test-')
        self.data_dir = os.path.join(self.dir, 'data')
        self.config_path = os.path.join(self.dir, 'buzon.conf')
        self.log_path = os.path.join(self.dir, 'server.log')
        self.ports = dict(zip(self.listeners, free_ports(len(self.listeners), self.host)))
        self.proc = None
        self._log_file = None
        self._keep = bool(os.environ.get('BUZON_KEEP'))
        self._write_config(domains, config)

    # ---- setup ---------------------------------------------------------

    def _write_config(self, domains, extra):
        if domains is None:
            found = {a.rsplit('@', 1)[1].lower() for a in self._pending_accounts if '@' in a}
            domains = [DEFAULT_DOMAIN] + sorted(found - {DEFAULT_DOMAIN})
        keys = {
            'data_dir': self.data_dir,
            'hostname': 'localhost',
            'domains': ', '.join(domains),
            'log_level': 'debug',
        }
        for name, port in self.ports.items():
            keys[name] = '%s:%d' % (self.host, port)
        keys.update(extra)
        with open(self.config_path, 'w') as f:
            f.write('# written by tests/integration/harness.py\n')
            for key, value in keys.items():
                if value is not None:
                    f.write('%s = %s\n' % (key, value))

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.kill()
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None
            self._cleanup(keep=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        # A failure found here (bad exit, sanitizer report) is raised even
        # when the test body failed too: Python chains the two.
        self.stop()
        return False

    def start(self):
        """Create pending accounts, then (if serve) start the server and wait
        until every listener accepts."""
        for address, password in list(self._pending_accounts.items()):
            self.add_account(address, password)
        self._pending_accounts.clear()
        if not self.serve:
            return
        self._log_file = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [self.buzon, '-c', self.config_path, 'serve'],
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=self._log_file,
            env=sanitizer_env(), cwd=self.dir, preexec_fn=_die_with_parent)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        for name, port in self.ports.items():
            while True:
                if self.proc.poll() is not None:
                    raise ServerError('buzon serve exited with status %d before %s '
                                      'accepted:\n%s' % (self.proc.returncode, name,
                                                         self.log_tail()))
                try:
                    socket.create_connection((self.host, port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise ServerError('%s (port %d) did not accept within %.0f s:\n%s'
                                          % (name, port, START_TIMEOUT, self.log_tail()))
                    time.sleep(0.05)

    def store_config(self):
        """The config keys that name this server's store (data_dir, and the
        PostgreSQL database when there is one), for a second server on the
        same store: Server(config=s.store_config())."""
        keys = {'data_dir': self.data_dir}
        if self.pg_database is not None:
            keys['store'] = 'postgres'
            keys['postgres_url'] = pg_server().url(self.pg_database)
        return keys

    # ---- the command line -------------------------------------------------

    def cli(self, *args, input=None, config=True):
        """Run `buzon -c CONFIG ARGS...` (or `buzon ARGS...` with config=False);
        returns the CompletedProcess (text). Fails on a sanitizer report."""
        argv = [self.buzon] + (['-c', self.config_path] if config else []) + list(args)
        result = subprocess.run(argv, input=input, capture_output=True, text=True,
                                env=sanitizer_env(), cwd=self.dir, timeout=CLI_TIMEOUT)
        report = sanitizer_report(result.stderr)
        if report:
            self._keep = True
            raise ServerError('sanitizer report from %s: %s\n%s'
                              % (' '.join(args), report, result.stderr))
        return result

    def add_account(self, address, password):
        """`buzon user add` with the password on stdin; must succeed."""
        r = self.cli('user', 'add', address, input=password + '\n')
        if r.returncode != 0:
            raise ServerError('user add %s failed (%d): %s' % (address, r.returncode, r.stderr))
        self.accounts[address.lower()] = password

    # ---- clients ----------------------------------------------------------

    def password(self, address):
        return self.accounts[address.lower()]

    def imap(self, user=None, password=None, tls='plain', timeout=CLIENT_TIMEOUT):
        """An imaplib client: tls is 'plain' (port imap), 'starttls' (port
        imap, STARTTLS first) or 'implicit' (port imaps). Logged in when user
        is given (password defaults to the one the account was made with)."""
        if tls == 'implicit':
            c = imaplib.IMAP4_SSL(self.host, self.ports['imaps'],
                                  ssl_context=unverified_ssl_context(), timeout=timeout)
        else:
            c = imaplib.IMAP4(self.host, self.ports['imap'], timeout=timeout)
            if tls == 'starttls':
                c.starttls(ssl_context=unverified_ssl_context())
            elif tls != 'plain':
                raise ValueError('tls must be plain, starttls or implicit')
        if user is not None:
            c.login(user, password if password is not None else self.password(user))
        return c

    def connect(self, listener='imap', timeout=CLIENT_TIMEOUT):
        """A raw TCP socket to a listener (for speaking the protocol by hand)."""
        return socket.create_connection((self.host, self.ports[listener]), timeout=timeout)

    def connect_tls(self, listener='imaps', timeout=CLIENT_TIMEOUT):
        """A raw TLS socket to an implicit-TLS listener."""
        sock = self.connect(listener, timeout)
        return unverified_ssl_context().wrap_socket(sock, server_hostname=self.host)

    def raw(self, user=None, password=None, listener='imap', **options):
        """A Raw IMAP connection (greeting read) to a listener: implicit TLS
        on 'imaps'. Logged in with LOGIN when user is given (password
        defaults to the one the account was made with). options go to Raw
        (timeout, tag_prefix)."""
        if listener == 'imaps':
            sock = self.connect_tls(listener)
        else:
            sock = self.connect(listener)
        r = Raw(sock, **options)
        if user is not None:
            r.login(user, password if password is not None else self.password(user))
        return r

    # ---- the log ----------------------------------------------------------

    def log(self):
        """Everything the server wrote to stderr so far."""
        try:
            with open(self.log_path, 'r', errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def log_tail(self, lines=40):
        return '\n'.join(self.log().splitlines()[-lines:])

    # ---- stopping ---------------------------------------------------------

    def stop(self):
        """SIGTERM, then check: exit status 0 and no sanitizer report. The
        temporary directory is removed unless something went wrong."""
        problem = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    problem = 'did not exit within %.0f s of SIGTERM' % STOP_TIMEOUT
            if problem is None and self.proc.returncode != 0:
                problem = 'exited with status %d' % self.proc.returncode
            self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        report = sanitizer_report(self.log())
        if report:
            problem = 'sanitizer report: %s' % report
        self._cleanup(keep=problem is not None)
        if problem:
            raise ServerError('buzon serve %s\n--- log tail (%s) ---\n%s'
                              % (problem, self.log_path, self.log_tail()))

    def restart(self):
        """Stop (checked) and start again on the same data and ports."""
        self.stop_keeping_data()
        self.start()

    def stop_keeping_data(self):
        keep = self._keep
        self._keep = True
        try:
            self.stop()
        finally:
            self._keep = keep

    def kill(self):
        """SIGKILL the server (crash tests); the next stop() only cleans up."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _cleanup(self, keep):
        if keep or self._keep:
            if keep:
                sys.stderr.write('harness: kept %s%s\n' % (
                    self.dir, ' and database %s' % self.pg_database if self.pg_database else ''))
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_database is not None:
            pg_server().drop_database(self.pg_database)
            self.pg_database = None


class ModuleServer:
    """One Server shared by all the tests of a module: started on first
    call, stopped (and checked, like leaving a `with` block) by stop() or
    at exit. kwargs are Server's.

        server = harness.ModuleServer(accounts=ACCOUNTS)
        s = server()        # the running Server

    A call after the server died (a crash in an earlier test) raises
    ServerError saying so, rather than letting every later test fail with
    "connection refused"."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.server = None

    def __call__(self):
        s = self.server
        if s is None:
            s = Server(**self.kwargs)
            s.__enter__()
            self.server = s
            atexit.register(self.stop)
        elif s.proc is not None and s.proc.poll() is not None:
            raise ServerError('the module\'s server died earlier (status %d): %s'
                              % (s.proc.returncode,
                                 sanitizer_report(s.log()) or s.log_tail(5)))
        return s

    def stop(self):
        """SIGTERM and check the server (Server.stop); nothing if not running."""
        if self.server is not None:
            s, self.server = self.server, None
            s.stop()


# ---- IMAP spoken by hand ---------------------------------------------------

def quote(text):
    """text as an IMAP quoted string."""
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


def status(tagged):
    """'OK', 'NO' or 'BAD' of a tagged line ('' if it has no second word)."""
    parts = tagged.split(' ', 2)
    return parts[1] if len(parts) > 1 else ''


def appenduid(tagged):
    """(uidvalidity, uid) of a tagged 'tag OK [APPENDUID v uid] ...' line
    (RFC 4315 §3); asserts the line is one."""
    m = re.match(r'^\S+ OK \[APPENDUID (\d+) (\d+)\]', tagged)
    assert m, tagged
    return int(m.group(1)), int(m.group(2))


def parse_value(s, pos):
    """One IMAP value at s[pos]: list, quoted string, literal, NIL (None)
    or atom. Returns (value, next position)."""
    c = s[pos]
    if c == '(':
        items, pos = [], pos + 1
        while s[pos] != ')':
            if s[pos] == ' ':
                pos += 1
                continue
            value, pos = parse_value(s, pos)
            items.append(value)
        return items, pos + 1
    if c == '"':
        out, pos = [], pos + 1
        while s[pos] != '"':
            if s[pos] == '\\':
                pos += 1
            out.append(s[pos])
            pos += 1
        return ''.join(out), pos + 1
    if c == '{':
        end = s.index('}', pos)
        n = int(s[pos + 1:end].rstrip('+'))
        start = end + 3  # "}\r\n"
        return s[start:start + n], start + n
    m = re.compile(r'[^ ()]+').match(s, pos)
    assert m, (s, pos)
    tok = m.group(0)
    return (None if tok.upper() == 'NIL' else tok), m.end()


def parse_values(s):
    """All the IMAP values of s, in order."""
    values, pos = [], 0
    while pos < len(s):
        if s[pos] == ' ':
            pos += 1
            continue
        value, pos = parse_value(s, pos)
        values.append(value)
    return values


# A line that ends in a literal's announcement (servers send only {n}).
_LITERAL_END = re.compile(rb'\{(\d+)\}$')


class Raw:
    """One IMAP connection spoken by hand, on a connected socket (plain or
    TLS). Responses come back as str (latin-1, so bytes map 1:1) without
    the final CRLF; a literal's bytes stay inline after its "{n}\\r\\n".

    greeting:   read the greeting line into .greeting (else None).
    timeout:    None: each recv waits as long as the socket's own timeout
                says. A number: every read of one response must finish
                within that many seconds (socket.timeout otherwise); line(),
                read_until(), cmd() and ok() take a per-call timeout too.
    tag_prefix: tags are tag_prefix + 1, 2, ... (next_tag()).
    """

    def __init__(self, sock, greeting=True, timeout=None, tag_prefix='a'):
        self.sock = sock
        self.timeout = timeout
        self.tag_prefix = tag_prefix
        self.buf = b''
        self.tags = 0
        self.greeting = self.line() if greeting else None

    def send(self, data):
        """sendall; str is sent as latin-1."""
        if isinstance(data, str):
            data = data.encode('latin-1')
        self.sock.sendall(data)

    def _more(self, deadline):
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout('no response in time')
            self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError('server closed the connection')
        self.buf += chunk

    def line(self, timeout=None):
        """One whole response: a line, plus any literals it announces (and
        the rest of the line after each)."""
        if timeout is None:
            timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        out = b''
        while True:
            while b'\r\n' not in self.buf:
                self._more(deadline)
            part, self.buf = self.buf.split(b'\r\n', 1)
            out += part
            m = _LITERAL_END.search(part)
            if m is None:
                return out.decode('latin-1')
            n = int(m.group(1))
            while len(self.buf) < n:
                self._more(deadline)
            out += b'\r\n' + self.buf[:n]
            self.buf = self.buf[n:]

    def next_tag(self):
        self.tags += 1
        return '%s%d' % (self.tag_prefix, self.tags)

    def read_until(self, tag, timeout=None):
        """(untagged lines, tagged line) up to tag's completion."""
        lines = []
        while True:
            line = self.line(timeout)
            if line.startswith(tag + ' '):
                return lines, line
            lines.append(line)

    def cmd(self, text, timeout=None):
        """Send one command (str or bytes, without tag and CRLF); returns
        (untagged lines, tagged line)."""
        tag = self.next_tag()
        if isinstance(text, bytes):
            self.send(tag.encode() + b' ' + text + b'\r\n')
        else:
            self.send('%s %s\r\n' % (tag, text))
        return self.read_until(tag, timeout)

    def ok(self, text, timeout=None):
        """cmd() that must end in OK; returns (untagged lines, tagged line)."""
        lines, tagged = self.cmd(text, timeout)
        assert status(tagged) == 'OK', (text, lines, tagged)
        return lines, tagged

    def login(self, user, password):
        """LOGIN with both as quoted strings; must succeed."""
        lines, tagged = self.cmd('LOGIN %s %s' % (quote(user), quote(password)))
        assert status(tagged) == 'OK', ('LOGIN', user, lines, tagged)

    def append(self, mailbox, data, flags='', date=None, literal_plus=True, check=True):
        """APPEND data (bytes) to mailbox, with flags ('\\Seen $X') and an
        internal date ('07-Feb-1994 21:52:25 -0800') when given. The literal
        is LITERAL+ (sent at once) or synchronizing (sent after the server's
        "+"). Returns (untagged lines, tagged line); asserts OK if check."""
        tag = self.next_tag()
        args = quote(mailbox)
        if flags:
            args += ' (%s)' % flags
        if date:
            args += ' "%s"' % date
        head = ('%s APPEND %s {%d%s}\r\n'
                % (tag, args, len(data), '+' if literal_plus else '')).encode('latin-1')
        untagged = []
        if literal_plus:
            self.send(head + data + b'\r\n')
        else:
            self.send(head)
            while True:
                line = self.line()
                if line.startswith('+'):
                    break
                if line.startswith(tag + ' '):
                    assert not check, 'APPEND refused: %s' % line
                    return untagged, line
                untagged.append(line)
            self.send(data + b'\r\n')
        more, tagged = self.read_until(tag)
        assert not check or status(tagged) == 'OK', ('APPEND', untagged + more, tagged)
        return untagged + more, tagged

    def starttls(self):
        """STARTTLS (must be OK, with nothing pipelined after it), then TLS
        on the same socket."""
        lines, tagged = self.cmd('STARTTLS')
        assert status(tagged) == 'OK', (lines, tagged)
        assert self.buf == b'', self.buf
        self.sock = unverified_ssl_context().wrap_socket(
            self.sock, server_hostname='localhost')

    def at_eof(self, timeout=5.0, reset_is_eof=True):
        """True when the server closes the connection (and sends nothing
        more) within timeout; a reset counts as a close unless
        reset_is_eof is False (then it raises)."""
        self.sock.settimeout(timeout)
        try:
            return self.buf == b'' and self.sock.recv(1) == b''
        except (ConnectionResetError, ssl.SSLError):
            if not reset_is_eof:
                raise
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the runner ------------------------------------------------------------

class _Result(unittest.TestResult):
    """Prints one line per test as it finishes."""

    def __init__(self):
        super().__init__()
        self.passed = 0
        self.skipped_count = 0

    @staticmethod
    def _name(test):
        if isinstance(test, unittest.FunctionTestCase):
            return test._testFunc.__name__
        if isinstance(test, unittest.TestCase):
            return '%s.%s' % (type(test).__name__, test._testMethodName)
        return str(test)  # setUpClass errors and the like

    def _emit(self, line):
        sys.stdout.write(line + '\n')
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._emit('ok %s' % self._name(test))

    def _fail(self, test, err):
        exc_type, exc, tb = err
        summary = traceback.format_exception_only(exc_type, exc)[-1].strip().splitlines()[0]
        self._emit('FAIL %s: %s' % (self._name(test), summary))
        # unittest's own formatting drops its internal frames.
        for line in self._exc_info_to_string(err, test).splitlines():
            self._emit('  ' + line)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skipped_count += 1
        self._emit('skip %s: %s' % (self._name(test), reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1
        self._emit('ok %s' % self._name(test))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit('FAIL %s: unexpected success' % self._name(test))


def _collect(module):
    """(line, test-or-suite) for the module's test_* functions and TestCase
    classes, in source order."""
    loader = unittest.TestLoader()
    found = []
    for name, obj in vars(module).items():
        if getattr(obj, '__module__', None) != module.__name__:
            continue
        if inspect.isfunction(obj) and name.startswith('test_'):
            found.append((inspect.getsourcelines(obj)[1], unittest.FunctionTestCase(obj)))
        elif inspect.isclass(obj) and issubclass(obj, unittest.TestCase):
            found.append((inspect.getsourcelines(obj)[1], loader.loadTestsFromTestCase(obj)))
    found.sort(key=lambda item: item[0])
    return [test for _, test in found]


def _matches(test, patterns):
    name = _Result._name(test)
    return not patterns or any(p in name for p in patterns)


def _flatten(tests):
    for t in tests:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def main(argv=None):
    """Run the calling module's tests; exit 1 if any failed."""
    patterns = sys.argv[1:] if argv is None else argv
    module = sys.modules['__main__']
    suite = unittest.TestSuite()
    for group in _collect(module):
        if isinstance(group, unittest.TestSuite):
            kept = [t for t in _flatten(group) if _matches(t, patterns)]
            if kept:
                suite.addTests(kept)
        elif _matches(group, patterns):
            suite.addTest(group)
    result = _Result()
    suite.run(result)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    sys.stdout.write('# %s: %d passed, %d failed, %d skipped\n'
                     % (os.path.basename(sys.argv[0]), result.passed, failed,
                        result.skipped_count))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
