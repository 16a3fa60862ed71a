"""The broker fixture itself: a message published while a persistent QoS 1 subscriber is away,
and across a broker restart, still reaches it."""

import threading

import paho.mqtt.client as mqtt
import pytest

pytestmark = pytest.mark.timeout(60)


def _client(cid, port, got=None):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid,
                    protocol=mqtt.MQTTv5)
    if got is not None:
        c.on_message = lambda _c, _u, msg: got.append(msg.payload)
    props = mqtt.Properties(mqtt.PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    return c


def test_a_persistent_subscriber_gets_what_was_sent_while_it_and_the_broker_were_away(broker):
    got = []
    sub = _client("fixture-sub", broker.port, got)
    sub.loop_start()
    ready = threading.Event()
    sub.on_subscribe = lambda *a: ready.set()
    sub.subscribe("plant/#", qos=1)
    assert ready.wait(10)
    sub.disconnect()
    sub.loop_stop()

    pub = _client("fixture-pub", broker.port)
    pub.loop_start()
    pub.publish("plant/M1/state", b"busy", qos=1).wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()
    broker.stop()
    broker.start()

    sub = _client("fixture-sub", broker.port, got)
    sub.loop_start()
    try:
        for _ in range(100):
            if got:
                break
            threading.Event().wait(0.1)
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert got == [b"busy"]
