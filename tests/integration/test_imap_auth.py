"""test_imap_auth: the not-authenticated state as clients see it (RFC 9051
§6.1-6.2, RFC 4959 SASL-IR, RFC 8314 implicit TLS): the greeting and
CAPABILITY, LOGIN, AUTHENTICATE PLAIN, STARTTLS, implicit TLS (1.2 and up
only), LOGINDISABLED on a non-loopback plaintext connection, LOGOUT.

One server (module level) serves every test that runs on loopback; a
failed login costs the server's fixed one-second delay, so the failing
ones run side by side on separate connections."""

import base64
import imaplib
import re
import socket
import ssl
import subprocess
import threading
import time
import unittest
import warnings

import harness
from harness import Raw, quote, status

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ACCOUNTS = {ALICE: 'alice-secret', BOB: 'b0b pass'}

# What CAPABILITY must list on the plain port from loopback before login.
REQUIRED_CAPS = {'IMAP4rev1', 'IDLE', 'LITERAL+', 'UIDPLUS', 'MOVE', 'SPECIAL-USE',
                 'NAMESPACE', 'SASL-IR', 'UNSELECT', 'ENABLE', 'CHILDREN', 'AUTH=PLAIN',
                 'STARTTLS'}


server = harness.ModuleServer(accounts=ACCOUNTS)


def raw(s=None, listener='imap'):
    return (s or server()).raw(listener=listener)


def capabilities_of(line):
    """The capability names of '* CAPABILITY ...' or of a [CAPABILITY ...]
    response code anywhere in line."""
    m = re.search(r'\[CAPABILITY ([^\]]*)\]', line)
    if m:
        return m.group(1).split()
    assert line.startswith('* CAPABILITY '), line
    return line.split()[2:]


def capability_cmd(r):
    lines, tagged = r.cmd('CAPABILITY')
    assert status(tagged) == 'OK', tagged
    caps = [l for l in lines if l.startswith('* CAPABILITY ')]
    assert len(caps) == 1, lines
    return set(capabilities_of(caps[0]))


def plain_b64(authz, user, password):
    return base64.b64encode(('%s\0%s\0%s' % (authz, user, password)).encode()).decode()


def in_parallel(*functions):
    """Run the functions on threads; re-raise the first failure."""
    errors = []

    def run(f):
        try:
            f()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# ---- greeting and CAPABILITY --------------------------------------------------

def test_greeting_is_ok_with_capability_code():
    r = raw()
    # RFC 9051 §7.1.1 greeting: "* OK [CAPABILITY ...] text"
    assert re.match(r'^\* OK \[CAPABILITY [^\]]+\] \S', r.greeting), r.greeting
    caps = set(capabilities_of(r.greeting))
    assert REQUIRED_CAPS <= caps, REQUIRED_CAPS - caps
    assert 'LOGINDISABLED' not in caps, caps
    r.close()


def test_capability_lists_the_extensions_on_loopback():
    r = raw()
    caps = capability_cmd(r)
    missing = REQUIRED_CAPS - caps
    assert not missing, 'missing %s in %s' % (sorted(missing), sorted(caps))
    # Plaintext logins are allowed from loopback, so no LOGINDISABLED.
    assert 'LOGINDISABLED' not in caps, caps
    r.close()


def test_capability_with_imaplib():
    c = server().imap()
    for cap in REQUIRED_CAPS:  # imaplib upper-cases the names
        assert cap.upper() in c.capabilities, (cap, c.capabilities)
    typ, data = c.capability()
    assert typ == 'OK', (typ, data)
    c.logout()


def test_noop_in_every_state():
    r = raw()
    r.ok('NOOP')
    r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    r.ok('NOOP')
    r.ok('SELECT INBOX')
    r.ok('NOOP')
    r.close()


# ---- LOGIN ----------------------------------------------------------------------

def test_login_good_password_with_imaplib():
    c = server().imap()
    typ, data = c.login(ALICE, ACCOUNTS[ALICE])
    assert typ == 'OK', (typ, data)
    assert c.state == 'AUTH'
    typ, data = c.select('INBOX')
    assert typ == 'OK', (typ, data)
    c.logout()


def test_login_is_case_insensitive_in_the_address_and_takes_a_quoted_password():
    r = raw()
    # The password has a space: it must travel as a quoted string.
    lines, tagged = r.cmd('LOGIN "Bob@Example.TEST" %s' % quote(ACCOUNTS[BOB]))
    assert status(tagged) == 'OK', tagged
    r.close()


def test_login_with_literals():
    r = raw()
    user, pw = ALICE.encode(), ACCOUNTS[ALICE].encode()
    tag = r.next_tag()
    r.send(b'%s LOGIN {%d}\r\n' % (tag.encode(), len(user)))
    cont = r.line()
    assert cont.startswith('+'), cont
    r.send(user + b' {%d}\r\n' % len(pw))
    cont = r.line()
    assert cont.startswith('+'), cont
    r.send(pw + b'\r\n')
    lines, tagged = r.read_until(tag)
    assert status(tagged) == 'OK', (lines, tagged)
    r.close()


def test_login_failures_say_authenticationfailed():
    results = {}

    def attempt(key, user, password):
        r = raw()
        lines, tagged = r.cmd('LOGIN %s %s' % (quote(user), quote(password)))
        results[key] = (lines, tagged, r)

    in_parallel(lambda: attempt('bad password', ALICE, 'wrong'),
                lambda: attempt('unknown user', 'nobody@example.test', 'whatever'),
                lambda: attempt('empty password', ALICE, ''))
    for key, (lines, tagged, r) in results.items():
        # RFC 9051 §6.2.3: NO on failure; RFC 5530 §3: AUTHENTICATIONFAILED
        assert re.match(r'^a1 NO \[AUTHENTICATIONFAILED\]', tagged), (key, tagged)
        # Still not authenticated: SELECT is refused, LOGIN works.
        _, t = r.cmd('SELECT INBOX')
        assert status(t) in ('BAD', 'NO'), (key, t)
        r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
        r.close()
    # The unknown user and the wrong password look the same to the client.
    assert results['bad password'][1] == results['unknown user'][1]


def test_login_ok_may_carry_capability_and_state_is_authenticated():
    r = raw()
    lines, tagged = r.cmd('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    assert status(tagged) == 'OK', tagged
    if '[CAPABILITY' in tagged:
        caps = set(capabilities_of(tagged))
        assert 'IMAP4rev1' in caps, caps
    # LOGIN again is not valid in the authenticated state.
    _, t = r.cmd('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    assert status(t) in ('BAD', 'NO'), t
    r.close()


# ---- AUTHENTICATE PLAIN -------------------------------------------------------------

def test_authenticate_plain_with_initial_response():
    r = raw()
    # RFC 4959: the initial response on the command line, no continuation.
    lines, tagged = r.cmd('AUTHENTICATE PLAIN %s' % plain_b64('', ALICE, ACCOUNTS[ALICE]))
    assert lines == [] or all(l.startswith('* ') for l in lines), lines
    assert status(tagged) == 'OK', tagged
    r.ok('SELECT INBOX')
    r.close()


def test_authenticate_plain_with_authzid_equal_to_user():
    r = raw()
    lines, tagged = r.cmd('AUTHENTICATE PLAIN %s' % plain_b64(BOB, BOB, ACCOUNTS[BOB]))
    assert status(tagged) == 'OK', tagged
    r.close()


def test_authenticate_plain_with_a_continuation_imaplib():
    c = server().imap()
    typ, data = c.authenticate('PLAIN',
                               lambda _: ('\0%s\0%s' % (ALICE, ACCOUNTS[ALICE])).encode())
    assert typ == 'OK', (typ, data)
    assert c.state == 'AUTH'
    typ, data = c.select('INBOX')
    assert typ == 'OK', (typ, data)
    c.logout()


def test_authenticate_plain_with_a_continuation_raw():
    r = raw()
    tag = r.next_tag()
    r.send('%s AUTHENTICATE PLAIN\r\n' % tag)
    cont = r.line()
    # RFC 9051 §6.2.2: an empty challenge for PLAIN: "+ " or "+"
    assert cont in ('+', '+ '), cont
    r.send(plain_b64('', ALICE, ACCOUNTS[ALICE]) + '\r\n')
    lines, tagged = r.read_until(tag)
    assert status(tagged) == 'OK', (lines, tagged)
    r.close()


def test_authenticate_cancelled_with_star_is_bad():
    r = raw()
    tag = r.next_tag()
    r.send('%s AUTHENTICATE PLAIN\r\n' % tag)
    assert r.line().startswith('+')
    r.send('*\r\n')
    lines, tagged = r.read_until(tag)
    # RFC 9051 §6.2.2: a "*" line cancels; the server MUST answer BAD.
    assert status(tagged) == 'BAD', tagged
    # Still not authenticated, and the connection is usable.
    _, t = r.cmd('SELECT INBOX')
    assert status(t) in ('BAD', 'NO'), t
    r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    r.close()


def test_authenticate_invalid_base64_is_bad():
    r = raw()
    tag = r.next_tag()
    r.send('%s AUTHENTICATE PLAIN\r\n' % tag)
    assert r.line().startswith('+')
    r.send('!!not base64!!\r\n')
    lines, tagged = r.read_until(tag)
    # RFC 9051 §6.2.2: invalid base64 is rejected with BAD.
    assert status(tagged) == 'BAD', tagged
    r.ok('NOOP')
    r.close()


def test_authenticate_unknown_mechanism_is_refused():
    r = raw()
    lines, tagged = r.cmd('AUTHENTICATE X-UNKNOWN-MECH')
    # RFC 9051 §6.2.2: NO - unsupported authentication mechanism
    assert status(tagged) == 'NO', tagged
    r.ok('NOOP')
    r.close()


def test_authenticate_plain_wrong_password_fails():
    r = raw()
    lines, tagged = r.cmd('AUTHENTICATE PLAIN %s' % plain_b64('', BOB, 'nope'))
    assert re.match(r'^a1 NO \[AUTHENTICATIONFAILED\]', tagged), tagged
    r.close()


# ---- the not-authenticated state ----------------------------------------------------

def test_commands_before_login_are_refused():
    r = raw()
    for command in ('SELECT INBOX', 'EXAMINE INBOX', 'LIST "" "*"', 'CREATE Foo',
                    'DELETE Foo', 'STATUS INBOX (MESSAGES)', 'NAMESPACE', 'IDLE',
                    'ENABLE UTF8=ACCEPT', 'FETCH 1 FLAGS', 'UID SEARCH ALL', 'LSUB "" "*"',
                    'APPEND INBOX {0+}\r\n', 'CLOSE', 'EXPUNGE'):
        lines, tagged = r.cmd(command)
        # RFC 9051 §6: a command in the wrong state is BAD (or NO)
        assert status(tagged) in ('BAD', 'NO'), (command, lines, tagged)
        assert not any(re.match(r'\* (LIST|STATUS|NAMESPACE|\d+ EXISTS)', l) for l in lines), \
            (command, lines)
    # Nothing was created: log in and look.
    r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    lines, _ = r.ok('LIST "" "Foo"')
    assert lines == [], lines
    r.close()


def test_unknown_command_is_bad():
    r = raw()
    _, tagged = r.cmd('FROBNICATE')
    assert status(tagged) == 'BAD', tagged
    r.ok('NOOP')
    r.close()


# ---- STARTTLS --------------------------------------------------------------------

def test_starttls_then_login_with_imaplib():
    s = server()
    c = imaplib.IMAP4(s.host, s.ports['imap'], timeout=harness.CLIENT_TIMEOUT)
    assert 'STARTTLS' in c.capabilities, c.capabilities
    typ, data = c.starttls(ssl_context=harness.unverified_ssl_context())
    assert typ == 'OK', (typ, data)
    assert c.sock.version() in ('TLSv1.2', 'TLSv1.3'), c.sock.version()
    # imaplib asked for CAPABILITY again after TLS (RFC 9051 §6.2.1).
    assert 'AUTH=PLAIN' in c.capabilities and 'IMAP4REV1' in c.capabilities, c.capabilities
    # RFC 9051 §6.2.1: SHOULD NOT advertise STARTTLS after STARTTLS.
    assert 'STARTTLS' not in c.capabilities, c.capabilities
    typ, data = c.login(ALICE, ACCOUNTS[ALICE])
    assert typ == 'OK', (typ, data)
    typ, data = c.select('INBOX')
    assert typ == 'OK', (typ, data)
    c.logout()


def test_starttls_twice_is_bad():
    r = raw()
    r.starttls()
    caps = capability_cmd(r)
    assert 'STARTTLS' not in caps, caps
    lines, tagged = r.cmd('STARTTLS')
    # RFC 9051 §6.2.1: BAD - STARTTLS received after a successful TLS negotiation
    assert status(tagged) == 'BAD', tagged
    # The TLS session still works.
    r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    r.ok('SELECT INBOX')
    r.close()


def test_starttls_after_login_is_refused():
    r = raw()
    r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
    _, tagged = r.cmd('STARTTLS')
    # STARTTLS is a not-authenticated-state command (RFC 9051 §6.2).
    assert status(tagged) in ('BAD', 'NO'), tagged
    r.ok('NOOP')
    r.close()


def test_starttls_with_openssl_s_client():
    s = server()
    script = 'a1 LOGIN %s %s\na2 LOGOUT\n' % (ALICE, quote(ACCOUNTS[ALICE]))
    p = subprocess.run(['openssl', 's_client', '-starttls', 'imap', '-quiet', '-crlf',
                        '-connect', '127.0.0.1:%d' % s.ports['imap']],
                       input=script, capture_output=True, text=True, timeout=30)
    out = p.stdout
    assert re.search(r'^a1 OK', out, re.M), (out, p.stderr)
    assert re.search(r'^\* BYE', out, re.M), out
    assert re.search(r'^a2 OK', out, re.M), out


# ---- implicit TLS -----------------------------------------------------------------

def test_implicit_tls_login_with_imaplib():
    s = server()
    c = s.imap(ALICE, tls='implicit')
    assert c.sock.version() in ('TLSv1.2', 'TLSv1.3'), c.sock.version()
    typ, data = c.select('INBOX')
    assert typ == 'OK', (typ, data)
    c.logout()


def test_implicit_tls_capability_and_starttls_is_bad():
    r = raw(listener='imaps')
    assert r.greeting.startswith('* OK'), r.greeting
    caps = capability_cmd(r)
    assert 'AUTH=PLAIN' in caps and 'LOGINDISABLED' not in caps, caps
    assert 'STARTTLS' not in caps, caps
    _, tagged = r.cmd('STARTTLS')
    # RFC 9051 §6.2.1: MUST respond BAD to STARTTLS on an implicit TLS port.
    assert status(tagged) == 'BAD', tagged
    r.close()


def test_implicit_tls_accepts_tls_1_2():
    s = server()
    ctx = harness.unverified_ssl_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sock = ctx.wrap_socket(s.connect('imaps'), server_hostname='localhost')
    try:
        assert sock.version() == 'TLSv1.2', sock.version()
        r = Raw(sock)
        assert r.greeting.startswith('* OK'), r.greeting
    finally:
        sock.close()


def _tls11_context():
    """A client context that speaks TLS 1.1 only, or None when the local
    OpenSSL cannot be made to (then the test is skipped)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            # OpenSSL 3 needs security level 0 for TLS 1.0/1.1 at all.
            ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
        return ctx
    except (ValueError, ssl.SSLError, AttributeError):
        return None


def test_implicit_tls_refuses_tls_1_1():
    ctx = _tls11_context()
    if ctx is None:
        raise unittest.SkipTest('the local OpenSSL cannot build a TLS 1.1 client context')
    s = server()
    sock = s.connect('imaps')
    try:
        try:
            tls = ctx.wrap_socket(sock, server_hostname='localhost')
        except ssl.SSLError as e:
            text = str(e)
            if 'NO_PROTOCOLS_AVAILABLE' in text.upper() or 'no protocols available' in text:
                raise unittest.SkipTest('the local OpenSSL forbids TLS 1.1 clients: %s' % text)
            return  # refused by the server: what we want
        except (ConnectionResetError, BrokenPipeError, EOFError):
            return
        version = tls.version()
        tls.close()
        raise AssertionError('a TLS 1.1-only client got a %s session' % version)
    finally:
        sock.close()


# ---- LOGINDISABLED on a non-loopback address -------------------------------------------

def non_loopback_ipv4():
    """A local IPv4 address that is not in 127.0.0.0/8, or None."""
    candidates = []
    try:
        out = subprocess.run(['ip', '-4', '-o', 'addr', 'show'], capture_output=True,
                             text=True, timeout=10).stdout
        candidates += re.findall(r'\binet (\d+\.\d+\.\d+\.\d+)/', out)
    except (OSError, subprocess.SubprocessError):
        pass
    for probe in ('192.0.2.1', '10.255.255.255', '8.8.8.8'):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.connect((probe, 9))
                candidates.append(u.getsockname()[0])
        except OSError:
            pass
    try:
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    for addr in candidates:
        if addr.startswith('127.') or addr == '0.0.0.0':
            continue
        try:  # it must be ours: we can bind it
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind((addr, 0))
            return addr
        except OSError:
            continue
    return None


def connect_retry(addr, port, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((addr, port), timeout=harness.CLIENT_TIMEOUT)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_logindisabled_on_non_loopback_plaintext():
    addr = non_loopback_ipv4()
    if addr is None:
        raise unittest.SkipTest('this machine has no non-loopback IPv4 address')
    port = harness.free_ports(1, host=addr)[0]
    # The harness waits for the loopback imaps port; imap goes on addr.
    with harness.Server(accounts={ALICE: ACCOUNTS[ALICE]}, listeners=('imaps',),
                        config={'imap': '%s:%d' % (addr, port)}) as s:
        r = Raw(connect_retry(addr, port))
        greeting_caps = set(capabilities_of(r.greeting)) if '[CAPABILITY' in r.greeting \
            else None
        caps = capability_cmd(r)
        for seen in (caps, greeting_caps):
            if seen is None:
                continue
            # RFC 9051 §6.2.3, §7.2.2: LOGINDISABLED, and no password mechanism.
            assert 'LOGINDISABLED' in seen, seen
            assert not any(c.startswith('AUTH=') for c in seen), seen
            assert 'STARTTLS' in seen, seen
        # RFC 9051 §7.2.2: LOGIN answers NO even with the right password.
        _, tagged = r.cmd('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
        assert status(tagged) == 'NO', tagged
        _, tagged = r.cmd('AUTHENTICATE PLAIN %s' % plain_b64('', ALICE, ACCOUNTS[ALICE]))
        assert status(tagged) == 'NO', tagged
        _, tagged = r.cmd('SELECT INBOX')
        assert status(tagged) in ('BAD', 'NO'), tagged
        # After STARTTLS the same connection may log in.
        r.starttls()
        caps = capability_cmd(r)
        assert 'LOGINDISABLED' not in caps and 'AUTH=PLAIN' in caps, caps
        r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
        r.ok('SELECT INBOX')
        r.close()
        # imaplib sees it too, and refuses to send LOGIN by itself.
        c = imaplib.IMAP4(addr, port, timeout=harness.CLIENT_TIMEOUT)
        assert 'LOGINDISABLED' in c.capabilities, c.capabilities
        try:
            c.login(ALICE, ACCOUNTS[ALICE])
            raise AssertionError('LOGIN accepted over a non-loopback plaintext connection')
        except imaplib.IMAP4.error:
            pass
        c.shutdown()


# ---- LOGOUT --------------------------------------------------------------------------

def test_logout_gives_bye_then_ok_then_close():
    for logged_in in (False, True):
        r = raw()
        if logged_in:
            r.ok('LOGIN %s %s' % (ALICE, quote(ACCOUNTS[ALICE])))
            r.ok('SELECT INBOX')
        lines, tagged = r.cmd('LOGOUT')
        # RFC 9051 §6.1.3: untagged BYE, then the tagged OK, then close.
        assert len(lines) == 1 and lines[0].startswith('* BYE'), lines
        assert status(tagged) == 'OK', tagged
        assert r.at_eof(), 'connection still open after LOGOUT'
        r.close()


def test_logout_with_imaplib():
    c = server().imap(ALICE)
    typ, data = c.logout()
    assert typ == 'BYE', (typ, data)


def test_server_stops_cleanly():
    """Last: SIGTERM the module's server; exit 0 and no sanitizer report."""
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
