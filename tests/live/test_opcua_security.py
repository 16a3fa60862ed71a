"""OPC UA security against a real asyncua server: Basic256Sha256 Sign and SignAndEncrypt, the
server refusing an untrusted client certificate, twinbench refusing an untrusted server (and
connecting once the user did what the message says)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest
from opcua_server import SERVER_URI, PlantServer, make_certificate
from test_opcua import CollectingFeed

from twin.live.feed import LiveError, open_source
from twin.live.opcua import APP_URI, thumbprint

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def secure_plant(tmp_path):
    """A server offering only Basic256Sha256 (Sign, SignAndEncrypt) that accepts the client
    certificates in ``tmp_path/server-trusts``."""
    cert, key = asyncio.run(make_certificate(tmp_path / "server-pki", "plant", SERVER_URI,
                                             server=True))
    trusts = tmp_path / "server-trusts"
    trusts.mkdir()
    server = PlantServer(tmp_path / "server", certificate=cert, private_key=key,
                         client_trust=trusts, allow_none=False)
    server.start()
    yield server
    server.close()


def run_once(url, **options):
    """Run a source until it has connected and read the initial values (then stop it), or
    until it raised; returns (feed, error)."""
    source = open_source(url, **options)
    feed = CollectingFeed()
    stop = threading.Event()
    error: list[BaseException] = []

    def run():
        try:
            source.run(feed, stop)
        except BaseException as e:
            error.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    feed.wait(lambda f: error or len(f.got) >= 7, timeout=30, what="values or an error")
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    return feed, (error[0] if error else None)


def trust(file: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(file, folder / file.name)


def test_an_untrusted_server_is_refused_with_how_to_trust_it(secure_plant, tmp_path):
    pki = tmp_path / "pki"
    trust(pki_client_cert(pki), secure_plant.client_trust)  # the server trusts twinbench
    feed, error = run_once(secure_plant.url, security="SignAndEncrypt", pki_dir=pki, timeout=3)
    assert isinstance(error, LiveError)
    message = str(error)
    thumb = thumbprint(secure_plant.certificate.read_bytes())
    rejected = pki / "rejected" / (thumb.replace(":", "") + ".der")
    assert "not trusted" in message and thumb in message
    assert f"copy {rejected} into {pki / 'trusted'}/" in message
    assert rejected.read_bytes() == secure_plant.certificate.read_bytes()
    assert feed.got == []
    # doing what the message says is enough
    trust(rejected, pki / "trusted")
    feed, error = run_once(secure_plant.url, security="SignAndEncrypt", pki_dir=pki, timeout=3)
    assert error is None
    assert feed.values("M1", "state") == [(secure_plant.t0, "idle")]


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
def test_the_server_refuses_an_untrusted_client_and_accepts_a_trusted_one(secure_plant, tmp_path,
                                                                          mode):
    pki = tmp_path / "pki"
    trust(secure_plant.certificate, pki / "trusted")  # twinbench trusts the server
    if mode == "Sign":  # twinbench's own certificate, made once in pki/own
        options = {"pki_dir": pki}
        cert = pki_client_cert(pki)
    else:  # the user's certificate and key
        cert, key = asyncio.run(make_certificate(tmp_path / "mine", "line-3-client",
                                                 "urn:example:line3:twin", server=False))
        options = {"pki_dir": pki, "certificate": str(cert), "private_key": str(key)}
    feed, error = run_once(secure_plant.url, security=mode, timeout=3, **options)
    assert isinstance(error, LiveError)
    assert "refused twinbench's client certificate" in str(error)
    assert str(cert) in str(error) and thumbprint(cert.read_bytes()) in str(error)
    assert feed.got == []
    # the server's administrator trusts it
    trust(cert, secure_plant.client_trust)
    feed, error = run_once(secure_plant.url, security=mode, timeout=3, **options)
    assert error is None
    assert feed.values("M1", "state") == [(secure_plant.t0, "idle")]
    assert feed.bads == []


def test_no_security_only_when_asked_and_offered(secure_plant, tmp_path):
    # this server offers no unsecured endpoint: asking for None is refused with a message
    feed, error = run_once(secure_plant.url, security="None", pki_dir=tmp_path / "pki",
                           timeout=3)
    assert isinstance(error, LiveError)
    assert "no endpoint with no security (None)" in str(error)


def pki_client_cert(pki: Path) -> Path:
    """twinbench's own client certificate in ``pki`` (made as the source makes it)."""
    from twin.live.opcua import OpcUaSource

    source = OpcUaSource("opc.tcp://127.0.0.1:1", pki_dir=pki)
    asyncio.run(source._own_certificate())
    assert APP_URI in source.certificate.read_bytes().decode("latin-1")
    return source.certificate


def test_a_server_issued_by_a_trusted_authority_is_trusted(tmp_path):
    import socket

    from asyncua.crypto import cert_gen
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    def authority(name):
        key = cert_gen.generate_private_key()
        return key, cert_gen.generate_self_signed_app_certificate(key, name, {}, [], [])

    ca_key, ca = authority("plant CA")
    _, other_ca = authority("someone else's CA")
    key = cert_gen.generate_private_key()
    csr = cert_gen.generate_app_certificate_signing_request(
        key, "plant", {}, [x509.UniformResourceIdentifier(SERVER_URI),
                           x509.DNSName(socket.gethostname())], [ExtendedKeyUsageOID.SERVER_AUTH])
    cert = cert_gen.sign_certificate_request(csr, ca, ca_key)
    folder = tmp_path / "server-pki"
    folder.mkdir()
    (folder / "plant.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (folder / "plant.pem").write_bytes(cert_gen.dump_private_key_as_pem(key))
    server = PlantServer(tmp_path / "server", certificate=folder / "plant.der",
                         private_key=folder / "plant.pem", allow_none=False)
    server.start()
    try:
        pki = tmp_path / "pki"
        (pki / "trusted").mkdir(parents=True)
        (pki / "trusted" / "other-ca.pem").write_bytes(
            other_ca.public_bytes(serialization.Encoding.PEM))
        _, error = run_once(server.url, security="Sign", pki_dir=pki, timeout=3)
        assert isinstance(error, LiveError) and "not trusted" in str(error)
        (pki / "trusted" / "plant-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        feed, error = run_once(server.url, security="Sign", pki_dir=pki, timeout=3)
        assert error is None
        assert feed.values("M1", "state") == [(server.t0, "idle")]
    finally:
        server.close()
