"""test_oauth: OAuth 2.0 bearer tokens (RFC 7628 OAUTHBEARER, XOAUTH2) over
IMAP, POP3 and submission.

The test is its own issuer: it makes RSA, P-256 and Ed25519 keys with the
openssl command, publishes RSA and P-256 in a JWKS file and Ed25519 as a PEM
file, and signs JWTs (RS256, ES256, EdDSA) with `openssl dgst` / `pkeyutl`.
Tokens that are expired, not yet valid, for another issuer or audience,
badly signed, unsigned (alg none) or for another account are each refused
with RFC 7628's JSON status and the reason in the log. Opaque tokens go to
an RFC 7662 introspection endpoint the test runs: Python's http.server over
TLS with a certificate the server must verify (oauth_ca_file). curl is the
real client (--oauth2-bearer). The JWKS file is rotated under the running
server, and introspection answers are cached (RFC 7662 §4) until the
token's exp or the configured time."""

import base64
import http.server
import json
import os
import poplib
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

import harness
from harness import Raw, status

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ISSUER = 'https://issuer.example.test'
AUDIENCE = 'buzon-mail'
CLIENT_ID = 'buzon'
CLIENT_SECRET = 's3cret-client'


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def openssl(*args, input=None):
    r = subprocess.run(['openssl'] + list(args), input=input, capture_output=True, timeout=60)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def der_ecdsa_to_raw(der):
    """DER ECDSA-Sig-Value -> R || S (32 bytes each), RFC 7518 §3.4."""
    assert der[0] == 0x30
    pos = 2 if der[1] < 0x80 else 3
    out = b''
    for _ in range(2):
        assert der[pos] == 0x02
        n = der[pos + 1]
        value = der[pos + 2:pos + 2 + n].lstrip(b'\0')
        out += value.rjust(32, b'\0')
        pos += 2 + n
    return out


class Issuer:
    """Keys, a JWKS file, a PEM file, and a token signer."""

    def __init__(self, directory):
        self.dir = directory
        self.keys = {}
        for name, args in (('rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']),
                           ('ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']),
                           ('ed', ['-algorithm', 'ED25519']),
                           ('other', ['-algorithm', 'RSA', '-pkeyopt',
                                      'rsa_keygen_bits:2048'])):
            path = os.path.join(directory, name + '.pem')
            openssl('genpkey', *args, '-out', path)
            self.keys[name] = path
        ec_der = openssl('pkey', '-in', self.keys['ec'], '-pubout', '-outform', 'DER')
        point = ec_der[-65:]
        modulus = openssl('rsa', '-in', self.keys['rsa'], '-pubout', '-modulus',
                          '-noout').decode().strip().split('=', 1)[1]
        jwks = {'keys': [
            {'kty': 'RSA', 'kid': 'rsa-1', 'use': 'sig', 'alg': 'RS256',
             'n': b64url(bytes.fromhex(modulus)), 'e': b64url((65537).to_bytes(3, 'big'))},
            {'kty': 'EC', 'kid': 'ec-1', 'crv': 'P-256', 'x': b64url(point[1:33]),
             'y': b64url(point[33:65])},
            {'kty': 'oct', 'kid': 'hmac', 'k': b64url(b'not for us')},
        ]}
        self.jwks = jwks
        self.jwks_path = os.path.join(directory, 'jwks.json')
        with open(self.jwks_path, 'w') as f:
            json.dump(jwks, f)
        self.ed_pub = os.path.join(directory, 'ed.pub.pem')
        with open(self.ed_pub, 'wb') as f:
            f.write(openssl('pkey', '-in', self.keys['ed'], '-pubout'))

    def token(self, alg='RS256', key=None, kid=None, **claims):
        now = int(time.time())
        body = {'iss': ISSUER, 'aud': AUDIENCE, 'exp': now + 600, 'iat': now,
                'email': ALICE, 'sub': '1234'}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        header = {'alg': alg, 'typ': 'JWT'}
        default_kid = {'RS256': 'rsa-1', 'ES256': 'ec-1'}.get(alg)
        if kid or default_kid:
            header['kid'] = kid or default_kid
        signing_input = (b64url(json.dumps(header).encode()) + '.' +
                         b64url(json.dumps(body).encode())).encode()
        path = os.path.join(self.dir, 'input')
        with open(path, 'wb') as f:
            f.write(signing_input)
        if alg == 'RS256':
            sig = openssl('dgst', '-sha256', '-sign', self.keys[key or 'rsa'], path)
        elif alg == 'ES256':
            sig = der_ecdsa_to_raw(openssl('dgst', '-sha256', '-sign', self.keys[key or 'ec'],
                                           path))
        elif alg == 'EdDSA':
            sig = openssl('pkeyutl', '-sign', '-inkey', self.keys[key or 'ed'], '-rawin',
                          '-in', path)
        else:
            sig = b''
        return signing_input.decode() + '.' + b64url(sig)


class Introspection:
    """An RFC 7662 endpoint over TLS on loopback."""

    TOKENS = {'opaque-alice': {'active': True, 'email': ALICE, 'iss': ISSUER,
                               'aud': [AUDIENCE, 'other'], 'exp': int(time.time()) + 600},
              'opaque-inactive': {'active': False},
              'opaque-cached': {'active': True, 'email': ALICE, 'exp': int(time.time()) + 3600},
              'opaque-wrong-aud': {'active': True, 'email': ALICE, 'aud': 'other'}}

    def __init__(self, directory):
        self.cert = os.path.join(directory, 'introspect-cert.pem')
        key = os.path.join(directory, 'introspect-key.pem')
        openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                '-nodes', '-keyout', key, '-out', self.cert, '-days', '2', '-subj',
                '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1')
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length', '0'))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                auth = self.headers.get('Authorization', '')
                outer.requests.append((auth, form))
                want = 'Basic ' + base64.b64encode(
                    ('%s:%s' % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()
                if auth != want:
                    self.send_response(401)
                    self.end_headers()
                    return
                answer = outer.TOKENS.get(form.get('token', [''])[0], {'active': False})
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = 'https://127.0.0.1:%d/introspect' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()


_state = {}


def setup():
    if 'server' in _state:
        return _state
    import tempfile
    directory = tempfile.mkdtemp(prefix='buzon-oauth-')
    issuer = Issuer(directory)
    intro = Introspection(directory)
    secret = os.path.join(directory, 'client-secret')
    with open(secret, 'w') as f:
        f.write(CLIENT_SECRET + '\n')
    s = harness.Server(accounts={ALICE: 'pw-alice', BOB: 'pw-bob'},
                       listeners=('imap', 'imaps', 'pop3', 'submission'),
                       config={'oauth_issuer': ISSUER, 'oauth_audience': AUDIENCE,
                               'oauth_jwks_file': issuer.jwks_path,
                               'oauth_pem_keys': issuer.ed_pub,
                               'oauth_account_claim': 'email',
                               'oauth_introspection_url': intro.url,
                               'oauth_client_id': CLIENT_ID,
                               'oauth_client_secret_file': secret,
                               'oauth_ca_file': intro.cert})
    s.start()
    _state.update(server=s, issuer=issuer, intro=intro, dir=directory, next_address=1)
    return _state


def fresh_address():
    """Failing logins each come from their own loopback address, so the
    throttle of one test does not slow the next."""
    st = setup()
    st['next_address'] += 1
    return '127.0.2.%d' % st['next_address']


def imap_from(address=None):
    st = setup()
    s = st['server']
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.bind((address or '127.0.0.1', 0))
    sock.connect((s.host, s.ports['imap']))
    return Raw(sock)


def oauthbearer(user, token):
    gs2 = 'n,a=%s,' % user if user else 'n,,'
    return base64.b64encode(('%s\x01auth=Bearer %s\x01\x01' % (gs2, token)).encode()).decode()


def xoauth2(user, token):
    return base64.b64encode(('user=%s\x01auth=Bearer %s\x01\x01' % (user, token)).encode()).decode()


def imap_auth(r, mech, ir):
    """AUTHENTICATE with an initial response; on an error challenge, answer
    it as RFC 7628 §3.2.3 says. Returns (challenge JSON or None, tagged)."""
    tag = r.next_tag()
    r.send(('%s AUTHENTICATE %s %s\r\n' % (tag, mech, ir)).encode())
    line = r.line()
    challenge = None
    if line.startswith('+ '):
        challenge = json.loads(base64.b64decode(line[2:]))
        r.send(b'AQ==\r\n' if mech == 'OAUTHBEARER' else b'\r\n')
        line = r.line()
    return challenge, line


def test_capability_lists_oauth_mechanisms():
    r = imap_from()
    lines, tagged = r.cmd('CAPABILITY')
    caps = lines[0].split()
    assert 'AUTH=OAUTHBEARER' in caps and 'AUTH=XOAUTH2' in caps, caps
    r.close()


def test_good_tokens_of_each_algorithm_log_in():
    st = setup()
    for alg in ('RS256', 'ES256', 'EdDSA'):
        r = imap_from()
        challenge, tagged = imap_auth(r, 'OAUTHBEARER', oauthbearer(ALICE, st['issuer'].token(alg)))
        assert challenge is None and status(tagged) == 'OK', (alg, challenge, tagged)
        r.ok('SELECT INBOX')
        r.close()
    # Without an authzid the token's claim names the account.
    r = imap_from()
    challenge, tagged = imap_auth(r, 'OAUTHBEARER', oauthbearer(None, st['issuer'].token()))
    assert status(tagged) == 'OK', tagged
    r.close()


def test_xoauth2_over_imap_pop3_and_submission():
    st = setup()
    s = st['server']
    token = st['issuer'].token('ES256', email=BOB)
    r = imap_from()
    challenge, tagged = imap_auth(r, 'XOAUTH2', xoauth2(BOB, token))
    assert status(tagged) == 'OK', tagged
    r.close()
    p = poplib.POP3(s.host, s.ports['pop3'], timeout=10)
    assert 'XOAUTH2' in p.capa()['SASL']
    # RFC 5034 §4: a command line over 255 octets may not carry the
    # initial response, so the token follows the empty challenge.
    assert p._shortcmd('AUTH XOAUTH2').startswith(b'+ ')
    assert p._shortcmd(xoauth2(BOB, token)).startswith(b'+OK')
    p.quit()
    c = smtplib.SMTP(s.host, s.ports['submission'], timeout=10)
    c.ehlo('client.example')
    assert 'OAUTHBEARER' in c.esmtp_features['auth']
    code, text = c.docmd('AUTH', 'OAUTHBEARER ' + oauthbearer(BOB, token))
    assert code == 235, (code, text)
    c.quit()


def refused(token, reason, mech='OAUTHBEARER', user=ALICE):
    st = setup()
    r = imap_from(fresh_address())
    ir = oauthbearer(user, token) if mech == 'OAUTHBEARER' else xoauth2(user, token)
    challenge, tagged = imap_auth(r, mech, ir)
    r.close()
    want = {'status': 'invalid_token'} if mech == 'OAUTHBEARER' else \
        {'status': '401', 'schemes': 'bearer'}
    assert challenge == want, challenge
    assert tagged.split()[1:3] == ['NO', '[AUTHENTICATIONFAILED]'], tagged
    assert 'bearer token refused for %s from' % user.lower() in st['server'].log()
    assert reason in st['server'].log(), (reason, st['server'].log_tail())


def test_expired_token_is_refused():
    st = setup()
    now = int(time.time())
    refused(st['issuer'].token(exp=now - 3600), 'expired')


def test_not_yet_valid_token_is_refused():
    st = setup()
    refused(st['issuer'].token('ES256', nbf=int(time.time()) + 3600), 'not yet valid')


def test_wrong_issuer_is_refused():
    st = setup()
    refused(st['issuer'].token('EdDSA', iss='https://evil.example'), 'wrong issuer')


def test_wrong_audience_is_refused():
    st = setup()
    refused(st['issuer'].token(aud=['someone-else']), 'wrong audience')


def test_bad_signatures_are_refused():
    st = setup()
    good = st['issuer'].token()
    h, p, sig = good.split('.')
    # The claims changed after signing (another account).
    claims = json.loads(base64.urlsafe_b64decode(p + '=='))
    claims['email'] = BOB
    forged = '.'.join([h, b64url(json.dumps(claims).encode()), sig])
    refused(forged, 'bad signature', user=BOB)
    # Signed by a key the server does not know, under a known kid.
    refused(st['issuer'].token('RS256', key='other'), 'bad signature')
    # alg none (RFC 7518 §3.6) is never accepted.
    refused(st['issuer'].token('none'), 'unsupported algorithm')
    # HS256 with a key from the JWKS "oct" entry: not an algorithm we take.
    refused(st['issuer'].token('HS256', kid='hmac'), 'unsupported algorithm', mech='XOAUTH2')


def test_token_for_another_account_is_refused():
    st = setup()
    refused(st['issuer'].token(email=BOB), 'the token names another account')
    refused(st['issuer'].token(email='nobody@example.test'), 'no such account',
            user='nobody@example.test')


def test_opaque_tokens_go_to_introspection():
    st = setup()
    before = len(st['intro'].requests)
    r = imap_from()
    challenge, tagged = imap_auth(r, 'OAUTHBEARER', oauthbearer(ALICE, 'opaque-alice'))
    assert status(tagged) == 'OK', (challenge, tagged, st['server'].log_tail())
    r.close()
    auth, form = st['intro'].requests[before]
    assert form['token'] == ['opaque-alice'] and form['token_type_hint'] == ['access_token']
    refused('opaque-inactive', 'token not active')
    refused('opaque-wrong-aud', 'wrong audience')


def test_malformed_oauth_messages_are_bad():
    for raw in ('n,,\x01auth=Basic abc\x01\x01', 'p=tls-unique,,\x01auth=Bearer x\x01\x01',
                'n,,\x01auth=Bearer x\x01', 'garbage'):
        r = imap_from()
        tagged = imap_auth(r, 'OAUTHBEARER', base64.b64encode(raw.encode()).decode())[1]
        assert status(tagged) == 'BAD', (raw, tagged)
        r.ok('NOOP')
        r.close()


def test_curl_real_client_with_bearer_token():
    st = setup()
    s = st['server']
    token = st['issuer'].token('RS256')
    for proto, port, mech in (('imap', s.ports['imap'], 'OAUTHBEARER'),
                              ('imap', s.ports['imap'], 'XOAUTH2'),
                              ('pop3', s.ports['pop3'], 'XOAUTH2')):
        url = '%s://127.0.0.1:%d/' % (proto, port)
        r = subprocess.run(['curl', '-sS', '--max-time', '20', '--login-options',
                            'AUTH=' + mech, '--oauth2-bearer', token, '-u', ALICE + ':', url],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (proto, mech, r.returncode, r.stderr)
    # An expired token: curl reports the failed login (67).
    r = subprocess.run(['curl', '-sS', '--max-time', '20', '--interface', fresh_address(),
                        '--login-options', 'AUTH=OAUTHBEARER',
                        '--oauth2-bearer', st['issuer'].token(exp=1), '-u', ALICE + ':',
                        'imap://127.0.0.1:%d/' % s.ports['imap']],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 67, (r.returncode, r.stderr)


def test_introspection_endpoint_must_verify():
    """An endpoint whose certificate the configured CA does not sign is not
    asked anything: the login fails as temporarily unavailable."""
    st = setup()
    other_ca = os.path.join(st['dir'], 'other-ca.pem')
    other_key = os.path.join(st['dir'], 'other-key.pem')
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', other_key, '-out', other_ca, '-days', '2', '-subj', '/CN=127.0.0.1',
            '-addext', 'subjectAltName=IP:127.0.0.1')
    secret = os.path.join(st['dir'], 'client-secret')
    with harness.Server(accounts={ALICE: 'pw'}, listeners=('imap',),
                        config={'oauth_issuer': ISSUER, 'oauth_audience': AUDIENCE,
                                'oauth_introspection_url': st['intro'].url,
                                'oauth_client_id': CLIENT_ID,
                                'oauth_client_secret_file': secret,
                                'oauth_ca_file': other_ca}) as s:
        before = len(st['intro'].requests)
        r = s.raw()
        challenge, tagged = imap_auth(r, 'OAUTHBEARER', oauthbearer(ALICE, 'opaque-alice'))
        assert tagged.split()[1:3] == ['NO', '[UNAVAILABLE]'], tagged
        r.close()
        assert len(st['intro'].requests) == before
        assert "certificate does not verify" in s.log(), s.log_tail()


# auth.c looks at the key files at most this often (AUTH_KEYS_RECHECK_MS);
# sleeping a little longer guarantees the next token check looks again.
KEYS_RECHECK = 5.5


def write_atomically(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def bearer_login(user, token):
    """(challenge, tagged) of one OAUTHBEARER login from a fresh address."""
    r = imap_from(fresh_address())
    challenge, tagged = imap_auth(r, 'OAUTHBEARER', oauthbearer(user, token))
    r.close()
    return challenge, tagged


def test_jwks_file_rotation_needs_no_restart():
    """A key added to the JWKS file logs in without a restart; a file that
    does not parse keeps the keys there were; a key removed stops working;
    putting it back brings it back. (bob logs in, so the failures here do
    not count against alice's throttle.)"""
    st = setup()
    s, issuer = st['server'], st['issuer']
    path = os.path.join(st['dir'], 'rsa2.pem')
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path)
    issuer.keys['rsa2'] = path
    modulus = openssl('rsa', '-in', path, '-pubout', '-modulus',
                      '-noout').decode().strip().split('=', 1)[1]
    new_key = {'kty': 'RSA', 'kid': 'rsa-2', 'alg': 'RS256',
               'n': b64url(bytes.fromhex(modulus)), 'e': b64url((65537).to_bytes(3, 'big'))}
    new_token = issuer.token('RS256', key='rsa2', kid='rsa-2', email=BOB)
    challenge, tagged = bearer_login(BOB, new_token)
    assert challenge == {'status': 'invalid_token'}, (challenge, tagged)
    original = json.dumps(issuer.jwks)
    rotated = {'keys': [new_key] + [k for k in issuer.jwks['keys'] if k['kid'] != 'ec-1']}
    write_atomically(issuer.jwks_path, json.dumps(rotated))
    time.sleep(KEYS_RECHECK)
    challenge, tagged = bearer_login(BOB, new_token)
    assert challenge is None and status(tagged) == 'OK', (challenge, tagged, s.log_tail())
    assert 'OAuth keys reloaded' in s.log()
    # The removed EC key no longer verifies.
    challenge, tagged = bearer_login(BOB, issuer.token('ES256', email=BOB))
    assert challenge == {'status': 'invalid_token'}, (challenge, tagged)
    # A half-written file: the keys stay as they were, and it is logged.
    write_atomically(issuer.jwks_path, original[:len(original) // 2])
    time.sleep(KEYS_RECHECK)
    challenge, tagged = bearer_login(BOB, new_token)
    assert status(tagged) == 'OK', (challenge, tagged, s.log_tail())
    assert 'oauth_jwks_file %s' % issuer.jwks_path in s.log(), s.log_tail()
    # The original file back: EC works again, rsa-2 is gone.
    write_atomically(issuer.jwks_path, original)
    time.sleep(KEYS_RECHECK)
    challenge, tagged = bearer_login(BOB, issuer.token('ES256', email=BOB))
    assert challenge is None and status(tagged) == 'OK', (challenge, tagged, s.log_tail())
    challenge, tagged = bearer_login(BOB, new_token)
    assert challenge == {'status': 'invalid_token'}, (challenge, tagged)


def test_introspection_answers_are_cached_until_exp_or_the_ttl():
    """Two logins with the same opaque token ask the endpoint once, and so
    do two refusals of an unknown one; an answer is not kept past the
    token's exp (RFC 7662 §4): the endpoint is then asked again."""
    st = setup()
    intro = st['intro']
    asked = lambda token: sum(1 for _, form in intro.requests if form.get('token') == [token])
    secret = os.path.join(st['dir'], 'client-secret')
    with harness.Server(accounts={ALICE: 'pw'}, listeners=('imap',),
                        config={'oauth_issuer': ISSUER, 'oauth_audience': AUDIENCE,
                                'oauth_introspection_url': intro.url,
                                'oauth_client_id': CLIENT_ID,
                                'oauth_client_secret_file': secret,
                                'oauth_ca_file': intro.cert,
                                'oauth_introspection_cache': '1h',
                                'oauth_introspection_negative_cache': '1h'}) as s:
        def login(token):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.bind((fresh_address(), 0))
            sock.connect((s.host, s.ports['imap']))
            r = Raw(sock)
            challenge, tagged = imap_auth(r, 'OAUTHBEARER', oauthbearer(ALICE, token))
            r.close()
            return challenge, tagged
        before = asked('opaque-cached')
        for _ in range(2):
            challenge, tagged = login('opaque-cached')
            assert status(tagged) == 'OK', (challenge, tagged, s.log_tail())
        assert asked('opaque-cached') == before + 1
        before = asked('opaque-nobody-knows')
        for _ in range(2):
            challenge, tagged = login('opaque-nobody-knows')
            assert challenge == {'status': 'invalid_token'}, (challenge, tagged)
        assert asked('opaque-nobody-knows') == before + 1
        assert 'cached answer' in s.log()
        # exp bounds the cache: once it is past, the endpoint is asked
        # again (and says expired).
        exp = int(time.time()) + 6
        intro.TOKENS['opaque-short'] = {'active': True, 'email': ALICE, 'exp': exp}
        challenge, tagged = login('opaque-short')
        assert status(tagged) == 'OK', (challenge, tagged, s.log_tail())
        while time.time() <= exp + 1:
            time.sleep(0.5)
        challenge, tagged = login('opaque-short')
        assert challenge == {'status': 'invalid_token'}, (challenge, tagged)
        assert asked('opaque-short') == 2


def test_inconsistent_oauth_config_stops_the_start():
    with harness.Server(listeners=('imap',), serve=False,
                        config={'oauth_issuer': ISSUER}) as s:
        r = subprocess.run([s.buzon, '-c', s.config_path, 'serve'], capture_output=True,
                           text=True, timeout=30, env=harness.sanitizer_env())
        assert r.returncode == 1 and 'oauth needs oauth_issuer and oauth_audience' in r.stderr, \
            r.stderr


def test_server_stops_cleanly():
    st = setup()
    st['server'].stop()
    st['intro'].httpd.shutdown()


if __name__ == '__main__':
    harness.main()
