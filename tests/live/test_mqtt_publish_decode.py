"""The MQTT source's short path for PUBLISH packets (``twin.live.mqtt._Client``) hands on the
same message as paho's own decoding, for MQTT 5 and 3.1.1, QoS 0 and 1, DUP and retain, with
and without MQTT 5 properties, and leaves what it does not read (properties, QoS 2, malformed
packets) to paho."""

from __future__ import annotations

import struct

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin.live.mqtt import _Client


def _publish(topic: bytes, payload: bytes, qos: int, mid: int, v5: bool,
             props: Properties | None = None, dup=False, retain=False) -> dict:
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    if v5:
        body += props.pack() if props is not None else b"\x00"
    body += payload
    header = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    return {"command": header, "packet": body, "remaining_length": len(body)}


def _received(cls, packet: dict, v5: bool, manual_ack: bool = True):
    """What ``cls`` hands to on_message for ``packet``, and the acknowledgements it sends."""
    c = cls(mqtt.CallbackAPIVersion.VERSION2, client_id="t",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=manual_ack)
    got, acks = [], []
    c.on_message = lambda _c, _u, m: got.append(
        (m.topic, m.payload, m.qos, m.mid, m.dup, m.retain,
         None if m.properties is None else getattr(m.properties, "UserProperty", None)))
    c._send_puback = lambda mid: acks.append(mid) or mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    c._send_pubrec = lambda mid: acks.append(("rec", mid)) or mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    c._in_packet = dict(packet)
    try:
        rc = c._handle_publish()
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
    fast = _received(_Client, packet, v5, manual_ack)
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
        {"command": 0x32, "packet": b"\x00", "remaining_length": 1},       # cut short
        {"command": 0x32, "packet": b"\x00\x09plant", "remaining_length": 7},
        _publish("plant/ä/state".encode(), "béé".encode(), 1, 5, v5),    # UTF-8
    ]
    if v5:
        cases.append(_publish(b"plant/s1/parts", b"1", 1, 8, v5, props))  # a msg-id property
    for packet in cases:
        assert _received(_Client, packet, v5) == _received(mqtt.Client, packet, v5), packet
    if v5:
        got, _, _ = _received(_Client, cases[-1], v5)
        assert got[0][6] == [("msg-id", "17")]
