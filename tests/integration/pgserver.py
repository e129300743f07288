"""pgserver: a real, throw-away PostgreSQL for the tests (issue 8).

Standard library only; the PostgreSQL programs are Debian's (package
`postgresql`, in scripts/deps.sh), found as /usr/lib/postgresql/*/bin/
(the newest version), or on PATH (pg_config --bindir first).

    srv = pgserver.PgServer()        # initdb + postgres on a free loopback port
    srv.start()                      # raises PgUnavailable saying why
    url = srv.create_database('t1')  # postgresql://buzon@127.0.0.1:PORT/t1
    srv.drop_database('t1')
    srv.stop()                       # fast shutdown, folder removed

initdb refuses to run as root, and CI runs as root: then every PostgreSQL
program runs as the unprivileged user `postgres` (made by the Debian package;
`nobody` if it is absent), by Popen's user/group switch (setuid in the child,
no su/sudo needed), and the temporary folder is handed to that user.

The cluster is tuned for tests, not for keeping data: fsync off (a crash of
the machine may lose it; a crash of buzon loses nothing the database
acknowledged, which is what the tests kill), trust authentication on
loopback only, no unix socket outside its own folder.

Used two ways:

  - by harness.py, when BUZON_STORE=postgres: a server given by
    BUZON_PG_URL (one shared by a whole `make check` run), else one started
    for the test process and stopped at its exit; each harness.Server gets a
    fresh database.
  - as a script by scripts/check.sh, for the shared server:

        python3 tests/integration/pgserver.py start   # prints URL then FOLDER
        python3 tests/integration/pgserver.py stop FOLDER

    `start` exits 3 with the reason on stderr when PostgreSQL cannot be
    started (not installed, no unprivileged user ...).
"""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# The role every test connects as (a superuser of the throw-away cluster).
ROLE = 'buzon'
# initdb of an empty cluster takes 1-3 s; under a loaded machine more.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class PgUnavailable(Exception):
    """PostgreSQL cannot be run here (the message says why)."""


def _version_key(path):
    m = re.search(r'/postgresql/(\d+)(?:\.(\d+))?/', path)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)


def find_bindir():
    """The folder holding initdb, postgres and psql, or None."""
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin'), key=_version_key, reverse=True)
    pg_config = shutil.which('pg_config')
    if pg_config:
        try:
            out = subprocess.run([pg_config, '--bindir'], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
            if out:
                candidates.append(out)
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which('initdb')
    if initdb:
        candidates.append(os.path.dirname(initdb))
    for d in candidates:
        if all(os.access(os.path.join(d, p), os.X_OK) for p in ('initdb', 'postgres', 'psql')):
            return d
    return None


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _unprivileged_user():
    """(uid, gid) to run PostgreSQL as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ('postgres', 'nobody'):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            continue
    raise PgUnavailable('running as root and neither user "postgres" nor "nobody" exists '
                        'to run PostgreSQL as (initdb refuses root)')


def _quote_ident(name):
    return '"%s"' % name.replace('"', '""')


class PgServer:
    """One PostgreSQL cluster in a temporary folder on a loopback port."""

    def __init__(self, url=None):
        """url: an already running server (postgresql://ROLE@HOST:PORT/DB);
        start() and stop() then do nothing."""
        self.bindir = None
        self.dir = None
        self.port = None
        self.proc = None
        self.pid = None
        self._as = None
        self.external = url
        if url:
            m = re.match(r'^postgresql://([^@/]+)@([^:/]+):(\d+)/', url)
            if not m:
                raise PgUnavailable('cannot read the PostgreSQL URL %r' % url)
            self.role, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
        else:
            self.role, self.host = ROLE, '127.0.0.1'

    # ---- running PostgreSQL's programs -----------------------------------

    def _popen_args(self):
        if self._as is None:
            return {}
        uid, gid = self._as
        return {'user': uid, 'group': gid, 'extra_groups': []}

    def _run(self, argv, timeout=START_TIMEOUT, check=True):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, cwd=self.dir or '/', **self._popen_args())
        if check and r.returncode != 0:
            raise PgUnavailable('%s failed (status %d): %s'
                                % (os.path.basename(argv[0]), r.returncode,
                                   (r.stderr or r.stdout).strip()[-2000:]))
        return r

    def psql(self, sql, db='postgres', check=True):
        """Run SQL with psql as the test role; returns its stdout."""
        bindir = self.bindir or find_bindir()
        if bindir is None:
            raise PgUnavailable('psql not found')
        argv = [os.path.join(bindir, 'psql'), '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
                '-h', self.host, '-p', str(self.port), '-U', self.role, '-d', db, '-c', sql]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise PgUnavailable('psql %r failed: %s' % (sql, r.stderr.strip()))
        return r.stdout

    # ---- life ---------------------------------------------------------------

    def start(self):
        """initdb, start postgres, wait until it answers. Raises
        PgUnavailable (with the folder removed) when it cannot."""
        if self.external:
            self.psql('SELECT 1')
            return self
        self.bindir = find_bindir()
        if self.bindir is None:
            raise PgUnavailable('PostgreSQL is not installed (no initdb/postgres/psql under '
                                '/usr/lib/postgresql/*/bin or on PATH; Debian package '
                                '"postgresql")')
        self._as = _unprivileged_user()
        self.dir = tempfile.mkdtemp(prefix='buzon-pg-')
        try:
            self._start_in_dir()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_in_dir(self):
        os.chmod(self.dir, 0o700)
        if self._as is not None:
            os.chown(self.dir, *self._as)
        data = os.path.join(self.dir, 'data')
        self._run([os.path.join(self.bindir, 'initdb'), '-D', data, '-U', self.role,
                   '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
        for attempt in range(5):
            self.port = _free_port()
            log = open(os.path.join(self.dir, 'postgres.log'), 'ab')
            try:
                self.proc = subprocess.Popen(
                    [os.path.join(self.bindir, 'postgres'), '-D', data,
                     '-p', str(self.port), '-c', 'listen_addresses=127.0.0.1',
                     '-c', 'unix_socket_directories=' + self.dir,
                     '-c', 'max_connections=300', '-c', 'fsync=off',
                     '-c', 'full_page_writes=off', '-c', 'shared_buffers=32MB',
                     '-c', 'log_min_messages=warning'],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.dir,
                    start_new_session=True, **self._popen_args())
            finally:
                log.close()
            self.pid = self.proc.pid
            if self._wait_ready():
                return
            # Another process took the port between the probe and the bind:
            # try a new one.
            self._stop_postmaster()
        raise PgUnavailable('postgres did not start:\n' + self.log_tail())

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([os.path.join(self.bindir, 'psql'), '-X', '-q', '-A', '-t',
                                '-h', '127.0.0.1', '-p', str(self.port), '-U', self.role,
                                '-d', 'postgres', '-c', 'SELECT 1'],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               timeout=START_TIMEOUT)
            if r.returncode == 0 and r.stdout.strip() == '1':
                return True
            time.sleep(0.1)
        return False

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, 'postgres.log'), errors='replace') as f:
                return '\n'.join(f.read().splitlines()[-lines:])
        except (OSError, TypeError):
            return ''

    def _stop_postmaster(self):
        """SIGINT is PostgreSQL's fast shutdown: sessions are ended, then it exits."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            self.pid = self.proc = None
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is not None:
                if self.proc.poll() is not None:
                    break
            elif not _alive(self.pid):
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc is not None:
                self.proc.wait()
        self.pid = self.proc = None

    def stop(self, keep=False):
        """Stop postgres and remove the folder (kept when keep)."""
        if self.external:
            return
        self._stop_postmaster()
        if self.dir and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ---- databases ------------------------------------------------------------

    def url(self, db):
        return 'postgresql://%s@%s:%d/%s' % (self.role, self.host, self.port, db)

    def create_database(self, name):
        """A fresh, empty database; returns its URL."""
        self.psql('CREATE DATABASE %s' % _quote_ident(name))
        return self.url(name)

    def drop_database(self, name):
        """Drop it, ending any session still connected (a killed node's
        connections may linger for a moment)."""
        self.psql('DROP DATABASE IF EXISTS %s WITH (FORCE)' % _quote_ident(name))


def _alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _main(argv):
    if len(argv) == 2 and argv[1] == 'start':
        srv = PgServer()
        try:
            srv.start()
        except (PgUnavailable, OSError, subprocess.SubprocessError) as e:
            sys.stderr.write('%s\n' % e)
            return 3
        # The postmaster runs on in its own session after this script ends.
        srv.proc = None
        print(srv.url('postgres'))
        print(srv.dir)
        return 0
    if len(argv) == 3 and argv[1] == 'stop':
        folder = argv[2]
        srv = PgServer()
        srv.dir = folder
        try:
            with open(os.path.join(folder, 'data', 'postmaster.pid')) as f:
                srv.pid = int(f.readline())
        except (OSError, ValueError):
            srv.pid = None
        srv.stop()
        return 0
    sys.stderr.write('usage: pgserver.py start | pgserver.py stop FOLDER\n')
    return 2


if __name__ == '__main__':
    sys.exit(_main(sys.argv))
