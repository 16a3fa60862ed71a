"""The emulator's OPC UA server: the default address space, written at plant time.

Address space (namespace URI :data:`NAMESPACE`, ``docs/emulator.md``): under the Objects
folder one object per asset, browse name = the asset id (``<station>`` or
``<station>#<k>``), node id ``ns=<i>;s=<asset>``; under it the variables

* a station server: ``State`` (String, a state name), ``GoodParts`` and ``ScrapParts``
  (Int64, cumulative since plant time 0), ``PowerKw`` (Double);
* a buffer, conveyor or queuing source: ``Level`` (Double, parts inside);

node ids ``ns=<i>;s=<asset>.<Variable>``. Every write carries the plant time as its
SourceTimestamp (the ServerTimestamp is the wall clock). Every variable is historizing:
each write is kept in asyncua's in-memory history (the last :data:`HISTORY` values per
variable; the initial values, ``off`` and 0 at plant time 0 until the first event overwrites
them, are not), so a client back-fills a gap with HistoryRead. Writes go straight to the history
store, not through an internal subscription, which would keep only the last of several
changes within one publishing interval.

The server runs its asyncio loop on a thread of its own; :meth:`OpcUaPublisher.send` hands
each batch to it and waits until it is written.

Security: ``none`` (no security), ``sign`` or ``sign-encrypt`` (Basic256Sha256 Sign /
SignAndEncrypt) with a server certificate, taken from ``certificate``/``private_key`` or made
on first use in ``pki`` (``server-cert.der``, ``server-key.pem``), and a folder of trusted
client certificates (``trusted``, DER or PEM): a client whose certificate is not in it is
refused.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from twin.live.emulator import EmulatorError, Message, Plan, Publisher
from twin.live.feed import check_address

#: The namespace of the emulator's nodes.
NAMESPACE = "urn:twinbench:plant"
#: Values kept per variable for HistoryRead (about 500 bytes each in memory: 5,000 values of
#: 76 variables, the standard line, hold some 190 MB). A busy variable of the standard line
#: changes about 1,200 times per plant hour: 5,000 cover 4 plant hours, 4 minutes at speed 60.
HISTORY = 5_000
#: Security modes (``--security``).
SECURITY = ("none", "sign", "sign-encrypt")
#: The server's application URI (in its certificate).
APP_URI = "urn:twinbench:emulator"

#: A channel's variable, and whether it is cumulative.
VARIABLES = {"state": "State", "parts": "GoodParts", "scrap": "ScrapParts",
             "power_kw": "PowerKw", "level": "Level"}


def default_pki() -> Path:
    """Where the server certificate is made on first use: the user's data folder."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"),
                                                           ".local", "share")
    return Path(base) / "twinbench" / "emulator-pki"


def parse_url(url: str) -> tuple[str, int]:
    """``opc.tcp://HOST:PORT`` as ``(host, port)``; raises :class:`EmulatorError`."""
    where = check_address(url, "opcua", "--opcua", EmulatorError)
    return where.host, where.port


class OpcUaPublisher(Publisher):
    """Serve the plant's values on ``url`` (``opc.tcp://HOST:PORT``; module docstring)."""

    name = "opcua"

    def __init__(self, url: str, security: str = "none", *, pki: str | os.PathLike | None = None,
                 certificate: str | os.PathLike | None = None,
                 private_key: str | os.PathLike | None = None,
                 trusted: str | os.PathLike | None = None) -> None:
        self.url = url
        self.host, self.port = parse_url(url)
        if security not in SECURITY:
            raise EmulatorError(f"--security {security!r}: choose one of {', '.join(SECURITY)}")
        if (certificate is None) != (private_key is None):
            raise EmulatorError("--certificate and --private-key go together: give both, or "
                                "neither to use a certificate made on first use")
        for opt, path in (("--certificate", certificate), ("--private-key", private_key)):
            if path is not None and not Path(path).is_file():
                raise EmulatorError(f"{opt} {os.fspath(path)!r}: no such file")
        if security != "none" and trusted is None:
            raise EmulatorError(f"--security {security} needs --trusted DIR: a folder of the "
                                "client certificates (DER or PEM) allowed to connect")
        if trusted is not None and not Path(trusted).is_dir():
            raise EmulatorError(f"--trusted {os.fspath(trusted)!r}: no such folder; create it "
                                "and put the trusted client certificates in it")
        self.security = security
        self.pki = Path(pki) if pki is not None else default_pki()
        self.certificate, self.private_key = certificate, private_key
        self.trusted = Path(trusted) if trusted is not None else None
        self.sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._nodes: dict[tuple[str, str], object] = {}
        self._count: dict[tuple[str, str], int] = {}
        self.idx = 0

    # --- the server's thread -------------------------------------------------------------------
    def open(self, plan: Plan, epoch: float) -> None:
        with socket.socket() as s:  # a port taken is the user's to fix, before any setup
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.host, self.port))
            except OSError as e:
                raise EmulatorError(f"--opcua {self.url!r}: cannot listen on "
                                    f"{self.host}:{self.port} ({e.strerror or e}); the port is "
                                    "taken or the address is not this machine's: choose "
                                    "another") from None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="opcua-server",
                                        daemon=True)
        self._thread.start()
        try:
            self._call(self._start(plan, epoch), timeout=60)
        except BaseException:
            self.close()
            raise

    def _call(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self, plan: Plan, epoch: float) -> None:
        from asyncua import Server, ua

        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://{self.host}:{self.port}")
        server.set_server_name("twinbench emulator")
        await server.set_application_uri(APP_URI)
        if self.security == "none":
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            await self._secure(server)
        self.idx = await server.register_namespace(NAMESPACE)
        objects = server.nodes.objects
        t0 = _stamp(epoch)
        initial = {"State": ("off", ua.VariantType.String), "GoodParts": (0, ua.VariantType.Int64),
                   "ScrapParts": (0, ua.VariantType.Int64),
                   "PowerKw": (0.0, ua.VariantType.Double), "Level": (0.0, ua.VariantType.Double)}
        history = server.iserver.history_manager.storage
        for asset, kind in zip(plan.assets, plan.kinds, strict=True):
            obj = await objects.add_object(ua.NodeId(asset, self.idx),
                                           ua.QualifiedName(asset, self.idx))
            names = ("Level",) if kind == "level" else ("State", "GoodParts", "ScrapParts",
                                                         "PowerKw")
            for name in names:
                value, vtype = initial[name]
                node = await obj.add_variable(ua.NodeId(f"{asset}.{name}", self.idx),
                                              ua.QualifiedName(name, self.idx),
                                              ua.Variant(value, vtype))
                await node.write_attribute(ua.AttributeIds.Historizing,
                                           ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
                level = ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.HistoryRead.mask
                for attr in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel):
                    await node.write_attribute(attr, ua.DataValue(
                        ua.Variant(level, ua.VariantType.Byte)))
                await history.new_historized_node(node.nodeid, None, HISTORY)
                await server.write_attribute_value(node.nodeid, ua.DataValue(
                    ua.Variant(value, vtype), SourceTimestamp=t0, ServerTimestamp=t0))
                self._nodes[(asset, name)] = (node.nodeid, vtype)
        try:
            await server.start()
        except OSError as e:
            raise EmulatorError(f"--opcua {self.url!r}: the server cannot listen "
                                f"({e.strerror or e}); choose another port") from None
        self._server = server

    async def _secure(self, server) -> None:
        from asyncua import ua
        from asyncua.crypto.cert_gen import setup_self_signed_certificate
        from asyncua.crypto.truststore import TrustStore
        from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
        from cryptography.x509.oid import ExtendedKeyUsageOID

        policy = (ua.SecurityPolicyType.Basic256Sha256_Sign if self.security == "sign"
                  else ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt)
        server.set_security_policy([policy])
        if self.certificate is None:
            self.pki.mkdir(parents=True, exist_ok=True)
            self.certificate = self.pki / "server-cert.der"
            self.private_key = self.pki / "server-key.pem"
            await setup_self_signed_certificate(
                Path(self.private_key), Path(self.certificate), APP_URI, socket.gethostname(),
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH],
                {"countryName": "XX", "organizationName": "twinbench",
                 "commonName": "twinbench emulator"})
        await server.load_certificate(str(self.certificate))
        await server.load_private_key(str(self.private_key))
        store = TrustStore([self.trusted], [])
        await store.load()
        validator = CertificateValidator(
            CertificateValidatorOptions.TRUSTED_VALIDATION
            | CertificateValidatorOptions.PEER_CLIENT, store)
        server.set_certificate_validator(validator)

    async def _write(self, batch: Sequence[Message]) -> None:
        from asyncua import ua

        server = self._server
        history = server.iserver.history_manager.storage
        now = datetime.now(UTC)
        for asset, channel, ts, value in batch:
            name = VARIABLES[channel]
            nodeid, vtype = self._nodes[(asset, name)]
            if channel in ("parts", "scrap"):
                value = self._count[(asset, name)] = self._count.get((asset, name), 0) + value
            dv = ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=_stamp(ts),
                              ServerTimestamp=now)
            await server.write_attribute_value(nodeid, dv)
            await history.save_node_value(nodeid, dv)

    def send(self, batch: Sequence[Message]) -> None:
        self._call(self._write(batch), timeout=120)
        self.sent += len(batch)

    def node_id(self, asset: str, variable: str) -> str:
        """The node id of ``variable`` of ``asset`` as text (``ns=2;s=lathes#0.State``)."""
        return f"ns={self.idx};s={asset}.{variable}"

    def close(self) -> None:
        if self._loop is None:
            return
        if self._server is not None:
            try:
                self._call(self._server.stop(), timeout=30)
            finally:
                self._server = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
        self._loop = None


def _stamp(ts: float) -> datetime:
    """Seconds since 1970 as the UTC datetime asyncua writes."""
    return datetime.fromtimestamp(ts, UTC)
