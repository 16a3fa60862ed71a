"""A flood publisher for the live benchmarks: an independent process that speaks MQTT 3.1.1.

paho's ``publish`` costs tens of microseconds of Python per message, so a paho publisher in a
tight loop sends ~12,000 messages/s on this machine and becomes the limit of what it is meant
to measure. This publisher encodes every PUBLISH packet (QoS 1, its packet id, topic and JSON
payload) before it starts, then writes them to the broker's socket in large chunks and counts
the PUBACKs on a reader thread, with at most ``window`` messages unacknowledged (the broker
takes each message before it is counted as sent). It is a plain MQTT client, as far from the
workbench as a PLC gateway: its own process, its own connection.

``flood(port, ...)`` runs in a child process (``multiprocessing`` with ``spawn``) and puts
``(start, end, sent)`` (``time.perf_counter`` of the first write and the last PUBACK) on
``out``; :func:`publisher_rate` turns the spans of several publishers into one rate. ``rate``
(messages/s, 0: as fast as the broker takes them) paces the writes instead.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

#: Channels the flood sends, in turn, per asset.
CHANNELS = ("state", "parts", "power_kw")
#: Plant time of the first message: an hour before now (whole seconds, when this module is
#: imported), so that a flood of up to 360,000 messages 0.01 s apart is stamped in the past
#: (the workbench refuses readings from the future) and, but in the first hour after UTC
#: midnight, on the day of the workbench's clock: it prepares its recording for that day
#: before it connects (``twin.live.recorder.LiveRecorder.prepare``). A fixed time of
#: another day made it create the file again at the first message, a one-off 60-70 ms
#: stall of the GUI thread that a live plant, stamping now, does not cause.
T0 = float(int(time.time())) - 3600.0


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def connect_packet(client_id: str, keepalive: int = 60) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session."""
    body = _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + _utf8(client_id)
    return bytes([0x10]) + _remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """PUBLISH with QoS 1."""
    body = _utf8(topic) + struct.pack("!H", packet_id) + payload
    return bytes([0x32]) + _remaining_length(len(body)) + body


def messages(count: int, assets: int, prefix: str, which: int = 0, first_asset: int = 0,
             asset_name: str = "s{}", t0: float = T0, step_s: float = 0.01):
    """``(topic, payload)`` of the flood: channels in turn over ``assets`` assets named
    ``asset_name.format(first_asset + i)``, JSON ``{"ts", "value", "id"}`` payloads (the id
    unique over publishers, so a redelivery is recorded once)."""
    for k in range(count):
        ch = CHANNELS[k % len(CHANNELS)]
        value = "busy" if ch == "state" else 1
        asset = asset_name.format(first_asset + k % assets)
        yield (f"{prefix}/{asset}/{ch}",
               json.dumps({"ts": t0 + k * step_s, "value": value,
                           "id": which * 10_000_000 + k + 1}).encode())


def flood(port: int, count: int, assets: int, prefix: str, out, which: int = 0,
          first_asset: int = 0, asset_name: str = "s{}", rate: float = 0.0,
          window: int = 5000, host: str = "127.0.0.1") -> None:
    """Publish :func:`messages` at QoS 1 (encoded before the clock starts) and put
    ``(start, end, acknowledged)`` on ``out``."""
    packets = [publish_packet(t, p, k % 65535 + 1) for k, (t, p) in
               enumerate(messages(count, assets, prefix, which, first_asset, asset_name))]
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(f"bench-flood-{which}"))
    connack = sock.recv(4)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        raise RuntimeError(f"broker refused the flood publisher: {connack!r}")
    acked = [0]
    free = threading.Condition()

    def read_acks() -> None:
        buf = b""
        while acked[0] < len(packets):
            data = sock.recv(1 << 16)
            if not data:
                return
            buf += data
            n = len(buf) // 4  # PUBACK: 0x40 0x02 id id
            if n:
                buf = buf[4 * n:]
                with free:
                    acked[0] += n
                    free.notify()

    reader = threading.Thread(target=read_acks, daemon=True)
    reader.start()
    start = time.perf_counter()
    sent, chunk = 0, 500
    while sent < len(packets):
        with free:
            while sent - acked[0] > window - chunk:
                free.wait(1.0)
        end = min(len(packets), sent + chunk)
        sock.sendall(b"".join(packets[sent:end]))
        sent = end
        if rate:
            ahead = start + sent / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    reader.join(600)
    end_t = time.perf_counter()
    sock.sendall(b"\xe0\x00")  # DISCONNECT
    sock.close()
    out.put((start, end_t, acked[0]))


def start_publishers(port: int, total: int, publishers: int, assets: int, prefix: str,
                     out, rate: float = 0.0, first_asset: int = 0, asset_name: str = "s{}"):
    """Start ``publishers`` flood processes sharing ``total`` messages (and ``rate``);
    returns the processes and the messages each sends."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    share = total // publishers
    procs = [ctx.Process(target=flood, args=(port, share, assets, prefix, out, i, first_asset,
                                             asset_name, rate / publishers))
             for i in range(publishers)]
    for pr in procs:
        pr.start()
    return procs, share


def publisher_rate(spans: list[tuple[float, float, int]]) -> float:
    """Messages per second of publishers together: all they sent over first start to last
    end."""
    return sum(n for _, _, n in spans) / (max(e for _, e, _ in spans) -
                                         min(s for s, _, _ in spans))
