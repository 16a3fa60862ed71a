"""What every live source hands over, and the registry of sources.

A source (MQTT, OPC UA, ...) turns what the plant sends into :class:`Reading` objects and
hands them, in batches, to a :class:`Feed`: the recorder, the workbench's live view, a test.
It also tells the feed how its connection goes (:meth:`Feed.link`) and counts what it could
not read (:meth:`Feed.bad`): bad input from a plant never stops a source.

Sources run on a thread of their own (``Source.run`` blocks until ``stop`` is set) and never
touch Qt. They register themselves by URL scheme, as the recording importers do by format.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

from kernels.types import STATE_NAMES
from twin.errors import InputError

#: The channels of the default conventions (docs/live.md): a machine state (a name of
#: ``kernels.types.STATE_NAMES``), a part event (the value: how many parts, default 1), a
#: scrapped part event, a cumulative good-part counter, the power now (kW), the parts inside
#: a buffer, conveyor or queue.
CHANNELS = ("state", "parts", "scrap", "count", "power_kw", "level")
STATES = STATE_NAMES

#: Link states a source reports. ``connected`` ends a gap; ``reconnecting`` starts one.
LINK_STATES = ("connecting", "connected", "reconnecting", "closed")


class LiveError(InputError):
    """A live source cannot be used as asked: a bad address, no such broker or server, a
    certificate not trusted, a bad mapping. The message says what to fix."""


class Reading(NamedTuple):
    """One value the plant sent.

    ``asset`` is the recording's asset id (a project element id, ``<station>#<k>`` for
    server k of a multi-server station); ``t`` the plant's time stamp, seconds since the
    Unix epoch (UTC); ``value`` a state name for ``state``, a number otherwise. ``key``
    identifies the message at its source so that a redelivered one is recorded once
    (MQTT: the publisher's message identity; OPC UA: node and source time stamp); ``""``
    when the source cannot tell.

    A named tuple, not a frozen dataclass: the workbench makes one per message from what
    the source's process hands over (``twin.live.process``), and a frozen dataclass's
    ``__init__`` (an ``object.__setattr__`` per field) cost 2.5 µs of its CPU a reading at
    20,000 readings/s; a tuple is made in C. Immutable and compared by value either way.
    """

    asset: str
    channel: str
    t: float
    value: float | str
    key: str = ""


class Feed(Protocol):
    """Where a source puts what it reads. Called from the source's thread."""

    def readings(self, batch: list[Reading]) -> None:
        """Readings in the order they arrived (not necessarily in time order)."""

    def bad(self, kind: str, example: str) -> None:
        """One message that could not be read: ``kind`` names the fault (``unparsable
        payload``, ``unknown asset``, ``unknown state``, ``value out of range``, ``time in the
        future``, ...), ``example`` shows it (shortened)."""

    def link(self, state: str, detail: str = "") -> None:
        """The connection changed: one of :data:`LINK_STATES`; ``detail`` says why."""


class Source(ABC):
    """A live source: ``url`` says where, ``options`` how (mapping, security, client id).

    Subclasses set ``schemes`` and are registered with :func:`register`.
    """

    schemes: tuple[str, ...] = ()

    def __init__(self, url: str, **options) -> None:
        self.url = url
        self.options = options

    @abstractmethod
    def run(self, feed: Feed, stop: threading.Event) -> None:
        """Follow the plant until ``stop`` is set, reconnecting on its own; raises
        :class:`LiveError` only for what retrying cannot mend (a bad address, an untrusted
        certificate)."""


SOURCES: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make ``cls`` the source of its URL schemes."""
    for scheme in cls.schemes:
        SOURCES[scheme] = cls
    return cls


def open_source(url: str, **options) -> Source:
    """The registered source for ``url``'s scheme (``mqtt://``, ``opc.tcp://``, ...)."""
    scheme = urlsplit(url).scheme.lower()
    _load_drivers(scheme)
    if scheme not in SOURCES:
        known = ", ".join(f"{s}://" for s in sorted(SOURCES)) or "none installed"
        raise LiveError(f"{url!r}: no live source for {scheme + '://' if scheme else 'it'}; "
                        f"twinbench reads {known}")
    return SOURCES[scheme](url, **options)


#: URL scheme -> the module of its driver, imported when a source of that scheme is opened.
DRIVERS = {"mqtt": "twin.live.mqtt", "mqtts": "twin.live.mqtt", "opc.tcp": "twin.live.opcua"}


def _load_drivers(scheme: str = "") -> None:
    """Import the driver modules, which register themselves (their libraries are optional
    until a source is used): the one of ``scheme`` alone when it is known (asyncua takes a
    second to import, which the workbench's GUI thread should not wait for to follow MQTT),
    else all of them (to name what is installed)."""
    import importlib

    for name in ([DRIVERS[scheme]] if scheme in DRIVERS else sorted(set(DRIVERS.values()))):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("twin."):
                continue  # that driver is not written yet
            raise LiveError(f"{name.rsplit('.', 1)[1]} needs the package {e.name!r}: "
                            f"pip install {e.name}") from None


@dataclass(frozen=True)
class AddressKind:
    """A kind of plant address: its name, URL schemes (with their default ports), the form to
    write and an example."""

    name: str
    ports: dict[str, int]
    form: str
    example: str


#: The addresses twinbench follows and emulates, by kind (``"mqtt"``, ``"opcua"``).
ADDRESSES = {
    "mqtt": AddressKind("MQTT", {"mqtt": 1883, "mqtts": 8883},
                        "mqtt://HOST:PORT/PREFIX (mqtts:// for TLS)",
                        "mqtt://192.168.0.10:1883/plant"),
    "opcua": AddressKind("OPC UA", {"opc.tcp": 4840}, "opc.tcp://HOST:PORT",
                         "opc.tcp://192.168.0.10:4840"),
}


@dataclass(frozen=True)
class Address:
    """A checked address: ``path`` is the MQTT topic prefix (``/a/b``) or the OPC UA
    endpoint's path."""

    url: str
    scheme: str
    host: str
    port: int
    path: str


def check_address(url: str, kind: str, what: str = "",
                  error: type[Exception] = LiveError) -> Address:
    """``url`` as an :class:`Address` of ``kind`` (a key of :data:`ADDRESSES`), or ``error``
    naming ``what`` (``--mqtt``, ``address``), the value, what is wrong and the form to write.

    The one check of an address for ``twinbench live``, ``twinbench emulate``, the Connect
    dialog and the sources. An MQTT address holds no wildcard (``+``, ``#``) in its prefix and
    no user, password or query: credentials come from the environment or a file.
    """
    k = ADDRESSES[kind]
    text = str(url).strip()
    head = f"{what} {text!r}" if what else repr(text)
    fix = f"write {k.form}, e.g. {k.example}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise error(f"{head} is not an {k.name} address: the port must be a number "
                    f"1-65535; {fix}") from None
    scheme = parts.scheme.lower()
    if scheme not in k.ports or not parts.hostname:
        raise error(f"{head} is not an {k.name} address: {fix}{_scheme_hint(text, scheme, k)}")
    if port == 0:
        raise error(f"{head} is not an {k.name} address: the port must be a number "
                    f"1-65535; {fix}")
    if kind == "mqtt":
        if "#" in text or "+" in parts.path or "\0" in text:
            raise error(f"{head}: the topic prefix may not hold the wildcards + or # (nor NUL); "
                        f"{fix}")
        if parts.query or parts.username or parts.password:
            raise error(f"{head}: no user, password or ?query in the address (credentials "
                        "come from the environment or a credentials file)")
    return Address(text, scheme, parts.hostname, port or k.ports[scheme], parts.path)


def _scheme_hint(text: str, scheme: str, kind: AddressKind) -> str:
    """What is wrong with the scheme of an address refused: the scheme found (a typo such as
    ``htp://`` or ``opc.tpc://``, another protocol's ``tcp://``, or none) and the schemes
    ``kind`` takes; empty when the scheme is right and the rest is wrong."""
    takes = " or ".join(f"{s}://" for s in kind.ports)
    if "://" not in text:  # "broker:1883/plant" parses as the scheme "broker"
        if scheme in kind.ports:
            return f" (two slashes after {scheme}:, then the host)"
        return f" (the address has no scheme: {kind.name} takes {takes})"
    if scheme in kind.ports:
        return ""
    if not scheme:
        return f" (nothing before the ://: {kind.name} takes {takes})"
    found = f"{scheme}://"
    other = next((k for k in ADDRESSES.values() if scheme in k.ports), None)
    if other is not None:
        return f" ({found} is {other.name}'s scheme; {kind.name} takes {takes})"
    every = ", ".join(f"{s}://" for k in ADDRESSES.values() for s in k.ports)
    return (f" (the scheme {found} is not one twinbench reads: {every}; {kind.name} takes "
            f"{takes})")


# --- values under the default conventions (docs/live.md) -------------------------------------
def plant_time(ts: float | int | str) -> float:
    """A time stamp as seconds since the Unix epoch: a number of seconds, or ISO 8601 text
    (``2026-12-02T06:00:00Z``, ``2026-12-02 07:00:00+01:00``; without a zone it is UTC).
    Raises ``ValueError`` naming what it could not read."""
    if type(ts) is float and 0.0 <= ts < 32503680000.0:  # the usual case, first: a flood's
        return ts  # every message comes through here (NaN fails the comparison)
    import math
    from datetime import UTC, datetime

    if isinstance(ts, bool):
        raise ValueError(f"time stamp {ts!r} is not a time")
    if isinstance(ts, int | float):
        t = float(ts)
    elif isinstance(ts, str):
        text = ts.strip()
        try:
            t = float(text)
        except ValueError:
            try:
                d = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise ValueError(f"time stamp {ts[:40]!r} is neither seconds since 1970 nor "
                                 "ISO 8601") from None
            t = (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()
    else:
        raise ValueError(f"time stamp {ts!r} is not a time")
    if not math.isfinite(t) or not 0.0 <= t < 32503680000.0:  # 1970 .. 3000
        raise ValueError(f"time stamp {ts!r} lies outside 1970-3000")
    return t


def state_name(value: str | int | float, codes: dict[str, str] | None = None) -> str:
    """A state as one of :data:`STATES`: a state name (any case), or a plant code that
    ``codes`` (the mapping's ``{raw: state name}``) names. Raises ``ValueError``."""
    raw = str(value).strip() if not isinstance(value, float) or not value.is_integer() \
        else str(int(value))
    if codes and raw in codes:
        return codes[raw]
    if raw.lower() in STATES:
        return raw.lower()
    raise ValueError(f"state {raw[:40]!r} is not one of {', '.join(STATES)}"
                     + (" nor a code of the mapping" if codes else ""))
