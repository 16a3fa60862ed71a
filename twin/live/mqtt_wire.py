"""paho's MQTT client, reading what the broker sends in large chunks (for :mod:`twin.live.mqtt`).

paho 2.x reads a packet with three or more ``recv`` calls (its first byte, each byte of its
length, the rest), one packet per pass of its network loop (a ``select``, keep-alive checks,
a write pass), and builds for every PUBLISH an ``MQTTMessage`` (with an ``MQTTMessageInfo``
holding a ``threading.Condition``) that it matches against the topic callbacks before
``on_message``; and each ``ack`` queues one packet and writes a byte to wake its loop. In the
source's process that was about two thirds of the CPU a message took (``py-spy`` of
``benchmarks/bench_live_mqtt.py``, benchmarks/README.md), on a machine where a system call
costs 1.4-3 µs: 51-64 µs a message, now 12-14.

:class:`WireClient` reads up to :data:`READ_CHUNK` bytes a ``recv`` and takes every whole
packet in them in one pass. A PUBLISH of QoS 0 or 1 without MQTT 5 properties (what a plant
that follows the default conventions sends) goes straight to ``fast_publish(topic, payload,
dup, mid, qos)``, the topic as bytes, without an ``MQTTMessage``; anything else (CONNACK,
SUBACK, PINGRESP, a PUBLISH with properties such as a ``msg-id``, one of QoS 2, one that
does not parse here) is handed to paho's own handling, as if paho had read it.
:meth:`WireClient.ack_many` acknowledges a batch with one queued write. The session, the
manual acknowledgements and the reconnects stay paho's.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.client import MQTTErrorCode

#: Bytes read a ``recv``: a few hundred PUBLISH packets of a flood.
READ_CHUNK = 1 << 16
_PUBLISH = 0x30
_PUBACK = 0x40
_OK = MQTTErrorCode.MQTT_ERR_SUCCESS


def _fresh_in_packet() -> dict:
    return {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
            "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}


class WireClient(mqtt.Client):
    """paho's client with the chunked reader above. ``fast_publish`` (set it after
    construction; ``None``: every PUBLISH goes to paho's ``on_message``) is taken only with
    ``manual_ack=True``, as the caller acknowledges what it took."""

    fast_publish = None

    def reconnect(self) -> MQTTErrorCode:
        # bytes left from the connection before are not the start of the next one's packets
        self._rbuf = bytearray()
        return super().reconnect()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """One ``recv`` of up to :data:`READ_CHUNK` bytes, then every whole packet in what
        has been read (paho's ``loop_read`` reads one packet)."""
        sock = self._sock
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            data = self._sock_recv(READ_CHUNK)
        except BlockingIOError:
            return _OK
        except OSError as err:  # TimeoutError and ConnectionError among them
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        if not data:
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        buf = getattr(self, "_rbuf", None)
        if buf:
            buf += data
        else:
            buf = data
        fast = self.fast_publish if self._manual_ack else None
        v5 = self._protocol == mqtt.MQTTv5
        n, at = len(buf), 0
        while n - at >= 2:
            header = buf[at]
            # the remaining length: 1-4 bytes of 7 bits each, least significant first
            i, length, shift = at + 1, 0, 0
            while True:
                if i >= n:
                    byte = -1  # cut: the rest comes with the next recv
                    break
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
                if shift >= 28:
                    self._rbuf = bytearray()
                    return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_PROTOCOL)
            end = i + length
            if byte < 0 or end > n:
                break
            if not (fast is not None and header & 0xF0 == _PUBLISH
                    and _publish(fast, header, buf, i, end, v5)):
                rc = self._paho_packet(header, buf[i:end])
                if rc > 0 or self._sock is not sock:  # an error, or a disconnect in it
                    self._rbuf = bytearray()
                    return self._loop_rc_handle(rc) if rc > 0 else _OK
            at = end
        self._rbuf = bytearray(buf[at:]) if at < n else bytearray()
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return _OK

    def _paho_packet(self, header: int, body: bytes) -> MQTTErrorCode:
        """Hand one whole packet to paho, as its ``_packet_read`` does when it has read one."""
        self._in_packet = _fresh_in_packet()
        self._in_packet.update(command=header, have_remaining=1, remaining_length=len(body),
                               packet=bytearray(body))
        try:
            rc = self._packet_handle()
        except mqtt.MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = _fresh_in_packet()
        return rc

    def ack_many(self, acks) -> None:
        """Acknowledge ``(mid, qos)`` pairs: the PUBACKs of QoS 1 in one queued write (what
        ``ack`` sends for each, 4 bytes), any other QoS through ``ack``."""
        pubacks = bytearray()
        for mid, qos in acks:
            if qos == 1:
                pubacks += bytes((_PUBACK, 2, mid >> 8, mid & 0xFF))
            elif qos:
                self.ack(mid, qos)
        if pubacks and self._manual_ack:
            self._packet_queue(_PUBACK, bytes(pubacks), 0, 0)


def _publish(fast, header: int, buf, start: int, end: int, v5: bool) -> bool:
    """Hand the PUBLISH in ``buf[start:end]`` to ``fast``; False (nothing handed) for one
    that paho has to read: QoS 2, MQTT 5 properties, no topic, a packet id of 0, cut short."""
    qos = (header & 0x06) >> 1
    if qos > 1 or end - start < 2:
        return False
    tlen = (buf[start] << 8) | buf[start + 1]
    at = start + 2 + tlen
    mid = 0
    if qos:
        if end < at + 2:
            return False
        mid = (buf[at] << 8) | buf[at + 1]
        at += 2
        if not mid:
            return False
    if v5:
        if end <= at or buf[at] != 0:  # a property length of 0 is one byte
            return False
        at += 1
    if not tlen or at > end:
        return False
    fast(bytes(buf[start + 2:start + 2 + tlen]), bytes(buf[at:end]), bool(header & 0x08),
         mid, qos)
    return True
