"""The MQTT source's chunked reader (``twin.live.mqtt_wire.WireClient``) hands on the same
message as paho's own reading of the same bytes, for MQTT 5 and 3.1.1, QoS 0 and 1, DUP, with
and without MQTT 5 properties; leaves what it does not read (properties, QoS 2, malformed
packets) to paho; and takes every packet of a burst exactly once however the bytes are cut
into reads."""

from __future__ import annotations

import json
import struct

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin.live.mqtt_wire import READ_CHUNK, WireClient


def _publish(topic: bytes, payload: bytes, qos: int, mid: int, v5: bool,
             props: Properties | None = None, dup=False, retain=False) -> bytes:
    """One PUBLISH packet as the broker writes it."""
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    if v5:
        body += props.pack() if props is not None else b"\x00"
    body += payload
    return _packet(0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0), body)


def _packet(header: int, body: bytes) -> bytes:
    n, length = len(body), bytearray()
    while True:
        byte, n = n % 128, n // 128
        length.append(byte | (0x80 if n else 0))
        if not n:
            return bytes([header]) + bytes(length) + body


class _Socket:
    """Gives ``data`` to ``recv`` in the pieces ``cuts`` makes of it (at most ``bufsize``)."""

    def __init__(self, data: bytes, cuts=()) -> None:
        self.pieces = []
        at = 0
        for c in [*sorted(cuts), len(data)]:
            if c > at:
                self.pieces.append(data[at:c])
                at = c
        self.reads = 0

    def recv(self, bufsize: int) -> bytes:
        if not self.pieces:
            raise BlockingIOError
        self.reads += 1
        piece = self.pieces[0]
        if len(piece) > bufsize:
            self.pieces[0] = piece[bufsize:]
            return piece[:bufsize]
        self.pieces.pop(0)
        return piece

    def close(self) -> None:
        pass


def _received(cls, data: bytes, v5: bool, manual_ack: bool = True, cuts=()):
    """What ``cls`` hands on for the bytes ``data`` (to on_message or, for the chunked
    reader, its short path), the acknowledgements it sends, and its last return code."""
    c = cls(mqtt.CallbackAPIVersion.VERSION2, client_id="t",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=manual_ack)
    got, acks = [], []
    c.on_message = lambda _c, _u, m: got.append(
        (m.topic, m.payload, m.qos, m.mid, m.dup,
         None if m.properties is None else getattr(m.properties, "UserProperty", None)))
    if cls is WireClient:
        c.fast_publish = lambda topic, payload, dup, mid, qos: got.append(
            (topic.decode("utf-8", errors="replace"), payload, qos, mid, dup, None))
    c._send_puback = lambda mid: acks.append(mid) or mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    c._send_pubrec = lambda mid: acks.append(("rec", mid)) or mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    c._sock = sock = _Socket(data, cuts)
    rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    try:
        while sock.pieces and c._sock is not None and rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
            rc = c.loop_read()
    except Exception as e:  # noqa: BLE001 - compared with paho's own
        return type(e).__name__
    return got, acks, rc


@pytest.mark.parametrize("v5", [True, False])
@pytest.mark.parametrize("qos", [0, 1])
@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("manual_ack", [True, False])
def test_a_plain_publish_reads_as_paho_reads_it(v5, qos, flags, manual_ack):
    dup, retain = flags
    packet = _publish(b"plant/s1/state", b'{"ts": 1790000000.5, "value": "busy"}',
                      qos, 4711, v5, dup=dup, retain=retain)
    fast = _received(WireClient, packet, v5, manual_ack)
    assert fast == _received(mqtt.Client, packet, v5, manual_ack)
    got, acks, _ = fast
    assert got[0][:4] == ("plant/s1/state", b'{"ts": 1790000000.5, "value": "busy"}', qos,
                          4711 if qos else 0)
    assert acks == ([4711] if qos and not manual_ack else [])


@pytest.mark.parametrize("v5", [True, False])
def test_what_the_short_path_does_not_read_is_left_to_paho(v5):
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("msg-id", "17")
    cases = [
        _publish(b"plant/s1/parts", b"1", 2, 9, v5),                      # QoS 2: PUBREC
        _publish(b"plant/s1/parts", b"1", 1, 0, v5),                      # packet id 0
        _publish(b"", b"1", 1, 3, v5),                                     # no topic
        _packet(0x32, b"\x00"),                                            # cut short
        _packet(0x32, b"\x00\x09plant"),
        _publish("plant/ä/state".encode(), "béé".encode(), 1, 5, v5),    # UTF-8
    ]
    if v5:
        cases.append(_publish(b"plant/s1/parts", b"1", 1, 8, v5, props))  # a msg-id property
    for packet in cases:
        assert _received(WireClient, packet, v5) == _received(mqtt.Client, packet, v5), packet
    if v5:
        got, _, _ = _received(WireClient, cases[-1], v5)
        assert got[0][5] == [("msg-id", "17")]


def _burst(v5: bool) -> tuple[bytes, list]:
    """Messages of every payload kind the default conventions allow (a bare value, a JSON
    string, JSON with ts, with an id, ISO time, a msg-id property under MQTT 5), a PINGRESP
    among them, and one long enough that its length takes two bytes."""
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("msg-id", "m-77")
    kinds = [b"busy", b'"down"', b"3", b"", b'{"ts": 1790000000.25, "value": "idle"}',
             b'{"ts": "2026-12-03T06:00:00Z", "value": 2, "id": 9}',
             json.dumps({"ts": 1790000001.0, "value": 12.5, "pad": "x" * 300}).encode()]
    data, want = bytearray(), []
    for k in range(300):
        payload = kinds[k % len(kinds)] + (b"" if k % len(kinds) in (3, 6) else b"")
        topic = f"plant/s{k % 7}/{('state', 'parts', 'power_kw')[k % 3]}".encode()
        with_props = v5 and k % 50 == 49
        data += _publish(topic, payload, 1, k + 1, v5, props if with_props else None,
                         dup=k % 11 == 0)
        want.append((topic.decode(), payload, 1, k + 1, k % 11 == 0,
                     [("msg-id", "m-77")] if with_props else None))
        if k == 150:
            data += bytes((0xD0, 0x00))  # PINGRESP
    return bytes(data), want


@pytest.mark.parametrize("v5", [True, False])
def test_a_burst_in_one_read_hands_on_every_message_once(v5):
    data, want = _burst(v5)
    assert len(data) < READ_CHUNK
    got, acks, rc = _received(WireClient, data, v5)
    assert rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and acks == []
    assert got == want
    assert _received(mqtt.Client, data, v5)[0] == want  # what paho reads, packet by packet


@pytest.mark.parametrize("v5", [True, False])
def test_a_burst_cut_anywhere_hands_on_every_message_once(v5):
    """The socket gives the burst in pieces cut inside headers, lengths, topics, payloads."""
    data, want = _burst(v5)
    for step in (1, 2, 3, 5, 7, 64, 333):
        cuts = range(step, len(data), step)
        got, _, rc = _received(WireClient, data, v5, cuts=cuts)
        assert rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS, step
        assert got == want, step


def test_a_length_of_more_than_four_bytes_is_a_protocol_error():
    got, _, rc = _received(WireClient, b"\x30\xff\xff\xff\xff\x01", False)
    assert rc == mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL and got == []


def test_a_batch_is_acknowledged_in_one_write():
    c = WireClient(mqtt.CallbackAPIVersion.VERSION2, client_id="t", manual_ack=True)
    c.ack_many([(1, 1), (258, 1), (65535, 1), (7, 0)])
    assert [p["packet"] for p in c._out_packet] == [
        b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02" + b"\x40\x02\xff\xff"]
