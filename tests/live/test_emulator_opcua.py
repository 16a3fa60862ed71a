"""The emulator's OPC UA server (``twin.live.publish_opcua``) with a real asyncua client: the
address space of the default convention, values and SourceTimestamps equal to the events
played, HistoryRead of every change, and Basic256Sha256 security with a trust store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.live.conftest import free_port
from twin.live.emulator import EmulatorError, plan_run, play
from twin.live.publish_opcua import NAMESPACE, OpcUaPublisher
from twin.projectfile.reader import load_project

pytestmark = pytest.mark.timeout(120)

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
EPOCH = 1_790_000_000.0


@pytest.fixture(scope="module")
def cell_plan():
    return plan_run(load_project(PROJECTS / "machining-cell"), duration=8 * 3600.0)


def _expected(plan):
    """Per (asset, variable): the list of (time stamp, value) the server must have written."""
    names = {"state": "State", "parts": "GoodParts", "scrap": "ScrapParts",
             "power_kw": "PowerKw", "level": "Level"}
    out: dict[tuple[str, str], list] = {}
    count: dict[tuple[str, str], int] = {}
    for asset, channel, ts, value in plan.messages(0, len(plan), EPOCH):
        key = (asset, names[channel])
        if channel in ("parts", "scrap"):
            value = count[key] = count.get(key, 0) + value
        out.setdefault(key, []).append((ts, value))
    return out


def _ts(dt: datetime) -> float:
    return dt.replace(tzinfo=dt.tzinfo or UTC).timestamp()


async def _read_all(url, plan):
    async with Client(url, timeout=10) as c:
        ns = await c.get_namespace_index(NAMESPACE)
        objects = {}
        for node in await c.nodes.objects.get_children():
            name = await node.read_browse_name()
            if name.NamespaceIndex == ns:
                objects[name.Name] = node
        values, history = {}, {}
        for asset, node in objects.items():
            for var in await node.get_children():
                vname = (await var.read_browse_name()).Name
                values[(asset, vname)] = await var.read_data_value()
                assert await var.read_attribute(ua.AttributeIds.Historizing)
                history[(asset, vname)] = await var.read_raw_history(
                    datetime.fromtimestamp(EPOCH - 1, UTC),
                    datetime.fromtimestamp(EPOCH + plan.horizon + 1, UTC))
        return objects, values, history


def test_the_address_space_holds_every_value_with_its_plant_time(cell_plan):
    plan = cell_plan
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    pub = OpcUaPublisher(url)
    pub.open(plan, EPOCH)
    try:
        truth = play(plan, [pub], speed=0, epoch=EPOCH)
        objects, values, history = asyncio.run(_read_all(url, plan))
    finally:
        pub.close()
    assert set(objects) == set(plan.assets) and "lathes#1" in objects
    expected = _expected(plan)
    assert set(expected) <= set(values)
    for key in set(values) - set(expected):  # never changed (no scrap here): the initial value
        assert key[1] == "ScrapParts" and values[key].Value.Value == 0, key
        assert _ts(values[key].SourceTimestamp) == EPOCH and history[key] == []
    for key, events in expected.items():
        dv = values[key]
        ts, value = events[-1]  # the value now: the last one written, stamped in plant time
        assert dv.Value.Value == pytest.approx(value) if key[1] != "State" else \
            dv.Value.Value == value, key
        assert _ts(dv.SourceTimestamp) == pytest.approx(ts, abs=1e-6), key
        # every change is in the history, in order
        got = [(_ts(h.SourceTimestamp), h.Value.Value) for h in history[key]]
        assert [t for t, _ in got] == pytest.approx([t for t, _ in events], abs=1e-6), key
        assert [v for _, v in got] == [v for _, v in events], key
    for asset, d in truth.per_asset().items():
        assert values[(asset, "GoodParts")].Value.Value == d["parts"]
        assert values[(asset, "ScrapParts")].Value.Value == d["scrap"]
    assert sum(d["parts"] for d in truth.per_asset().values()) > 0


def _client_cert(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.der", folder / f"{name}.pem"
    asyncio.run(setup_self_signed_certificate(
        key, cert, "urn:twinbench:test-client", "localhost",
        [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": name}))
    return cert, key


async def _connect(url, cert, key) -> float:
    c = Client(url, timeout=10)
    c.application_uri = "urn:twinbench:test-client"
    await c.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key),
                         mode=ua.MessageSecurityMode.SignAndEncrypt)
    async with c:
        ns = await c.get_namespace_index(NAMESPACE)
        node = c.get_node(f"ns={ns};s=saw.GoodParts")
        return await node.read_value()


def test_a_trusted_client_connects_and_an_untrusted_one_is_refused(cell_plan, tmp_path):
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    good = _client_cert(tmp_path, "trusted-client")
    bad = _client_cert(tmp_path, "stranger")
    good[0].rename(trusted / good[0].name)
    good = (trusted / good[0].name, good[1])
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    pub = OpcUaPublisher(url, "sign-encrypt", pki=tmp_path / "pki", trusted=trusted)
    pub.open(cell_plan, EPOCH)
    try:
        truth = play(cell_plan, [pub], speed=0, epoch=EPOCH)
        assert (tmp_path / "pki" / "server-cert.der").is_file()  # made on first use
        assert asyncio.run(_connect(url, *good)) == truth.per_asset()["saw"]["parts"]
        with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
            asyncio.run(_connect(url, *bad))
    finally:
        pub.close()


def test_a_port_taken_is_a_user_error(cell_plan):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        pub = OpcUaPublisher(f"opc.tcp://127.0.0.1:{s.getsockname()[1]}")
        with pytest.raises(EmulatorError, match="port is taken"):
            pub.open(cell_plan, EPOCH)


def test_security_needs_a_trust_store():
    with pytest.raises(EmulatorError, match="--trusted"):
        OpcUaPublisher("opc.tcp://127.0.0.1:4840", "sign")
    with pytest.raises(EmulatorError, match="opc.tcp://HOST:PORT"):
        OpcUaPublisher("http://127.0.0.1:4840")
