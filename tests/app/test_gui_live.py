"""Live mode in the workbench (issue 15 §4), against a real mosquitto broker: the Connect
dialog, the Live dock following what a publisher sends, the 3D colour of a station that
goes down, the connection indicator across a broker restart, and the recording left by
Disconnect (and by closing the window) opening in Replay."""

from __future__ import annotations

import sys
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.live_panel import connect_dialog
from app.theme import STATE_COLORS
from tests.live.conftest import broker  # noqa: F401 - the fixture: a real mosquitto
from twin.live.publish_mqtt import MqttPublisher
from twin.recording import Recording

pytestmark = [pytest.mark.gui, pytest.mark.timeout(150)]


@pytest.fixture
def publisher(broker):  # noqa: F811
    """The emulator's MQTT publisher (QoS 1, numbered messages), on the broker's plant/."""
    pub = MqttPublisher(f"{broker.url}/plant", client_id="test-plant")
    pub.open(None, 0.0)
    yield pub
    pub.close(wait=False)


def _connect(qtbot, win, url: str, record, protocol: str = "5") -> None:
    dlg = connect_dialog(win)
    assert dlg is not None and dlg.isVisible()
    dlg.kind.setCurrentText("MQTT")
    assert dlg.protocol.isVisible()
    dlg.protocol.setCurrentText(protocol)
    dlg.address.setText(url)
    dlg.record.setText(str(record))
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert not dlg.isVisible(), dlg.error.text()
    assert win.live.connected


def _good(rec: Recording, asset: str) -> float:
    p = rec.asset(asset).parts
    return float(p["count"][p["good"] == 1].sum())


def test_connect_dialog_names_bad_input(make_window, line_project, tmp_path, qtbot):
    win = make_window(line_project)
    dlg = connect_dialog(win)
    dlg.address.setText("http://127.0.0.1:1883/plant")
    dlg.record.setText(str(tmp_path / "x.h5"))
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert dlg.isVisible() and "mqtt://HOST:PORT/PREFIX" in dlg.error.text()
    assert "the scheme http:// is not one twinbench reads: mqtt://, mqtts://, opc.tcp://; " \
        "MQTT takes mqtt:// or mqtts://" in dlg.error.text(), dlg.error.text()
    dlg.kind.setCurrentText("OPC UA")
    dlg.address.setText("opc.tpc://127.0.0.1:4840")
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert dlg.isVisible() and "the scheme opc.tpc:// is not one twinbench reads" in \
        dlg.error.text() and "OPC UA takes opc.tcp://" in dlg.error.text(), dlg.error.text()
    dlg.kind.setCurrentText("MQTT")
    dlg.address.setText("mqtt://127.0.0.1:1883/plant")
    dlg.record.setText(str(tmp_path / "missing" / "x.h5"))
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert dlg.isVisible() and "does not exist" in dlg.error.text()
    dlg.record.setText(str(tmp_path / "x.h5"))
    dlg.mapping.setText(str(tmp_path / "no-mapping.json"))
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert dlg.isVisible() and "no-mapping.json" in dlg.error.text()
    assert not win.live.connected
    dlg.reject()


def test_live_mode_follows_the_plant(make_window, line_project, broker, publisher,  # noqa: F811
                                     tmp_path, qtbot):
    from app.live_session import LIVE_SWITCH_S

    win = make_window(line_project)
    record = tmp_path / "live.h5"
    switch = sys.getswitchinterval()
    assert switch > LIVE_SWITCH_S  # Python's 5 ms
    _connect(qtbot, win, f"{broker.url}/plant", record)
    live = win.live
    qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=15000)
    # while following, the GUI thread waits at most LIVE_SWITCH_S for the interpreter lock
    assert sys.getswitchinterval() == pytest.approx(LIVE_SWITCH_S)

    # the source refuses time stamps from the future; all of them in one shift
    from twin.live.shifts import LiveShifts

    current = LiveShifts.of_project(win.project).at(time.time() - 1200.0)
    shift_start, shift = current.start, current.label
    t0 = shift_start + 1.0
    publisher.send([("M1", "state", t0, "busy"), ("M2", "state", t0, "idle"),
                    ("M1", "power_kw", t0, 5.0), ("M2", "power_kw", t0, 1.5),
                    ("M1", "parts", t0 + 40, 1), ("M1", "parts", t0 + 80, 2),
                    ("M1", "scrap", t0 + 90, 1), ("M2", "parts", t0 + 100, 1)])
    qtbot.waitUntil(lambda: "good parts out 1, scrap 1" in live.totals_label.text(),
                    timeout=15000)
    # M2 ends the line: idle all the shift, so its OEE is undefined (no busy time)
    assert live.totals_label.text() == (
        f"shift {shift}: 1 good parts out, OEE - (line end) · since connecting: good parts "
        "out 1, scrap 1, busy share 50.0% · power now 6.5 kW")
    # the table is refreshed in its turn (app.live_panel.PARTS), within a second

    def table():
        return {live.table.item(i, 0).text(): [live.table.item(i, j).text() for j in range(7)]
                for i in range(live.table.rowCount()) if live.table.item(i, 0) is not None}
    qtbot.waitUntil(lambda: table().get("M2", [""] * 4)[1:4] == ["idle", "1", "0"],
                    timeout=5000)
    rows = table()
    assert rows["M1"][1:4] == ["busy", "3", "1"] and rows["M2"][1:4] == ["idle", "1", "0"]
    # M1 in the shift: busy 100 s of 100, 4 made (3 good) at an ideal 40 s (its mean
    # process time): A 1 x P 1.6 x Q 0.75 = 120% (exponential times beat their mean)
    assert rows["M1"][5] == "120%" and rows["M2"][5] == "-"
    assert win.view.adapters["M1"].tint == STATE_COLORS["busy"]
    assert win.view.adapters["M2"].tint == STATE_COLORS["idle"]
    # the state bars: M1 (row 0) busy all the time seen so far, M2 (row 1) idle
    bars = live.state_bars
    qtbot.waitUntil(lambda: list(bars["busy"].opts["width"]) == [1.0, 0.0]
                    and list(bars["idle"].opts["width"]) == [0.0, 1.0], timeout=5000)

    # a station that goes down turns red in the 3D view
    view = win.view
    view.camera_preset("top")
    view.render_now()
    p = view.widget_point(3.45, -0.45, 1.6)  # M1's roof, clear of its label
    before = view.grab_image()[p.y(), p.x()].astype(int)
    publisher.send([("M1", "state", t0 + 120, "down")])
    qtbot.waitUntil(lambda: view.adapters["M1"].tint == STATE_COLORS["down"], timeout=15000)
    assert view.adapters["M2"].tint == STATE_COLORS["idle"]
    r, g, b = view.grab_image()[p.y(), p.x()].astype(int)
    assert r > g + 60 and r > b + 60 and (r, g, b) != tuple(before)

    # the broker goes away and comes back: the indicator says so
    broker.kill()
    qtbot.waitUntil(lambda: live.indicator.startswith("reconnecting since"), timeout=20000)
    broker.start()
    qtbot.waitUntil(lambda: live.indicator.startswith("connected (last gap"), timeout=40000)
    publisher.send([("M2", "parts", t0 + 200, 1)])
    qtbot.waitUntil(lambda: "good parts out 2," in live.totals_label.text(), timeout=20000)

    # Disconnect leaves a recording that opens in Replay
    qtbot.mouseClick(live.disconnect_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: live.replay_button.isEnabled(), timeout=30000)
    assert not live.connected and win.act_live_connect.isEnabled()
    assert sys.getswitchinterval() == pytest.approx(switch)  # as it was
    qtbot.mouseClick(live.replay_button, Qt.LeftButton)
    rec = win.replay.recording
    assert rec is not None and {"M1", "M2"} <= set(win.replay.asset_ids)
    assert (_good(rec, "M1"), _good(rec, "M2")) == (3.0, 2.0)
    assert len(rec.gaps) == 1  # the broker restart


def test_dashboard_counts_what_the_emulator_sent(make_window, line_project, broker,  # noqa: F811
                                                 publisher, warm_kernel, tmp_path, qtbot):
    from twin.live.emulator import default_epoch, plan_run, play

    win = make_window(line_project)
    record = tmp_path / "emulated.h5"
    # MQTT 3.1.1 this time: the same persistent session and counts as with 5
    _connect(qtbot, win, f"{broker.url}/plant", record, protocol="3.1.1")
    assert win.live.session.source.options["protocol"] == "3.1.1"
    qtbot.waitUntil(lambda: win.live.indicator.startswith("connected"), timeout=15000)
    plan = plan_run(line_project, duration=3600.0, seed=5)
    truth = play(plan, [publisher], speed=0, epoch=default_epoch(plan.horizon))
    publisher.close()  # every message acknowledged by the broker
    sent = truth.per_asset()
    good = sent["M2"]["parts"]  # M2 feeds the sink: the parts out of the line
    scrap = sum(v["scrap"] for v in sent.values())
    assert good > 0 and sent["M1"]["parts"] > 0
    qtbot.waitUntil(lambda: f"good parts out {good:,.0f}, scrap {scrap:,.0f}"
                    in win.live.totals_label.text(), timeout=30000)
    table = win.live.table  # refreshed in its turn (app.live_panel.PARTS), within a second

    def parts():
        return {table.item(i, 0).text(): table.item(i, 2).text()
                for i in range(table.rowCount()) if table.item(i, 0) is not None}
    qtbot.waitUntil(lambda: len(parts()) == table.rowCount() > 0 and all(
        n == f"{sent[a]['parts']:,.0f}" for a, n in parts().items()), timeout=5000)
    # closing the window while live disconnects and closes the recording cleanly
    win.close()
    assert not win.live.connected
    rec = Recording.open(record)
    try:
        assert {a: _good(rec, a) for a in sent} == {a: float(v["parts"]) for a, v in
                                                     sent.items()}
        assert all(len(rec.asset(a).power) > 0 for a in sent)
    finally:
        rec.close()


def test_a_source_that_gives_up_ends_live_mode_with_its_reason(make_window, line_project,
                                                               tmp_path, qtbot):
    win = make_window(line_project)
    # the form is right; the host does not exist: the source's thread finds out and gives up
    _connect(qtbot, win, "mqtt://no-such-host.invalid:1883/plant", tmp_path / "none.h5")
    qtbot.waitUntil(lambda: not win.live.connected, timeout=30000)
    assert "cannot find the broker's host" in win.live.link_label.text()
    assert "no-such-host.invalid" in win.log_pane.toPlainText()
    assert not (tmp_path / "none.h5").exists() and not win.live.replay_button.isEnabled()
    assert win.act_live_connect.isEnabled() and not win.act_live_disconnect.isEnabled()
    # live mode over: the 3D view's legend no longer says "State (live)"
    assert win.colour_mode == "plain" and not win.colour_legend.isVisible()


def test_live_mode_follows_an_opcua_plant(make_window, line_project, warm_kernel, tmp_path,
                                          qtbot):
    from tests.live.conftest import free_port
    from twin.live.emulator import default_epoch, plan_run, play
    from twin.live.publish_opcua import OpcUaPublisher
    from twin.tasks import pause_collection, resume_collection

    win = make_window(line_project)
    plan = plan_run(line_project, duration=1800.0, seed=7)
    epoch = default_epoch(plan.horizon)
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    server = OpcUaPublisher(url)  # the emulator's server, no security
    # its asyncio thread runs Python in this process: automatic collection waits while it
    # runs, as for any thread of the workbench (twin.tasks: a collection meeting another
    # thread's frames can crash Python 3.11)
    pause_collection()
    server.open(plan, epoch)
    try:
        dlg = connect_dialog(win)
        dlg.kind.setCurrentText("OPC UA")
        assert dlg.security.isEnabled()
        dlg.address.setText(url)
        dlg.security.setCurrentText("none")
        dlg.record.setText(str(tmp_path / "opcua.h5"))
        qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert not dlg.isVisible(), dlg.error.text()
        qtbot.waitUntil(lambda: win.live.indicator.startswith("connected"), timeout=30000)
        sent = play(plan, [server], speed=0, epoch=epoch).per_asset()
        good = sent["M2"]["parts"]
        assert good > 0
        # the good-part counters: the dashboard counts their increases
        qtbot.waitUntil(lambda: f"good parts out {good:,.0f}," in win.live.totals_label.text(),
                        timeout=30000)
        qtbot.mouseClick(win.live.disconnect_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: win.live.replay_button.isEnabled(), timeout=30000)
    finally:
        server.close()
        resume_collection()
    with Recording.open(tmp_path / "opcua.h5") as rec:
        assert _good(rec, "M2") == good


@pytest.mark.timeout(240)
def test_connect_dialog_takes_opcua_security(make_window, line_project, tmp_path, qtbot,
                                             monkeypatch):
    """The security fields show for OPC UA only, bad values are named in the dialog, and
    with a client certificate the server trusts and a trust folder holding the server's
    certificate, live mode connects to a server that offers Basic256Sha256 only; with a
    trust folder that lacks it, the server is refused and the dock says how to trust it."""
    import asyncio
    import shutil

    from tests.live.opcua_server import SERVER_URI, PlantServer, make_certificate
    from twin.live.opcua import APP_URI
    from twin.tasks import pause_collection, resume_collection

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # rejected/ goes there
    server_cert, server_key = asyncio.run(make_certificate(tmp_path / "server-pki", "plant",
                                                           SERVER_URI, server=True))
    client_cert, client_key = asyncio.run(make_certificate(tmp_path / "client-pki",
                                                           "twinbench", APP_URI, server=False))
    server_trusts, my_trusts, empty = (tmp_path / n for n in ("srv-trust", "trust", "empty"))
    for folder in (server_trusts, my_trusts, empty):
        folder.mkdir()
    shutil.copy(client_cert, server_trusts)
    shutil.copy(server_cert, my_trusts)
    win = make_window(line_project)
    server = PlantServer(tmp_path / "server", certificate=server_cert, private_key=server_key,
                         client_trust=server_trusts, allow_none=False)
    # the server's asyncio thread runs Python in this process: automatic collection waits
    # while it runs (twin.tasks; as in test_live_mode_follows_an_opcua_plant)
    pause_collection()
    server.start()
    try:
        dlg = connect_dialog(win)
        rows = dlg.security_rows
        assert not any(r.isVisible() for r in rows)  # MQTT first
        dlg.kind.setCurrentText("OPC UA")
        assert all(r.isVisible() for r in rows) and not dlg.protocol.isVisible()
        dlg.address.setText(server.url)
        dlg.record.setText(str(tmp_path / "secure.h5"))

        def refused(message: str) -> None:
            qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
            assert dlg.isVisible() and message in dlg.error.text(), dlg.error.text()

        dlg.certificate.setText(str(client_cert))
        refused("give both the client certificate and its private key, or neither")
        dlg.private_key.setText(str(tmp_path / "nokey.pem"))
        refused(f"private key {tmp_path / 'nokey.pem'}: no such file")
        dlg.private_key.setText(str(client_key))
        dlg.trust_dir.setText(str(tmp_path / "nofolder"))
        refused(f"trusted-servers folder {tmp_path / 'nofolder'}: no such folder")
        dlg.trust_dir.setText(str(my_trusts))
        dlg.security.setCurrentText("none")
        refused("security none uses no client certificate or private key or trusted-servers "
                "folder")
        dlg.security.setCurrentText("sign-encrypt")
        qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert not dlg.isVisible(), dlg.error.text()
        live = win.live
        qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=40000)
        qtbot.waitUntil(lambda: "M1" in live.session.state.snapshot().states, timeout=20000)
        qtbot.mouseClick(live.disconnect_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: not live.connected, timeout=30000)

        # the same, trusting no server: refused, with the way to trust it
        dlg = connect_dialog(win)
        dlg.kind.setCurrentText("OPC UA")
        dlg.address.setText(server.url)
        dlg.record.setText(str(tmp_path / "refused.h5"))
        for edit, value in ((dlg.certificate, client_cert), (dlg.private_key, client_key),
                            (dlg.trust_dir, empty)):
            edit.setText(str(value))
        qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert not dlg.isVisible(), dlg.error.text()
        qtbot.waitUntil(lambda: not live.connected, timeout=90000)
        text = live.link_label.text()
        assert "not trusted" in text and "rejected" in text, text
    finally:
        win.live.shutdown()
        server.close()
        resume_collection()


def _panels_menu(win):
    view = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    return next(a.menu() for a in view.actions() if a.text() == "Panels")


@pytest.mark.parametrize("key, title", [("live", "Live"), ("alerts", "Alerts"),
                                        ("forecast", "Forecast")])
def test_docks_made_after_the_menus_are_listed_in_view_panels(make_window, line_project, qtbot,
                                                              key, title):
    """A closed Live (Alerts, Forecast) dock comes back from View > Panels, listed with the
    other docks (above Reset layout), and Reset layout puts it back too."""
    win = make_window(line_project)
    dock = win.docks[key]
    texts = [a.text() for a in _panels_menu(win).actions()]
    assert title in texts
    assert texts.index(title) < texts.index("&Reset layout")
    entry = next(a for a in _panels_menu(win).actions() if a.text() == title)
    dock.close()
    qtbot.waitUntil(lambda: not dock.isVisible())
    assert not entry.isChecked()
    entry.trigger()
    qtbot.waitUntil(lambda: not dock.isHidden())
    dock.close()
    qtbot.waitUntil(lambda: not dock.isVisible())
    win.act_reset_layout.trigger()
    assert not dock.isHidden()


def test_connect_dialog_remembers_the_last_address_and_records_beside_the_project(
        make_window, line_project, broker, tmp_path, qtbot):  # noqa: F811
    """F17: the second Connect dialog shows what the first one connected with; the default
    recording is a new file in recordings/ inside the project's folder, made on connecting;
    Disconnect before any reading: the status bar and the Live dock both say no recording."""
    folder = tmp_path / "my-line"
    folder.mkdir()
    win = make_window(line_project, folder)
    dlg = connect_dialog(win)
    default = dlg.record.text()
    assert default.startswith(str(folder / "recordings" / "live-")) and default.endswith(".h5")
    assert str(folder / "recordings") in dlg.record_note.text()
    assert not (folder / "recordings").exists()
    dlg.kind.setCurrentText("OPC UA")
    dlg.security.setCurrentText("sign")
    dlg.certificate.setText(str(tmp_path / "client.der"))
    dlg.kind.setCurrentText("MQTT")
    dlg.protocol.setCurrentText("3.1.1")
    dlg.address.setText(f"{broker.url}/line7")
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert not dlg.isVisible(), dlg.error.text()
    assert (folder / "recordings").is_dir()  # the default folder, made on demand
    live = win.live
    qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=15000)
    qtbot.mouseClick(live.disconnect_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not live.connected, timeout=30000)
    assert live.record_label.text() == "no reading was stored: no recording made"
    assert "not made" in win.statusBar().currentMessage()
    assert not list((folder / "recordings").iterdir())

    again = connect_dialog(win)
    assert again.address.text() == f"{broker.url}/line7"
    assert again.protocol.currentText() == "3.1.1" and again.kind.currentText() == "MQTT"
    # the OPC UA fields typed once come back as well (the same settings)
    again.kind.setCurrentText("OPC UA")
    assert again.security.currentText() == "sign"
    assert again.certificate.text() == str(tmp_path / "client.der")
    again.reject()


def test_messages_the_broker_dropped_are_shown_and_reported(make_window, line_project,
                                                            broker, publisher,  # noqa: F811
                                                            tmp_path, qtbot):
    """F8: a publisher's message ids with a hole (what a broker dropping messages leaves):
    the Live dock says how many never arrived and what to do, the closing report lists
    their ids, and the recording marks them as a gap."""
    win = make_window(line_project)
    record = tmp_path / "lossy.h5"
    _connect(qtbot, win, f"{broker.url}/plant", record)
    live = win.live
    qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=15000)
    assert live.lost_label.isHidden()
    t0 = time.time() - 600.0
    publisher.send([("M1", "state", t0, "busy"), ("M1", "parts", t0 + 10, 1),
                    ("M2", "parts", t0 + 20, 1)])  # ids 1-3
    publisher.sent += 5  # ids 4-8 go nowhere: as if the broker had dropped them
    publisher.send([("M1", "parts", t0 + 70, 1), ("M2", "parts", t0 + 80, 1)])  # ids 9, 10
    qtbot.waitUntil(lambda: not live.lost_label.isHidden(), timeout=15000)
    assert live.lost_label.text().startswith("5 messages never arrived: the broker dropped")
    assert "max_queued_messages" in live.lost_label.text()
    # the dock counts the holes, and the shift's figures take the hole as no data: M1 busy
    # from t0, the hole between ids 3 (t0 + 20) and 9 (t0 + 70), the latest time t0 + 80
    assert "1 hole in the numbering, each no data" in live.lost_label.text()
    snap = live.session.state.snapshot()
    assert snap.holes == 1 and snap.lost == 5
    if snap.shift_start <= t0 and t0 + 80 < snap.shift_end:  # one shift
        assert snap.shift_state_s["M1"] == pytest.approx({"busy": 30.0, "no_data": 50.0})
    qtbot.mouseClick(live.disconnect_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: live.replay_button.isEnabled(), timeout=30000)
    assert "5 messages never arrived (ids 4-8)" in win.log_pane.toPlainText()
    assert not live.lost_label.isHidden()  # still said after the end
    with Recording.open(record) as rec:
        gaps = rec.gaps
        assert len(gaps) == 1
        start, end = (float(gaps[k][0]) + rec.epoch_utc.timestamp() for k in ("start", "end"))
        # between the readings on either side of the hole (ids 3 and 9)
        assert start == pytest.approx(t0 + 20, abs=1e-3)
        assert end == pytest.approx(t0 + 70, abs=1e-3)


def test_the_view_renders_in_live_colours_before_the_feed_starts(make_window, line_project,
                                                                  broker, publisher,  # noqa: F811
                                                                  tmp_path, qtbot):
    """On software GL the first render after the first live colours held the event loop
    65-75 ms in the first tenth of a second of a flood (issue 15, bench_live_gui.py): the view
    renders once in live colours when live mode starts, before the source is started, so that
    the feed's first colouring is not its first render in live colours."""
    win = make_window(line_project)
    view, live = win.view, win.live
    renders = []  # per render of the 3D view: (messages received by then, any element tinted)

    def rendering(*_):
        session = live.session
        renders.append((None if session is None else session.state.messages,
                        any(a.tint is not None for a in view.adapters.values())))
    view.render_window.AddObserver("StartEvent", rendering)
    assert not any(tinted for _, tinted in renders)
    _connect(qtbot, win, f"{broker.url}/plant", tmp_path / "live.h5")
    qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=15000)
    publisher.send([("M1", "state", time.time() - 60.0, "down")])
    qtbot.waitUntil(lambda: view.adapters["M1"].tint == STATE_COLORS["down"], timeout=15000)
    # the feed's colours are rendered (by the view's 60 Hz timer)
    qtbot.waitUntil(lambda: any(n and tinted for n, tinted in renders), timeout=5000)
    first = next(n for n, tinted in renders if tinted)
    assert first == 0, f"the first render in live colours came after {first} message(s)"
    # the warm-up left the view as the feed found it: M2 has no state yet, no tint
    assert view.adapters["M2"].tint is None


def test_a_new_window_opens_on_the_charts_not_on_the_live_tab_it_was_closed_on(
        make_window, line_project, qtbot):
    """The saved layout restored the tab in front too: a window closed in live mode opened
    the next one on an empty Live tab. A new window is in design mode: the Charts."""
    win = make_window(line_project)
    live = win.docks["live"]
    live.raise_()  # as live mode leaves it (start_live)
    qtbot.waitUntil(lambda: not live.visibleRegion().isEmpty())
    assert win.docks["charts"].visibleRegion().isEmpty()
    win.close()  # saves the layout
    assert win.settings.value("windowState") is not None
    again = make_window(line_project)
    charts, live = again.docks["charts"], again.docks["live"]
    qtbot.waitUntil(lambda: not charts.visibleRegion().isEmpty())
    assert live.visibleRegion().isEmpty() and not live.isHidden()  # a tab behind the Charts


def test_a_redraw_of_the_live_dock_holds_the_recorder_and_the_source_back(
        make_window, line_project, broker, publisher, tmp_path, qtbot):  # noqa: F811
    """Each read of the Live dock holds the recorder's writer and the source's next batch
    back for REDRAW_HOLD_S: a redraw of 2-3 ms of CPU took 30-50 ms while they held the
    interpreter lock (issue 15, bench_live_gui.py --ledger). The feed goes on after it."""
    from app.live_panel import REDRAW_HOLD_S

    win = make_window(line_project)
    live = win.live
    _connect(qtbot, win, f"{broker.url}/plant", tmp_path / "live.h5")
    qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=15000)
    recorder = live.session.recorder
    live.timer.stop()
    qtbot.wait(100)  # no read for longer than any hold: nothing held
    t0 = time.perf_counter()
    recorder.rest()
    assert time.perf_counter() - t0 < REDRAW_HOLD_S / 2
    t0 = time.perf_counter()
    live.poll()
    recorder.rest()  # what the source's thread does before its next batch
    assert time.perf_counter() - t0 >= REDRAW_HOLD_S - 0.002
    live.timer.start()
    publisher.send([("M1", "state", time.time() - 60.0, "down")])
    qtbot.waitUntil(lambda: win.view.adapters["M1"].tint == STATE_COLORS["down"], timeout=15000)
