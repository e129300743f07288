"""test_relay_tls: the outbound queue checks relay_host's certificate (chain
to relay_tls_ca_file or the system's CAs, and the relay's name or address
in it) and sends nothing in clear to it; a refused relay leaves the mail
queued as a temporary failure. relay_tls_insecure = yes relaxes both. MX
delivery stays opportunistic (RFC 7435): any certificate, or none.

The certificates are made here with the openssl command: a test CA, a
relay certificate it signs for 127.0.0.1, one it signs for another name,
and one signed by nobody the server knows."""

import os
import shutil
import subprocess
import tempfile

import harness
from test_queue import Dns, Sink, enqueue, message, mx_config, queue_list, wait_for

ALICE = 'alice@example.test'
ACCOUNTS = {ALICE: 'alice-pw'}

_certs = None


def openssl(*args, cwd):
    subprocess.run(('openssl',) + args, cwd=cwd, check=True, capture_output=True)


def certs():
    """{'ca', 'good', 'named', 'wrong_name', 'unknown'}: paths (pairs for
    servers): good names 127.0.0.1, named names localhost."""
    global _certs
    if _certs is not None:
        return _certs
    d = tempfile.mkdtemp(prefix='buzon-certs-')
    ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes')
    for ca in ('ca', 'other_ca'):
        openssl('req', '-x509', *ec, '-keyout', ca + '.key', '-out', ca + '.pem',
                '-days', '2', '-subj', '/CN=buzon test ' + ca,
                '-addext', 'basicConstraints=critical,CA:TRUE',
                '-addext', 'keyUsage=critical,keyCertSign,cRLSign', cwd=d)
    for name, ca, san in (('good', 'ca', 'IP:127.0.0.1'),
                          ('named', 'ca', 'DNS:localhost'),
                          ('wrong_name', 'ca', 'DNS:relay.other.test'),
                          ('unknown', 'other_ca', 'IP:127.0.0.1')):
        openssl('req', '-new', *ec, '-keyout', name + '.key', '-out', name + '.csr',
                '-subj', '/CN=' + name, cwd=d)
        with open(os.path.join(d, name + '.ext'), 'w') as f:
            f.write('subjectAltName=%s\nbasicConstraints=CA:FALSE\n'
                    'extendedKeyUsage=serverAuth\n' % san)
        openssl('x509', '-req', '-in', name + '.csr', '-CA', ca + '.pem', '-CAkey', ca + '.key',
                '-CAcreateserial', '-days', '2', '-extfile', name + '.ext',
                '-out', name + '.pem', cwd=d)
    path = lambda n: os.path.join(d, n)
    _certs = {'dir': d, 'ca': path('ca.pem')}
    for name in ('good', 'named', 'wrong_name', 'unknown'):
        _certs[name] = (path(name + '.pem'), path(name + '.key'))
    return _certs


def relay_config(sink, **extra):
    config = {'relay_host': '127.0.0.1:%d' % sink.port, 'queue_retry_base': '1h'}
    config.update(extra)
    return config


def stays_queued(s, sink, why):
    out = wait_for(lambda: (lambda o: o if 'attempts 1' in o else None)(queue_list(s)),
                   'the failed attempt')
    assert 'pending' in out and why in out, out
    assert sink.messages == []
    return out


def test_relay_certificate_from_the_configured_ca_is_accepted():
    # By address (the certificate's IP SAN) and by name (its DNS SAN).
    for pair, host in ((certs()['good'], '127.0.0.1'), (certs()['named'], 'localhost')):
        sink = Sink(tls=pair)
        try:
            with harness.Server(accounts=ACCOUNTS,
                                config=relay_config(sink, relay_host='%s:%d' % (host, sink.port),
                                                    relay_tls_ca_file=certs()['ca'])) as s:
                enqueue(s, ALICE, ['bob@remote.test'], message('verified'))
                got = sink.wait_messages(1)
                assert got[0][1] == ['bob@remote.test']
                assert 'STARTTLS' in sink.transcript
                wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
        finally:
            sink.close()


def test_relay_certificate_the_system_does_not_trust_keeps_the_mail_queued():
    sink = Sink(tls=certs()['good'])
    try:
        with harness.Server(accounts=ACCOUNTS, config=relay_config(sink)) as s:
            enqueue(s, ALICE, ['bob@remote.test'], message('untrusted'))
            stays_queued(s, sink, 'certificate not trusted')
    finally:
        sink.close()


def test_relay_certificate_for_another_name_or_from_another_ca_is_refused():
    for pair, host, why in ((certs()['wrong_name'], '127.0.0.1', 'IP address mismatch'),
                            (certs()['wrong_name'], 'localhost', 'hostname mismatch'),
                            (certs()['unknown'], '127.0.0.1', 'certificate not trusted')):
        sink = Sink(tls=pair)
        try:
            with harness.Server(accounts=ACCOUNTS,
                                config=relay_config(sink, relay_host='%s:%d' % (host, sink.port),
                                                    relay_tls_ca_file=certs()['ca'])) as s:
                enqueue(s, ALICE, ['bob@remote.test'], message('refused'))
                stays_queued(s, sink, why)
        finally:
            sink.close()


def test_relay_without_starttls_gets_nothing_in_clear():
    sink = Sink()
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config=relay_config(sink, relay_tls_ca_file=certs()['ca'])) as s:
            enqueue(s, ALICE, ['bob@remote.test'], message('clear'))
            stays_queued(s, sink, 'relay offers no STARTTLS')
            assert not any(l.startswith('MAIL') for l in sink.transcript)
    finally:
        sink.close()


def test_relay_tls_insecure_takes_any_certificate_or_none():
    for tls in (certs()['unknown'], None):
        sink = Sink(tls=tls)
        try:
            with harness.Server(accounts=ACCOUNTS,
                                config=relay_config(sink, relay_tls_insecure='yes')) as s:
                enqueue(s, ALICE, ['bob@remote.test'], message('insecure'))
                assert sink.wait_messages(1)[0][1] == ['bob@remote.test']
                assert ('STARTTLS' in sink.transcript) == (tls is not None)
        finally:
            sink.close()


def test_mx_delivery_stays_opportunistic():
    sink = Sink(tls=certs()['unknown'])
    dns = Dns({('remote.test', 'MX'): [(10, 'mx.remote.test')],
               ('mx.remote.test', 'A'): ['127.0.0.1']})
    try:
        with harness.Server(accounts=ACCOUNTS, config=mx_config(dns, sink)) as s:
            enqueue(s, ALICE, ['bob@remote.test'], message('mx'))
            assert sink.wait_messages(1)[0][1] == ['bob@remote.test']
            assert 'STARTTLS' in sink.transcript
    finally:
        sink.close()
        dns.close()


def test_a_ca_file_that_cannot_be_read_stops_the_server():
    s = harness.Server(accounts=ACCOUNTS,
                       config={'relay_host': '127.0.0.1:25',
                               'relay_tls_ca_file': '/nonexistent/ca.pem'})
    try:
        try:
            s.start()  # the listeners may accept for a moment before it exits
        except harness.ServerError:
            pass
        assert s.proc.wait(timeout=30) == 1
        assert 'cannot load the CA certificates /nonexistent/ca.pem' in s.log(), s.log()
    finally:
        s.kill()  # it exited with status 1, as it should: no status check
        s.stop()


if __name__ == '__main__':
    try:
        harness.main()
    finally:
        if _certs is not None:
            shutil.rmtree(_certs['dir'], ignore_errors=True)
