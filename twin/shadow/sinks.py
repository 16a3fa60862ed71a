"""Where alerts go besides the screen: a log beside the recording, and MQTT.

* :class:`AlertLog` appends each change of an alert as one JSON line to
  ``<recording>.alerts.jsonl`` beside the recording (``shift.h5`` ->
  ``shift.alerts.jsonl``; docs/recording-format.md, "Alerts"). A live recording is written
  in SWMR mode, where HDF5 cannot add a dataset, so the alerts live beside it; each line is
  flushed as it is written, so a killed recorder leaves every alert up to the last one.
  :func:`read_alert_log` reads it back.
* :class:`MqttAlertPublisher` publishes each change as JSON (``Alert.to_dict``) to
  ``<prefix>/alerts`` at QoS 1, so that other systems can act; the live source subscribes to
  ``<prefix>/+/+`` only, so it never reads them back as plant data.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from twin import jsonfile
from twin.errors import InputError
from twin.live.feed import LiveError, check_address
from twin.shadow.alerts import Alert

#: Seconds :meth:`MqttAlertPublisher.close` waits for the broker's acknowledgements.
CLOSE_WAIT = 5.0


def alert_log_path(recording: str | os.PathLike) -> Path:
    """The alert log beside a recording: ``shift.h5`` -> ``shift.alerts.jsonl``."""
    p = Path(recording)
    return p.with_name(p.stem + ".alerts.jsonl")


class AlertLog:
    """Append alerts to a JSON-lines file (created, or appended to with ``append``)."""

    def __init__(self, path: str | os.PathLike, append: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not append:
            raise InputError(f"{self.path}: exists; remove it or choose another recording")
        try:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open
        except OSError as e:
            raise InputError(f"{self.path}: cannot be written ({e.strerror}); choose another "
                             "folder") from None
        self._lock = threading.Lock()
        self.written = 0

    def __call__(self, alert: Alert) -> None:
        line = json.dumps(alert.to_dict(), allow_nan=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self.written += 1

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_alert_log(path: str | os.PathLike) -> list[dict]:
    """Every line of an alert log as a dict (a last line cut off by a kill is left out)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such alert log")
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(jsonfile.parse(line, str(path)))
        except jsonfile.JsonInputError as e:
            if i == len(lines) - 1:
                break  # written half when the recorder was killed
            raise InputError(f"{path}: line {i + 1} is not JSON ({e})") from None
    return out


class MqttAlertPublisher:
    """Publish alerts to ``<prefix>/alerts`` of the broker of ``url``
    (``mqtt://HOST:PORT/PREFIX``) at QoS 1."""

    def __init__(self, url: str, client_id: str | None = None, timeout: float = 10.0) -> None:
        import paho.mqtt.client as mqtt

        a = check_address(url, "mqtt", "--publish-alerts")  # no wildcard in the prefix
        host, port, prefix = a.host, a.port, a.path.strip("/")
        self.topic = f"{prefix}/alerts" if prefix else "alerts"
        self.published = 0
        self._acked = 0
        self._cond = threading.Condition()
        connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                        client_id=client_id or f"twinbench-alerts-{os.getpid()}",
                        protocol=mqtt.MQTTv311, clean_session=True)
        c.reconnect_delay_set(0.1, 5)
        c.on_connect = lambda *a: connected.set() if not a[3].is_failure else None
        c.on_publish = self._on_publish
        try:
            c.connect(host, port, keepalive=30)
        except (OSError, ValueError) as e:
            raise LiveError(f"--alerts-mqtt {url!r}: no MQTT broker answers at {host}:{port} "
                            f"({e}); start one or fix the address") from None
        c.loop_start()
        self._client = c
        if not connected.wait(timeout):
            self.close()
            raise LiveError(f"--alerts-mqtt {url!r}: the broker did not accept the connection "
                            f"within {timeout:g} s")

    def _on_publish(self, *_args) -> None:
        with self._cond:
            self._acked += 1
            self._cond.notify_all()

    def __call__(self, alert: Alert) -> None:
        payload = json.dumps(alert.to_dict(), allow_nan=False)
        self._client.publish(self.topic, payload, qos=1)  # paho queues it while away
        self.published += 1

    def close(self) -> None:
        """Wait (at most :data:`CLOSE_WAIT` s) for the acknowledgements, then disconnect."""
        if self._client is None:
            return
        with self._cond:
            self._cond.wait_for(lambda: self._acked >= self.published, CLOSE_WAIT)
        self._client.disconnect()
        self._client.loop_stop()
        self._client = None
