"""The OPC UA source: follow a plant's OPC UA server with asyncua (docs/live-opcua.md).

Under the default convention the server's Objects folder holds one object per asset (browse
name = asset id) with the variables ``State``, ``GoodParts``, ``ScrapParts``, ``PowerKw`` and
``Level``; a plant that names its nodes otherwise lists them in the ``nodes`` option. The
source subscribes to every node (monitored items whose queues hold every change of a
publishing interval), takes each change's SourceTimestamp as its time, checks the server's
certificate against a trust store, reconnects on its own and, where the server keeps history,
back-fills the gap of a lost connection with HistoryRead before it resumes live.

asyncua is asynchronous: :meth:`OpcUaSource.run` runs an asyncio loop on the caller's thread
(the source's own thread) until ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import socket
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto import uacrypto
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from twin.live.feed import (
    CHANNELS,
    Feed,
    LiveError,
    Reading,
    Source,
    check_address,
    register,
    state_name,
)

#: The default convention: variable browse name -> channel.
CONVENTION = {"State": "state", "GoodParts": "count", "ScrapParts": "scrap",
              "PowerKw": "power_kw", "Level": "level"}
#: Channels whose node holds a cumulative counter that becomes increments (the first value
#: read is the base, not parts). ``count`` stays cumulative, as the channel says.
INCREMENTS = ("scrap", "parts")
#: The application URI of twinbench's client certificate (servers check it against the
#: URI the client announces).
APP_URI = "urn:twinbench:live:client"
MODES = {"None": ua.MessageSecurityMode.None_, "Sign": ua.MessageSecurityMode.Sign,
         "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
#: Status codes by which a server says it does not accept twinbench's certificate.
_REFUSED = {"BadCertificateUntrusted", "BadSecurityChecksFailed", "BadCertificateInvalid",
            "BadCertificateUriInvalid", "BadCertificateUseNotAllowed", "BadCertificateTimeInvalid",
            "BadCertificateRevoked", "BadCertificateIssuerRevoked", "BadSecurityPolicyRejected"}
#: InfoType "data value" (0x400) with the Overflow bit (0x80): the server dropped values of
#: this monitored item's queue (OPC 10000-4, 7.39).
_OVERFLOW = 0x0480
_NONE_URI = "http://opcfoundation.org/UA/SecurityPolicy#None"
_HISTORY_END = datetime(9999, 1, 1, tzinfo=UTC)
_RECENT = 4096  # keys remembered per node to drop a value delivered twice


def default_pki_dir() -> Path:
    """Where twinbench keeps its OPC UA certificates: ``$XDG_DATA_HOME/twinbench/opcua``
    (``~/.local/share/twinbench/opcua``), with ``own/`` (its client certificate and key),
    ``trusted/`` (server certificates it trusts) and ``rejected/`` (ones it refused)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "share")
    return Path(base) / "twinbench" / "opcua"


def thumbprint(der: bytes) -> str:
    """A certificate's SHA-1 thumbprint as OPC UA tools show it (``AB:CD:...``)."""
    digest = hashlib.sha1(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


class _Node:
    """One monitored node and what the source remembers of it across reconnections."""

    __slots__ = ("nodeid", "asset", "channel", "last_t", "last_count", "keys", "key_set",
                 "history")

    def __init__(self, nodeid: str, asset: str, channel: str):
        self.nodeid = nodeid
        self.asset = asset
        self.channel = channel
        self.last_t: float | None = None  # source time of the last value seen
        self.last_count: float | None = None  # a counter's last value (the base of the next)
        self.keys: deque[str] = deque()
        self.key_set: set[str] = set()
        self.history = False

    def seen(self, key: str) -> bool:
        """Whether ``key`` was delivered already; remembers it if not."""
        if key in self.key_set:
            return True
        self.keys.append(key)
        self.key_set.add(key)
        if len(self.keys) > _RECENT:
            self.key_set.discard(self.keys.popleft())
        return False


class _Lost(Exception):
    """The connection to the server is gone (retry)."""


class _Stopped(Exception):
    """``stop`` was set while a request was under way."""


@register
class OpcUaSource(Source):
    """Follows an OPC UA server (``opc.tcp://host:port[/path]``).

    Options (all plain values, so that the mapping file's ``live`` section can pass them):

    ``nodes``
        ``{node id: (asset, channel)}`` for a plant that does not follow the convention
        (node ids as text, ``"ns=2;s=Press.State"``); then nothing is browsed.
    ``state_codes``
        ``{raw: state name}``: the plant's state codes (``{"3": "down"}``).
    ``security``
        ``"SignAndEncrypt"`` (default), ``"Sign"``, or ``"None"`` (only when asked).
    ``certificate``, ``private_key``
        twinbench's client certificate (DER or PEM) and key (PEM); by default one is made
        once in ``pki_dir/own/``.
    ``pki_dir``
        Default :func:`default_pki_dir`; ``trust_dir`` default ``pki_dir/trusted``.
    ``publishing_interval``
        Seconds between the server's notifications (default 0.1).
    ``max_rate``
        The most changes per second one node makes (default 1000); each monitored item's
        queue holds ``max_rate`` x ``publishing_interval`` x 4 values (at least 100), or
        ``queue_size`` when given.
    ``timeout``
        Seconds any one request may take (default 5); ``backoff_max`` the longest wait
        between reconnection attempts (default 10).
    ``history``
        Back-fill a lost connection's gap with HistoryRead where the server keeps history
        (default True).
    """

    schemes = ("opc.tcp",)

    def __init__(self, url: str, **options) -> None:
        super().__init__(url, **options)
        self.host = check_address(url, "opcua").host
        known = {"nodes", "state_codes", "security", "certificate", "private_key", "pki_dir",
                 "trust_dir", "publishing_interval", "max_rate", "queue_size", "timeout",
                 "backoff_max", "history"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise LiveError(f"OPC UA source: unknown option(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
        self.security = str(options.get("security", "SignAndEncrypt"))
        if self.security not in MODES:
            raise LiveError(f"OPC UA security {self.security!r}: use one of "
                            f"{', '.join(MODES)} (None only for a server without security)")
        self.state_codes = {str(k): str(v) for k, v in (options.get("state_codes") or {}).items()}
        self.publishing_interval = _positive(options, "publishing_interval", 0.1)
        self.max_rate = _positive(options, "max_rate", 1000.0)
        self.timeout = _positive(options, "timeout", 5.0)
        self.backoff_max = _positive(options, "backoff_max", 10.0)
        queue = options.get("queue_size")
        self.queue_size = (int(queue) if queue is not None else
                           max(100, math.ceil(self.max_rate * self.publishing_interval * 4)))
        if self.queue_size < 1:
            raise LiveError(f"OPC UA queue_size {queue!r}: give a whole number of at least 1")
        self.history = bool(options.get("history", True))
        self.pki_dir = Path(options.get("pki_dir") or default_pki_dir())
        self.trust_dir = Path(options.get("trust_dir") or self.pki_dir / "trusted")
        cert, key = options.get("certificate"), options.get("private_key")
        if (cert is None) != (key is None):
            raise LiveError("OPC UA: give both certificate and private_key, or neither (then "
                            f"twinbench makes its own in {self.pki_dir / 'own'})")
        self.certificate = Path(cert) if cert else self.pki_dir / "own" / "twinbench-client.der"
        self.private_key = Path(key) if key else self.pki_dir / "own" / "twinbench-client.pem"
        self._own_made = cert is None
        self._nodes: dict[str, _Node] = {}
        for nodeid, target in (options.get("nodes") or {}).items():
            try:
                asset, channel = target
            except (TypeError, ValueError):
                raise LiveError(f"OPC UA nodes[{nodeid!r}] = {target!r}: give [asset, channel]")\
                    from None
            if channel not in CHANNELS:
                raise LiveError(f"OPC UA nodes[{nodeid!r}]: channel {channel!r} is not one of "
                                f"{', '.join(CHANNELS)}")
            try:
                ua.NodeId.from_string(str(nodeid))
            except Exception:
                raise LiveError(f"OPC UA nodes: {nodeid!r} is not a node id (write it as "
                                "ns=2;s=Name or ns=2;i=42)") from None
            self._nodes[str(nodeid)] = _Node(str(nodeid), str(asset), channel)
        self._browse = not self._nodes
        self._app_uri = APP_URI

    # --- the thread's loop ------------------------------------------------------------------
    def run(self, feed: Feed, stop: threading.Event) -> None:
        try:
            asyncio.run(self._main(feed, stop))
        finally:
            feed.link("closed")

    async def _call(self, awaitable, timeout: float):
        """``await awaitable`` with a deadline (asyncua can hang on a dead socket), given up
        at once when ``stop`` is set."""
        task = asyncio.ensure_future(awaitable)
        deadline = time.monotonic() + timeout
        try:
            while not task.done():
                if self._stop.is_set():
                    raise _Stopped
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer from {self.url} in {timeout:g} s")
                await asyncio.wait({task}, timeout=0.05)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return task.result()

    async def _main(self, feed: Feed, stop: threading.Event) -> None:
        self._stop = stop
        note = await self._own_certificate() if self.security != "None" else ""
        feed.link("connecting", f"{self.url}{'; ' + note if note else ''}")
        delay, connected_once, last = 0.2, False, None
        self._up = False
        while not stop.is_set():
            try:
                await self._session(feed, stop, connected_once)
                return  # stopped
            except LiveError:
                raise
            except _Stopped:
                return
            except Exception as e:  # reported on the link, then retried
                # (asyncua raises many kinds on a dead socket; none may end the source)
                why = str(e) if isinstance(e, _Lost | TimeoutError) and str(e) else \
                    f"no answer from {self.url} in {self.timeout:g} s" \
                    if isinstance(e, TimeoutError) else \
                    f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                if isinstance(e, socket.gaierror) and not connected_once:
                    raise LiveError(f"OPC UA server {self.url}: no host {self.host!r} is "
                                    f"known ({e.strerror}); check the address") from None
            if self._up:  # a connection lost: a new gap, retried at once
                self._up, connected_once, delay, last = False, True, 0.2, None
            state = "reconnecting" if connected_once else "connecting"
            if (state, why) != last:  # once per cause, not once per attempt
                feed.link(state, why)
                last = (state, why)
            await _sleep(delay, stop)
            delay = min(delay * 2, self.backoff_max)

    async def _session(self, feed: Feed, stop: threading.Event, again: bool) -> None:
        client = Client(self.url, timeout=self.timeout, watchdog_intervall=min(1.0, self.timeout))
        client.application_uri = self._app_uri
        client.name = client.description = "twinbench"
        await self._secure(client)
        try:
            try:
                await self._call(client.connect(), 2 * self.timeout)
            except ua.UaStatusCodeError as e:
                if type(e).__name__ in _REFUSED:
                    raise self._refused(e) from None
                raise
            if self._browse:
                await self._discover(client, again)
            sub = await self._call(client.create_subscription(
                self._subscription_parameters(), None, queue_maxsize=0), self.timeout)
            await self._monitor(client, sub, feed)
            detail = await self._backfill(client, feed) if again else ""
            feed.link("connected", detail)
            self._up = True
            await self._follow(client, sub, feed, stop)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), min(self.timeout, 2.0))

    # --- security ---------------------------------------------------------------------------
    async def _own_certificate(self) -> str:
        """Make twinbench's self-signed client certificate once (when none was given);
        returns a note saying where, when it made one."""
        note = ""
        if not self._own_made:
            for p in (self.certificate, self.private_key):
                if not p.is_file():
                    raise LiveError(f"OPC UA: {p} does not exist; give the client certificate "
                                    "and key files, or neither (twinbench then makes its own)")
        else:
            made = not self.certificate.is_file()
            self.certificate.parent.mkdir(parents=True, exist_ok=True)
            host = socket.gethostname()
            await setup_self_signed_certificate(
                self.private_key, self.certificate, APP_URI, host,
                [ExtendedKeyUsageOID.CLIENT_AUTH],
                {"organizationName": "twinbench", "commonName": f"twinbench@{host}"})
            with contextlib.suppress(OSError):
                os.chmod(self.private_key, 0o600)
            if made:
                note = (f"made twinbench's OPC UA client certificate {self.certificate} (the "
                        "server must trust it)")
        try:
            cert = _load_certificate(self.certificate)
        except (OSError, ValueError) as e:
            raise LiveError(f"OPC UA: cannot read the client certificate {self.certificate} "
                            f"({e}); give a DER or PEM file") from None
        # servers check the application URI the client announces against its certificate's
        with contextlib.suppress(x509.ExtensionNotFound):
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
            if uris:
                self._app_uri = uris[0]
        return note

    async def _secure(self, client: Client) -> None:
        """Find the server's Basic256Sha256 endpoint, check its certificate against the trust
        store, and set the client up to use it (pinning that certificate)."""
        endpoints = await self._call(client.connect_and_get_server_endpoints(), 2 * self.timeout)
        mode = MODES[self.security]
        policy = SecurityPolicyBasic256Sha256.URI if self.security != "None" else _NONE_URI
        match = [e for e in endpoints if e.SecurityPolicyUri == policy and e.SecurityMode == mode]
        if not match:
            offered = sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]} "
                              f"{e.SecurityMode.name.rstrip('_')}" for e in endpoints})
            wanted = "no security (None)" if self.security == "None" else \
                f"Basic256Sha256 {self.security}"
            raise LiveError(f"OPC UA server {self.url} offers no endpoint with {wanted} (it "
                            f"offers: {', '.join(offered)}); set security {self.security} to "
                            "one it offers")
        if self.security == "None":
            return
        cert = uacrypto.x509_from_der(match[0].ServerCertificate)
        der = cert.public_bytes(serialization.Encoding.DER)
        await self._check_trusted(cert, der)
        await client.set_security(SecurityPolicyBasic256Sha256, str(self.certificate),
                                  str(self.private_key), server_certificate=der, mode=mode)

    async def _check_trusted(self, cert: x509.Certificate, der: bytes) -> None:
        """Refuse a server whose certificate is not in (or issued by one in) the trust store;
        the refused certificate is saved under ``rejected/`` for the user to move."""
        trusted = False
        if self.trust_dir.is_dir():
            for f in sorted(self.trust_dir.iterdir()):
                if f.suffix.lower() not in (".der", ".pem", ".crt", ".cer"):
                    continue
                try:
                    mine = _load_certificate(f)
                except (OSError, ValueError):
                    continue  # not a certificate: not a trust
                if mine.public_bytes(serialization.Encoding.DER) == der or _issued_by(cert, mine):
                    trusted = True
                    break
        if trusted:
            return
        thumb = thumbprint(der)
        rejected = self.pki_dir / "rejected" / f"{thumb.replace(':', '')}.der"
        with contextlib.suppress(OSError):
            rejected.parent.mkdir(parents=True, exist_ok=True)
            rejected.write_bytes(der)
        subject = cert.subject.rfc4514_string() or "(no subject)"
        raise LiveError(
            f"OPC UA server {self.url} is not trusted: its certificate ({subject}, SHA-1 "
            f"thumbprint {thumb}) is not in the trust store {self.trust_dir}. If the server's "
            f"administrator confirms that thumbprint, trust it: copy {rejected} into "
            f"{self.trust_dir}/ and connect again.")

    def _refused(self, e: Exception) -> LiveError:
        try:
            cert = _load_certificate(self.certificate)
            thumb = thumbprint(cert.public_bytes(serialization.Encoding.DER))
        except (OSError, ValueError):
            thumb = "unreadable"
        return LiveError(
            f"OPC UA server {self.url} refused twinbench's client certificate "
            f"({type(e).__name__}). Trust it on the server: copy {self.certificate} (SHA-1 "
            f"thumbprint {thumb}) into the server's trusted certificates folder (many servers "
            "put it in their 'rejected' folder for you to move), then connect again.")

    # --- nodes and subscription -------------------------------------------------------------
    async def _discover(self, client: Client, again: bool) -> None:
        """Browse Objects for the convention's assets and variables (at every connection: a
        plant's server may come back with assets added; a node seen before keeps what the
        source remembers of it)."""
        objects = client.nodes.objects
        refs = await self._call(objects.get_references(
            ua.ObjectIds.HierarchicalReferences, ua.BrowseDirection.Forward,
            ua.NodeClass.Object), self.timeout)
        found: dict[str, _Node] = {}
        for ref in refs:
            if ref.BrowseName.NamespaceIndex == 0:
                continue  # the Server object and other standard nodes
            asset = ref.BrowseName.Name
            children = await self._call(client.get_node(ref.NodeId).get_references(
                ua.ObjectIds.HierarchicalReferences, ua.BrowseDirection.Forward,
                ua.NodeClass.Variable), self.timeout)
            for child in children:
                channel = CONVENTION.get(child.BrowseName.Name)
                if channel is not None:
                    nodeid = child.NodeId.to_string()
                    old = self._nodes.get(nodeid)
                    found[nodeid] = old if old is not None and (old.asset, old.channel) == \
                        (asset, channel) else _Node(nodeid, asset, channel)
        if not found:
            if again:  # a server still starting up: try again
                raise _Lost(f"OPC UA server {self.url} shows no assets (yet)")
            raise LiveError(f"OPC UA server {self.url}: no object under Objects has the "
                            f"variables of the convention ({', '.join(CONVENTION)}); list the "
                            "plant's nodes in the mapping's live section (option nodes)")
        self._nodes = found

    def _subscription_parameters(self) -> ua.CreateSubscriptionParameters:
        p = ua.CreateSubscriptionParameters()
        p.RequestedPublishingInterval = self.publishing_interval * 1000.0
        # The server keeps the subscription (and its queues) for lifetime x interval after
        # losing the client; keep-alives every few seconds tell a quiet plant from a dead link.
        p.RequestedMaxKeepAliveCount = max(1, math.ceil(2.0 / self.publishing_interval))
        p.RequestedLifetimeCount = max(p.RequestedMaxKeepAliveCount * 3,
                                       math.ceil(60.0 / self.publishing_interval))
        p.MaxNotificationsPerPublish = 0
        p.PublishingEnabled = True
        return p

    async def _monitor(self, client: Client, sub, feed: Feed) -> None:
        self._handles: dict[int, _Node] = {}
        requests = []
        for i, node in enumerate(self._nodes.values(), start=1):
            params = ua.MonitoringParameters()
            params.ClientHandle = i
            params.SamplingInterval = 0.0  # as fast as the server can: every change
            params.QueueSize = self.queue_size
            # Should a queue overflow all the same, the newest values (the plant now) are
            # kept; the server flags the loss, which is counted (docs/live-opcua.md).
            params.DiscardOldest = True
            # StatusValueTimestamp: a value written again with a new time stamp is a change.
            params.Filter = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
            req = ua.MonitoredItemCreateRequest()
            req.ItemToMonitor = ua.ReadValueId(NodeId=ua.NodeId.from_string(node.nodeid),
                                               AttributeId=ua.AttributeIds.Value)
            req.MonitoringMode = ua.MonitoringMode.Reporting
            req.RequestedParameters = params
            requests.append(req)
            self._handles[i] = node
        results = await self._call(sub.create_monitored_items(requests), 2 * self.timeout)
        for node, result in zip(self._nodes.values(), results, strict=True):
            if isinstance(result, ua.StatusCode):
                feed.bad("node not monitored", f"{node.nodeid} ({node.asset} {node.channel}): "
                                               f"{result.name}")
        if self.history:
            levels = await self._call(client.read_attributes(
                [client.get_node(n.nodeid) for n in self._nodes.values()],
                ua.AttributeIds.UserAccessLevel), self.timeout)
            for node, level in zip(self._nodes.values(), levels, strict=True):
                value = level.Value.Value if level.Value is not None else 0
                node.history = bool((value or 0) & (1 << ua.AccessLevel.HistoryRead.value))

    async def _backfill(self, client: Client, feed: Feed) -> str:
        """After a reconnection: read each node's history from its last value seen to now
        and hand it over before the live values (``detail`` for the link state)."""
        if not self.history:
            return "gap not back-filled (history off)"
        filled, nodes, without = 0, 0, []
        for node in self._nodes.values():
            if node.last_t is None or self._stop.is_set():
                continue
            if not node.history:
                without.append(node)
                continue
            details = ua.ReadRawModifiedDetails()
            details.IsReadModified = False
            details.StartTime = datetime.fromtimestamp(node.last_t, UTC)
            # an end time, as the standard asks when NumValuesPerNode is 0; far ahead,
            # because plant time may run ahead of this clock (an emulator at --speed 60)
            details.EndTime = _HISTORY_END
            details.NumValuesPerNode = 0
            details.ReturnBounds = False
            target, cont = client.get_node(node.nodeid), None
            try:
                while True:  # page by page: a long gap never sits in memory whole
                    result = await self._call(target.history_read(details, cont),
                                              4 * self.timeout)
                    result.StatusCode.check()
                    values = (result.HistoryData.DataValues or []) if result.HistoryData else []
                    batch = [r for r in (self._reading(node, dv, feed) for dv in values) if r]
                    if batch:
                        feed.readings(batch)
                    filled += len(batch)
                    if not result.ContinuationPoint or result.ContinuationPoint == cont:
                        break
                    cont = result.ContinuationPoint
            except ua.UaStatusCodeError:
                without.append(node)
                continue
            nodes += 1
        parts = []
        if nodes:
            parts.append(f"back-filled {filled} value(s) of {nodes} node(s) from history")
        if without:
            parts.append(f"gap not back-filled for {len(without)} node(s) without history "
                         f"(e.g. {without[0].nodeid})")
        return "; ".join(parts)

    async def _follow(self, client: Client, sub, feed: Feed, stop: threading.Event) -> None:
        """Hand the subscription's changes over in batches until ``stop`` or a lost link."""
        pending: list[Reading] = []
        loop = asyncio.get_running_loop()
        flush_scheduled = False

        def flush() -> None:
            nonlocal flush_scheduled
            flush_scheduled = False
            if pending:
                batch = pending.copy()
                pending.clear()
                feed.readings(batch)

        async def consume() -> None:
            nonlocal flush_scheduled
            while True:
                ev = await sub.next_event()  # returns at once while events are queued
                data = getattr(ev, "data", None)
                if data is None:
                    status = getattr(getattr(ev, "notification", None), "Status", None)
                    if status is not None and not status.is_good():
                        raise _Lost(f"subscription status {status.name}")
                    continue
                node = self._handles.get(data.monitored_item.ClientHandle)
                if node is None:
                    continue
                reading = self._reading(node, data.monitored_item.Value, feed)
                if reading is not None:
                    pending.append(reading)
                    if not flush_scheduled:
                        # runs once this task waits for the next event: one batch per
                        # publish response
                        flush_scheduled = True
                        loop.call_soon(flush)

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.05)
                if client.state.value != "connected":
                    raise _Lost(f"connection to {self.url} lost")

        tasks = [asyncio.ensure_future(consume()), asyncio.ensure_future(watch())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()  # raises _Lost
        except StopAsyncIteration:
            raise _Lost(f"subscription on {self.url} ended") from None
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            flush()

    # --- values -----------------------------------------------------------------------------
    def _reading(self, node: _Node, dv: ua.DataValue, feed: Feed) -> Reading | None:
        """One data change as a Reading, or None (a duplicate, a counter's base, bad input)."""
        code = dv.StatusCode.value if dv.StatusCode is not None else 0
        if code & _OVERFLOW == _OVERFLOW:
            feed.bad("values lost (queue overflow)", f"{node.nodeid}: the server dropped "
                     f"values; raise max_rate or queue_size (now {self.queue_size})")
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            feed.bad("bad status", f"{node.nodeid}: {dv.StatusCode.name}")
            return None
        stamp = dv.SourceTimestamp
        if stamp is None:
            stamp = dv.ServerTimestamp
            feed.bad("no source time stamp", f"{node.nodeid}: server time used")
            if stamp is None:
                stamp = datetime.now(UTC)
        if isinstance(stamp, str):  # some history stores hand back text
            stamp = datetime.fromisoformat(stamp)
        stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
        t = stamp.timestamp()
        raw = dv.Value.Value if dv.Value is not None else None
        key = f"{node.nodeid}@{stamp.isoformat()}={raw!r}"
        if node.seen(key):
            return None
        node.last_t = t if node.last_t is None else max(node.last_t, t)
        example = f"{node.nodeid} ({node.asset} {node.channel}) = {raw!r}"[:120]
        if node.channel == "state":
            try:
                value: float | str = state_name(raw, self.state_codes)
            except ValueError:
                feed.bad("unknown state", example)
                return None
            return Reading(node.asset, "state", t, value, key)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            feed.bad("not a number", example)
            return None
        value = float(raw)
        if not math.isfinite(value):
            feed.bad("value out of range", example)
            return None
        if node.channel in ("count", *INCREMENTS):
            last, node.last_count = node.last_count, value
            if value < 0:
                feed.bad("value out of range", example)
                node.last_count = last
                return None
            if last is not None and value < last:
                feed.bad("counter went down", f"{example} after {last:g}")
                if node.channel in INCREMENTS:
                    return None  # the new value is the base of the next increments
            if node.channel in INCREMENTS:
                if last is None or value == last:
                    return None  # the first value is the base, not parts
                value -= last
        elif node.channel == "level" and value < 0:
            feed.bad("value out of range", example)
            return None
        return Reading(node.asset, node.channel, t, value, key)


def _load_certificate(path: Path) -> x509.Certificate:
    """A certificate file, PEM or DER whatever its name says."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether the certificate authority ``ca`` (basic constraints CA) signed ``cert``."""
    try:
        if not ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
        cert.verify_directly_issued_by(ca)
    except (x509.ExtensionNotFound, ValueError, TypeError, InvalidSignature):
        return False
    now = datetime.now(UTC)
    return ca.not_valid_before_utc <= now <= ca.not_valid_after_utc


def _positive(options: dict, name: str, default: float) -> float:
    value = options.get(name, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise LiveError(f"OPC UA {name} {options.get(name)!r}: give a number above 0 (seconds "
                        "for times)")
    return value


async def _sleep(seconds: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
