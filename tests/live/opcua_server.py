"""A real asyncua OPC UA server for the OPC UA source's tests and benchmark.

It runs in the test process, on an asyncio loop of its own thread, on a free loopback port,
and builds the default convention's address space (docs/live-opcua.md): under Objects one
object per asset with ``State``, ``GoodParts``, ``ScrapParts``, ``PowerKw`` (machines) or
``Level`` (buffers). The test writes values with the source time stamps it chooses
(``write``, ``write_many``), stops the server and starts it again on the same port with the
same values (and, with ``history=True``, the same history: the plant's historian).
Values written while the server is stopped are the plant going on: they are its values when
it starts again, and in its history.
Security: ``certificate``/``private_key`` make it offer Basic256Sha256 Sign and
SignAndEncrypt, and with ``client_trust`` it accepts only client certificates found in that
folder.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.history import HistoryDict
from cryptography.x509.oid import ExtendedKeyUsageOID

MACHINE_VARS = {"State": ("idle", ua.VariantType.String), "GoodParts": (0, ua.VariantType.Int64),
                "ScrapParts": (0, ua.VariantType.Int64), "PowerKw": (0.0, ua.VariantType.Double)}
BUFFER_VARS = {"Level": (0, ua.VariantType.Int32)}
NAMESPACE = "urn:twinbench:test-plant"
SERVER_URI = "urn:twinbench:test-plant:server"


class Historian(HistoryDict):
    """A history in memory that outlives the server's restarts. (asyncua's SQLite store
    cannot read back a time stamp of whole seconds with a zone, nor a string node id.)"""

    async def new_historized_node(self, node_id, period, count=0) -> None:
        if node_id not in self._datachanges:
            await super().new_historized_node(node_id, period, count)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def make_certificate(folder: Path, name: str, app_uri: str, server: bool) -> tuple[Path,
                                                                                         Path]:
    """A self-signed application certificate (DER) and key (PEM) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.der", folder / f"{name}.pem"
    use = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    await setup_self_signed_certificate(key, cert, app_uri, socket.gethostname(), [use],
                                        {"commonName": name})
    return cert, key


class PlantServer:
    """An OPC UA server following the default convention; ``start``/``stop`` any number of
    times (same port, same values, same history)."""

    def __init__(self, folder: Path, machines=("M1", "M2"), buffers=("B1",), history=False,
                 certificate: Path | None = None, private_key: Path | None = None,
                 client_trust: Path | None = None, allow_none: bool = True):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}"
        self.machines, self.buffers = tuple(machines), tuple(buffers)
        self.history = history
        self.certificate, self.private_key = certificate, private_key
        self.client_trust, self.allow_none = client_trust, allow_none
        self.t0 = float(int(datetime.now(UTC).timestamp()))  # the initial values' time
        self._last: dict[str, ua.DataValue] = {}
        for asset in self.machines:
            for var, (value, vt) in MACHINE_VARS.items():
                self._last[f"{asset}.{var}"] = self._dv(value, vt, self.t0)
        for asset in self.buffers:
            for var, (value, vt) in BUFFER_VARS.items():
                self._last[f"{asset}.{var}"] = self._dv(value, vt, self.t0)
        self._types = {k: dv.Value.VariantType for k, dv in self._last.items()}
        # numeric node ids: asyncua's SQLite history cannot name a table after a string id
        self._ids = {k: 1000 + i for i, k in enumerate(self._last)}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="opcua-test-server")
        self._thread.start()
        self._server: Server | None = None
        self._offline: list[tuple[str, ua.DataValue]] = []
        # pages of 4 values: a back-fill of more must follow continuation points
        self._historian = Historian(max_history_data_response_size=4)
        self.ns = 2

    def add_machine(self, asset: str) -> None:
        """A machine added to the plant; its nodes appear when the server starts again."""
        self.machines += (asset,)
        for var, (value, vt) in MACHINE_VARS.items():
            key = f"{asset}.{var}"
            self._last[key] = self._dv(value, vt, self.t0)
            self._types[key] = vt
            self._ids[key] = 1000 + len(self._ids)

    # --- from the test's thread ---------------------------------------------------------
    def call(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> None:
        self.call(self._start())

    def stop(self) -> None:
        self.call(self._stop())

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def nodeid(self, asset: str, var: str) -> str:
        return f"ns={self.ns};i={self._ids[f'{asset}.{var}']}"

    def _id(self, key: str) -> ua.NodeId:
        return ua.NodeId(self._ids[key], self.ns)

    def write(self, asset: str, var: str, value, t: float | None, server_t: float | None = None,
              variant: ua.VariantType | None = None) -> None:
        """Write one value with source time stamp ``t`` (None: no source time stamp)."""
        self.write_many([(asset, var, value, t)], server_t=server_t, variant=variant)

    def write_many(self, values, server_t: float | None = None,
                   variant: ua.VariantType | None = None) -> None:
        """Write ``(asset, var, value, t)`` tuples one after the other, in one go on the
        server's loop (faster than any publishing interval)."""
        self.call(self._write_many(list(values), server_t, variant))

    # --- on the server's loop -------------------------------------------------------------
    @staticmethod
    def _dv(value, vt, t: float | None, server_t: float | None = None) -> ua.DataValue:
        src = datetime.fromtimestamp(t, UTC) if t is not None else None
        srv = datetime.fromtimestamp(server_t, UTC) if server_t is not None else \
            datetime.now(UTC)
        return ua.DataValue(ua.Variant(value, vt), SourceTimestamp=src, ServerTimestamp=srv)

    async def _write_many(self, values, server_t, variant) -> None:
        for asset, var, value, t in values:
            key = f"{asset}.{var}"
            dv = self._dv(value, variant or self._types[key], t, server_t)
            retype = dv.Value.VariantType != self._last[key].Value.VariantType
            self._last[key] = dv
            if self._server is not None:
                if retype:
                    # a value of another type (a plant that sends text for a number): asyncua
                    # refuses to change a variable's type unless its value is empty
                    nodes = self._server.iserver.aspace._nodes
                    nodes[self._id(key)].attributes[ua.AttributeIds.Value].value = None
                await self._server.write_attribute_value(self._id(key), dv)
            else:  # the server is down; the plant and its historian go on
                self._offline.append((key, dv))

    async def _validate(self, cert, app_description) -> None:
        """Accept a client certificate only if it is in ``client_trust`` (read at each
        connection, as a server whose administrator moves files into its trust list)."""
        store = TrustStore([self.client_trust], [])
        try:
            await store.load()
        except ValueError:  # an empty folder
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted) from None
        await CertificateValidator(CertificateValidatorOptions.TRUSTED_VALIDATION
                                   | CertificateValidatorOptions.PEER_CLIENT,
                                   store).validate(cert, app_description)

    async def _start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("twinbench test plant")
        await server.set_application_uri(SERVER_URI)
        if self.certificate is not None:
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
            policies = [ua.SecurityPolicyType.Basic256Sha256_Sign,
                        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
            if self.allow_none:
                policies.append(ua.SecurityPolicyType.NoSecurity)
            server.set_security_policy(policies)
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        if self.client_trust is not None:
            server.set_certificate_validator(self._validate)
        self.ns = await server.register_namespace(NAMESPACE)
        if self.history:
            # the plant's historian outlives the server; what changed while the server was
            # down is in it too
            server.iserver.history_manager.set_storage(self._historian)
            for key in self._last:
                await self._historian.new_historized_node(self._id(key), None)
            for key, dv in self._offline:
                await self._historian.save_node_value(self._id(key), dv)
        self._offline.clear()
        objects = server.nodes.objects
        variables = []
        for asset in self.machines + self.buffers:
            obj = await objects.add_object(ua.NodeId(asset, self.ns),
                                           ua.QualifiedName(asset, self.ns))
            names = MACHINE_VARS if asset in self.machines else BUFFER_VARS
            for var in names:
                key = f"{asset}.{var}"
                dv = self._last[key]
                node = await obj.add_variable(self._id(key), ua.QualifiedName(var, self.ns),
                                              dv.Value.Value, dv.Value.VariantType)
                await server.write_attribute_value(node.nodeid, dv)
                variables.append(node)
        await server.start()
        if self.history:
            await server.historize_node_data_change(variables, period=None)
        self._server = server

    async def _stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()  # closes the history file too


class Proxy:
    """A TCP relay to ``port`` on loopback whose link can be cut without closing it (as a
    pulled cable or a dead router: nothing arrives, no connection is refused) and restored."""

    def __init__(self, port: int):
        self.target = port
        self.port = free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}"
        self._open = threading.Event()
        self._open.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="opcua-test-proxy")
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", self.port), self._loop).result(10)

    def cut(self) -> None:
        """From now on nothing passes, in either direction, on any connection."""
        self._open.clear()

    def restore(self) -> None:
        """Connections made while cut are dropped (their data is gone); new ones pass."""
        async def drop():
            for w in self._writers:
                w.transport.abort()
            self._writers.clear()
        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(10)
        self._open.set()

    def close(self) -> None:
        async def shut():
            self._server.close()
            for w in self._writers:
                w.transport.abort()
        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _relay(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                while not self._open.is_set():  # cut: hold everything, forever
                    await asyncio.sleep(0.05)
                    if writer.transport.is_closing():
                        return
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
