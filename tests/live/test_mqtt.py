"""The MQTT source against a real mosquitto: what is published arrives once, equal in content;
the address, options, credentials and mapping are checked with messages that say what to fix."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from mqtt_tools import KeepingFeed, Publisher, SourceThread, make_broker

from twin.live.feed import LiveError, open_source
from twin.live.mqtt import MqttSource, default_client_id, read_credentials
from twin.recording.errors import MappingError

pytestmark = pytest.mark.timeout(60)

T0 = 1_790_000_000.0  # 2026-09-21, in the past of the test machine


def _iso(t):
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _follow(broker, prefix="plant", **options):
    source = open_source(f"{broker.url}/{prefix}", client_id=f"tb-{prefix.replace('/', '-')}",
                         **options)
    feed = KeepingFeed()
    thread = SourceThread(source, feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    return source, feed, thread


def test_every_channel_in_every_form_arrives_once_as_published(broker):
    source, feed, thread = _follow(broker, "site/line1")
    assert isinstance(source, MqttSource) and source.prefix == "site/line1"
    pub = Publisher(broker.port)
    p = "site/line1"
    sent = [  # (topic, payload, expected asset, channel, t or None for arrival time, value)
        (f"{p}/lathe/state", "busy", "lathe", "state", None, "busy"),
        (f"{p}/lathe/state", '"DOWN"', "lathe", "state", None, "down"),
        (f"{p}/lathe/state", json.dumps({"ts": T0, "value": "setup"}), "lathe", "state", T0,
         "setup"),
        (f"{p}/lathe/parts", "", "lathe", "parts", None, 1.0),
        (f"{p}/lathe/parts", json.dumps({"ts": _iso(T0 + 1.5), "value": 3}), "lathe", "parts",
         T0 + 1.5, 3.0),
        (f"{p}/lathe/parts", json.dumps({"ts": T0 + 2}), "lathe", "parts", T0 + 2, 1.0),
        (f"{p}/lathe/scrap", json.dumps({"ts": str(T0 + 3), "value": 1}), "lathe", "scrap",
         T0 + 3, 1.0),
        (f"{p}/lathe/count", "1234", "lathe", "count", None, 1234.0),
        (f"{p}/lathe/power_kw", json.dumps({"ts": "2026-09-21T15:33:25+02:00", "value": 7.25}),
         "lathe", "power_kw", datetime(2026, 9, 21, 13, 33, 25, tzinfo=UTC).timestamp(), 7.25),
        (f"{p}/lathe/power_kw", "-0.5", "lathe", "power_kw", None, -0.5),
        (f"{p}/buffer1/level", json.dumps({"ts": T0 + 4, "value": 0}), "buffer1", "level",
         T0 + 4, 0.0),
        (f"{p}/press%232/state", "idle", "press#2", "state", None, "idle"),
    ]
    before = time.time()
    for topic, payload, *_ in sent:
        pub.publish(topic, payload)
    pub.wait_all()
    feed.wait(lambda f: len(f.got) >= len(sent), 20, "every reading")
    after = time.time()
    time.sleep(0.3)  # nothing more comes
    thread.stop()
    pub.close()
    assert len(feed.got) == len(sent) and not feed.bad_kinds
    for (topic, payload, asset, channel, t, value), r in zip(sent, feed.got, strict=True):
        assert (r.asset, r.channel, r.value) == (asset, channel, value), (topic, payload, r)
        if t is None:
            assert before <= r.t <= after
        else:
            assert r.t == t
        # a message with a time stamp has an identity; a bare value cannot tell
        assert (r.key != "") == (t is not None)
    assert [s for s, _ in feed.links] == ["connecting", "connected", "closed"]


def test_the_publishers_message_id_is_the_identity_and_a_repeat_is_recorded_once(broker):
    source, feed, thread = _follow(broker)
    pub = Publisher(broker.port)
    for i in range(5):  # each sent twice: as a publisher re-sends after a lost PUBACK
        for _ in range(2):
            pub.publish("plant/M1/parts", json.dumps({"ts": T0 + i, "value": 1}))
            pub.publish("plant/M2/state", "busy" if i % 2 else "idle", msg_id=f"m{i}")
            pub.publish("plant/M3/count", json.dumps({"seq": i, "value": i + 10}))
    pub.publish("plant/M1/parts", json.dumps({"ts": T0 + 99, "value": 1}))  # the last
    pub.wait_all()
    feed.wait(lambda f: any(r.t == T0 + 99 for r in f.got), 20, "the last reading")
    thread.stop()
    pub.close()
    assert len(feed.got) == 16 and source.reader.dedup.repeats == 15
    assert len({r.key for r in feed.got}) == 16
    assert sorted(r.value for r in feed.got if r.asset == "M3") == [10, 11, 12, 13, 14]
    assert {r.key for r in feed.got if r.asset == "M2"} == {f"plant/M2/state|id:m{i}"
                                                          for i in range(5)}


def test_a_mapping_names_other_topics_fields_state_codes_and_assets(broker, tmp_path):
    mapping = {
        "states": {"1": "busy", "2": "idle", "3": {"state": "down", "label": "alarm"}},
        "assets": {"P-01": {"element": "press", "server": 1}, "L7": "lathe"},
        "live": {"mqtt": {"topics": [
            {"topic": "factory/{asset}/telemetry",
             "fields": {"ts": "time", "id": "n", "state": "st", "power_kw": "kw",
                        "count": "good"}},
            {"topic": "legacy/oven/status", "asset": "oven", "channel": "state",
             "fields": {"value": "code"}},
        ]}},
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(mapping))
    source, feed, thread = _follow(broker, "plant", mapping=str(path))
    assert set(source.topics) == {"plant/+/+", "factory/+/telemetry", "legacy/oven/status"}
    pub = Publisher(broker.port)
    pub.publish("factory/P-01/telemetry", json.dumps({"time": T0, "n": 1, "st": 3, "kw": 4.5,
                                                      "good": 17}))
    pub.publish("factory/P-01/telemetry", json.dumps({"time": T0, "n": 1, "st": 3, "kw": 4.5,
                                                      "good": 17}))  # again: a repeat
    pub.publish("factory/L7/telemetry", json.dumps({"time": T0 + 1, "n": 2, "st": "2"}))
    pub.publish("legacy/oven/status", json.dumps({"ts": T0 + 2, "code": "1"}))
    pub.publish("plant/L7/state", "3")  # the default convention, with the mapping's codes
    pub.publish("factory/L7/telemetry", json.dumps({"time": T0 + 3, "n": 3, "st": "9"}))
    pub.wait_all()
    feed.wait(lambda f: len(f.got) >= 6 and f.bad_kinds, 20, "the readings")
    thread.stop()
    pub.close()
    got = [(r.asset, r.channel, r.t, r.value) for r in feed.got]
    assert got[:3] == [("press#1", "state", T0, "down"), ("press#1", "power_kw", T0, 4.5),
                       ("press#1", "count", T0, 17.0)]
    assert got[3] == ("lathe", "state", T0 + 1, "idle")
    assert got[4] == ("oven", "state", T0 + 2, "busy")
    assert got[5][:2] == ("lathe", "state") and got[5][3] == "down"
    assert len(got) == 6 and feed.bad_kinds == {"unknown state": 1}
    assert "'9'" in feed.examples["unknown state"]


@pytest.mark.parametrize("bad, fix", [
    ({"live": {"mqtt": {"topics": [{"topic": "f/+/x", "channel": "state"}]}}}, "wildcards"),
    ({"live": {"mqtt": {"topics": [{"topic": "f/{asset}/x"}]}}}, "one of state"),
    ({"live": {"mqtt": {"topics": [{"topic": "f/{asset}/x", "channel": "state",
                                    "fields": {"tz": "a"}}]}}}, "one of the keys"),
    ({"live": {"mqtt": {"topics": [{"topic": "f/x{asset}", "channel": "state"}]}}},
     "whole level"),
    ({"live": {"opcua": {}}}, "['mqtt']"),
    ({"states": {"3": "broken"}}, "machine states"),
])
def test_a_bad_live_mapping_is_refused_naming_the_path_and_the_fix(bad, fix):
    with pytest.raises(MappingError) as e:
        MqttSource("mqtt://127.0.0.1/plant", mapping=bad)
    assert fix in str(e.value) and "$." in str(e.value)


def test_a_mapping_for_import_may_carry_the_live_section():
    from twin.recording.mapping import mapping_from_dict

    m = mapping_from_dict({"shape": "event_log", "source": "test", "asset_id": "M1",
                           "columns": {"time": "t", "state": "s"}, "states": {"1": "busy"},
                           "live": {"mqtt": {"topics": [{"topic": "a/{asset}/{channel}"}]}}})
    assert m.document["live"]["mqtt"]["topics"][0]["topic"] == "a/{asset}/{channel}"


@pytest.mark.parametrize("url, fix", [
    ("mqtt:///plant", "mqtt://HOST:PORT/PREFIX"),
    ("mqtt://h:99999/p", "port"),
    ("mqtt://user:pw@h/p", "credentials"),
    ("mqtt://h/p/#", "wildcards"),
    ("mqtt://h/p/+/q", "wildcards"),
])
def test_a_bad_address_is_refused_with_the_form_to_write(url, fix):
    with pytest.raises(LiveError, match=fix):
        open_source(url)


def test_defaults_ports_prefix_and_a_stable_client_id():
    a = MqttSource("mqtt://broker.local")
    b = MqttSource("mqtts://broker.local/a/b/")
    assert (a.port, a.prefix, a.tls, a.topics) == (1883, "", False, ["+/+"])
    assert (b.port, b.prefix, b.tls, b.topics) == (8883, "a/b", True, ["a/b/+/+"])
    assert a.client_id == MqttSource("mqtt://broker.local").client_id != b.client_id
    assert default_client_id("My Line", "x").startswith("twinbench-My-Line-")
    with pytest.raises(LiveError, match="unknown option 'qos'"):
        MqttSource("mqtt://h/p", qos=2)
    with pytest.raises(LiveError, match="'5' or '3.1.1'"):
        MqttSource("mqtt://h/p", protocol="4")


def test_credentials_come_from_a_private_file_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TWINBENCH_MQTT_USERNAME", raising=False)
    assert read_credentials(None) is None
    monkeypatch.setenv("TWINBENCH_MQTT_USERNAME", "ops")
    monkeypatch.setenv("TWINBENCH_MQTT_PASSWORD", "s3cret")
    assert read_credentials(None) == ("ops", "s3cret")
    f = tmp_path / "cred"
    f.write_text("line1:pa:ss\n")
    f.chmod(0o644)
    with pytest.raises(LiveError, match="chmod 600"):
        read_credentials(f)
    f.chmod(0o600)
    assert read_credentials(f) == ("line1", "pa:ss")
    f.write_text(json.dumps({"username": "u", "password": "p"}))
    assert read_credentials(f) == ("u", "p")
    f.write_text("no separator")
    with pytest.raises(LiveError, match="user:password"):
        read_credentials(f)


def test_a_broker_with_passwords_lets_in_the_right_user_and_refuses_a_wrong_one(tmp_path):
    import subprocess

    b = make_broker(tmp_path / "b")
    pw = tmp_path / "b" / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "line", "right"], check=True,
                   capture_output=True)
    conf = b.conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
    b.conf.write_text(conf + f"password_file {pw}\n")
    b.start()
    try:
        cred = tmp_path / "cred"
        cred.write_text("line:right")
        cred.chmod(0o600)
        source = MqttSource(f"{b.url}/plant", credentials=str(cred), client_id="tb-pw",
                            protocol="3.1.1")
        feed = KeepingFeed()
        thread = SourceThread(source, feed)
        feed.wait(KeepingFeed.connected, 15, "the connection")
        thread.stop()
        cred.write_text("line:wrong")
        wrong = MqttSource(f"{b.url}/plant", credentials=str(cred), client_id="tb-pw2")
        with pytest.raises(LiveError, match="not authorized: check the user name and password"):
            wrong.run(KeepingFeed(), __import__("threading").Event())
    finally:
        b.stop()


def test_mqtt_3_1_1_keeps_the_session_too(broker):
    source = MqttSource(f"{broker.url}/old", client_id="tb-311", protocol="3.1.1")
    feed = KeepingFeed()
    thread = SourceThread(source, feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    thread.stop()  # away: the broker queues for the 3.1.1 persistent session
    pub = Publisher(broker.port, protocol=mqtt.MQTTv311, client_id="pub-311")
    for i in range(20):
        pub.publish("old/M1/power_kw", json.dumps({"ts": T0 + i, "value": i / 4}))
    pub.wait_all()
    pub.close()
    feed2 = KeepingFeed()
    thread = SourceThread(MqttSource(f"{broker.url}/old", client_id="tb-311",
                                     protocol="3.1.1"), feed2)
    feed2.wait(lambda f: len(f.got) >= 20, 20, "what was sent while away")
    thread.stop()
    assert [r.value for r in feed2.got] == [i / 4 for i in range(20)]
    assert feed2.links[1] == ("connected", "session resumed")



def _certificates(folder):
    """A CA, a broker certificate for 127.0.0.1 signed by it, and another CA nobody trusts."""
    import subprocess

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    for ca in ("ca", "other"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN=twinbench test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
        "broker.key", "-out", "broker.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "broker.crt")


def test_mqtts_connects_to_a_broker_whose_ca_is_given_and_refuses_one_it_cannot_trust(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    _certificates(certs)
    b = make_broker(tmp_path / "b")
    b.conf.write_text(b.conf.read_text() + f"cafile {certs}/ca.crt\ncertfile "
                      f"{certs}/broker.crt\nkeyfile {certs}/broker.key\n")
    b.start()
    try:
        url = f"mqtts://127.0.0.1:{b.port}/plant"
        source = MqttSource(url, ca_file=str(certs / "ca.crt"), client_id="tb-tls")
        feed = KeepingFeed()
        thread = SourceThread(source, feed)
        feed.wait(KeepingFeed.connected, 15, "the TLS connection")
        thread.stop()
        untrusted = MqttSource(url, ca_file=str(certs / "other.crt"), client_id="tb-tls2")
        with pytest.raises(LiveError, match="TLS .* failed.*ca_file"):
            untrusted.run(KeepingFeed(), __import__("threading").Event())
    finally:
        b.stop()
    with pytest.raises(LiveError, match="no such file"):
        MqttSource(url, ca_file=str(certs / "missing.crt"))


def test_a_host_that_does_not_resolve_is_refused_and_the_feed_told():
    feed = KeepingFeed()
    with pytest.raises(LiveError, match="cannot find the broker's host"):
        MqttSource("mqtt://no-such-host.invalid/plant").run(feed, __import__("threading").Event())
    assert [s for s, _ in feed.links] == ["connecting", "closed"]


@pytest.mark.timeout(150)  # its waits allow for a loaded machine
def test_a_broker_not_up_yet_is_waited_for_and_followed_when_it_comes(tmp_path):
    b = make_broker(tmp_path / "late")
    source = MqttSource(f"{b.url}/plant", client_id="tb-late", reconnect_max_s=1)
    feed = KeepingFeed()
    thread = SourceThread(source, feed)
    feed.wait(lambda f: len(f.links) >= 2, 40, "the first attempt")
    assert feed.links[1][0] == "reconnecting"
    b.start()
    try:
        feed.wait(KeepingFeed.connected, 60, "the connection once the broker is up")
        pub = Publisher(b.port)
        pub.publish("plant/M1/state", "down")
        pub.wait_all()
        pub.close()
        feed.wait(lambda f: f.got, 15, "the reading")
        thread.stop()
    finally:
        b.stop()
    assert [(r.asset, r.value) for r in feed.got] == [("M1", "down")]


def test_a_payload_of_several_channels_with_one_bad_value_is_bad_as_a_whole():
    from twin.live.mapping import live_mapping
    from twin.live.mqtt import BadMessage, MessageReader

    m = live_mapping({"live": {"mqtt": {"topics": [
        {"topic": "f/{asset}/t", "fields": {"id": "n", "state": "st", "power_kw": "kw"}}]}}})
    reader = MessageReader("", m)
    with pytest.raises(BadMessage) as e:
        reader.read("f/A/t", b'{"n": 5, "st": "busy", "kw": "NaN"}', T0)
    assert e.value.kind == "value out of range"
    # nothing of it was remembered: the same message id, readable now, is new
    out = reader.read("f/A/t", b'{"n": 5, "st": "busy", "kw": 2}', T0)
    assert [(r.channel, r.value, r.key) for r in out] == [
        ("state", "busy", "f/A/t|id:5|state"), ("power_kw", 2.0, "f/A/t|id:5|power_kw")]
    assert reader.read("f/A/t", b'{"n": 5, "st": "busy", "kw": 2}', T0) == []


@pytest.mark.parametrize("option", [{"inflight": "many"}, {"batch_max": 0},
                                    {"dedup_window": -1}, {"max_future_s": "soon"},
                                    {"keepalive_s": True}])
def test_a_bad_number_option_is_refused_naming_it(option):
    with pytest.raises(LiveError, match=f"{next(iter(option))}=.*give a number"):
        MqttSource("mqtt://h/p", **option)


def test_a_wrong_prefix_is_told_where_the_messages_go(broker):
    """A newcomer connected with a wrong prefix and waited "connected, nothing received yet"
    for ever. Nothing under the prefix for ``probe_after_s``: the source listens to every
    topic briefly (a client of its own) and names the prefix the messages come under."""
    source, feed, thread = _follow(broker, "plant", probe_after_s=1)
    pub = Publisher(broker.port)
    stop = time.monotonic() + 12
    try:
        while time.monotonic() < stop and not feed.bad_kinds:
            for asset in ("filler", "capper"):
                pub.publish(f"line1/{asset}/state", "busy")
            time.sleep(0.05)
        feed.wait(lambda f: f.bad_kinds, 5, "the probe's report")
    finally:
        thread.stop()
        pub.close()
    assert list(feed.bad_kinds) == ["nothing under the prefix"]
    text = feed.examples["nothing under the prefix"]
    assert text.startswith("nothing arrives under 'plant', but in 5 s the broker carried")
    assert "under 'line1' (e.g. line1/" in text and "mqtt://HOST:PORT/PREFIX" in text
    assert not feed.got  # nothing of the other prefix was taken as readings


def test_the_prefix_probe_runs_again_after_each_reconnection_that_receives_nothing(broker):
    """The probe ran once per run: after a reconnection (the publishers moved to another
    prefix meanwhile) nothing told where the messages went. Each connection that receives
    nothing is probed; the same finding again is not told again (a flapping link would
    flood the log), a new one is."""
    source, feed, thread = _follow(broker, "plant", probe_after_s=1)
    pub = Publisher(broker.port)

    def publish_until(prefix, predicate, what, timeout=15.0):
        stop = time.monotonic() + timeout
        while time.monotonic() < stop and not predicate():
            for asset in ("filler", "capper"):
                pub.publish(f"{prefix}/{asset}/state", "busy")
            time.sleep(0.05)
        feed.wait(lambda f: predicate(), 5, what)

    def reconnect(n):
        pub.close()
        broker.stop()
        broker.start()
        feed.wait(lambda f: [s for s, _ in f.links].count("connected") >= n, 30,
                  f"connection {n}")
        return Publisher(broker.port)

    def told():
        return [e for k, e in feed.said if k == "nothing under the prefix"]

    try:
        publish_until("line1", lambda: len(told()) >= 1, "the first probe's report")
        pub = reconnect(2)
        publish_until("line2", lambda: len(told()) >= 2, "the probe after the reconnection")
        assert "under 'line1'" in told()[0] and "under 'line2'" in told()[1], told()
        assert "under 'line1'" not in told()[1]
        pub = reconnect(3)  # the same finding again: probed, not told again
        generation = source._generation
        publish_until("line2", lambda: source._probed == generation and not source._probing
                      and source._probe is None, "the third probe")
        time.sleep(0.5)
    finally:
        thread.stop()
        pub.close()
    assert len(told()) == 2, told()
    assert not feed.got


def test_a_probe_that_finds_messages_under_the_prefix_itself_tells_nothing():
    """`twinbench live` started before `twinbench emulate`: the probe listened while the
    emulator began publishing under the very prefix given, and the closing report said
    "nothing arrives under 'plant' ... 74 under 'plant' ...; give that prefix". Data did
    arrive (late), so nothing is told; a probe that finds only other prefixes still is."""
    class Told:
        def __init__(self):
            self.said = []

        def bad(self, kind, example):
            self.said.append((kind, example))

    source = MqttSource("mqtt://127.0.0.1:1/plant", probe_after_s=1)
    feed = Told()
    for counts in ({"plant/rinser/state": 74},
                   {"plant/rinser/state": 70, "line1/filler/state": 4}):
        source._probe, source._probing = dict(counts), False
        source._look_elsewhere(feed)
    assert feed.said == [] and source._probe is None
    source._probe, source._probing = {"line1/filler/state": 4}, False
    source._look_elsewhere(feed)
    assert [k for k, _ in feed.said] == ["nothing under the prefix"]
    assert "under 'line1' (e.g. line1/filler/state)" in feed.said[0][1]
