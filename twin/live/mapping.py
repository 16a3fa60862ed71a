"""The ``live`` section of a mapping file: how a plant's live feed differs from the default
conventions (docs/live.md).

The same mapping file that describes a plant's export for an import (``twin.recording.mapping``)
may carry a ``live`` section; a file meant only for live use may hold just that section (and the
shared ``states`` and ``assets`` sections, which the live sources reuse: raw state codes to state
names, recorded asset ids to project elements). A plant that follows the default conventions
needs no mapping at all.

Today the section has one part, ``mqtt``: topic patterns other than ``<prefix>/<asset>/<channel>``
and the JSON field names of their payloads. :func:`live_mapping` checks it and raises
:class:`~twin.recording.errors.MappingError` naming the file, the JSON path, the value and the fix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from twin.live.feed import CHANNELS
from twin.recording.errors import MappingError
from twin.recording.mapping import (
    AssetMapping,
    normalize_label,
    read_mapping_file,
    states_and_assets,
)

#: Keys of a topic rule's ``fields``: where a JSON payload keeps its time stamp, its value, its
#: message id, or (for a payload that carries several channels) each channel's value.
FIELD_KEYS = ("ts", "value", "id", *CHANNELS)
#: Most topic rules of a mapping (each message is matched against them in order).
MAX_TOPICS = 100
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class TopicRule:
    """One topic pattern of the ``live.mqtt.topics`` list.

    Attributes
    ----------
    pattern : str
        The topic with ``{asset}`` and optionally ``{channel}`` standing for whole levels.
    levels : tuple of str
        ``pattern`` split at ``/``; placeholders kept as ``{asset}``, ``{channel}``.
    asset : str
        The fixed asset of every message when the pattern has no ``{asset}``.
    channel : str
        The fixed channel when the pattern has no ``{channel}`` and ``fields`` names no channel.
    fields : dict
        ``ts``, ``value``, ``id`` and channel names to JSON field names.
    """

    pattern: str
    levels: tuple[str, ...]
    asset: str = ""
    channel: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def subscription(self) -> str:
        """The MQTT topic filter that receives the pattern's messages."""
        return "/".join("+" if _PLACEHOLDER.fullmatch(p) else p for p in self.levels)

    @property
    def channel_fields(self) -> dict[str, str]:
        """Channel -> JSON field, for a payload that carries several channels."""
        return {k: v for k, v in self.fields.items() if k in CHANNELS}

    def match(self, levels: list[str]) -> tuple[str, str] | None:
        """``(asset, channel)`` of a topic split at ``/`` (``""`` where the rule fixes or its
        fields give them), or None when the topic is not the pattern's."""
        if len(levels) != len(self.levels):
            return None
        asset, channel = self.asset, self.channel
        for want, got in zip(self.levels, levels, strict=True):
            if want == "{asset}":
                asset = got
            elif want == "{channel}":
                channel = got
            elif want != got:
                return None
        return asset, channel


#: Sparkplug B metric names read by default (as the OPC UA convention names its variables),
#: besides the channel names themselves.
SPARKPLUG_METRICS = {"State": "state", "Parts": "parts", "Scrap": "scrap", "GoodParts": "count",
                     "PowerKw": "power_kw", "Level": "level", **{c: c for c in CHANNELS}}


@dataclass(frozen=True)
class SparkplugRule:
    """``live.mqtt.sparkplug``: read Sparkplug B (``spBv1.0/<group>/...``) messages.

    Attributes
    ----------
    group : str
        The group id to follow (``"+"``: every group).
    metrics : dict
        Metric name to channel; metrics not named are skipped.
    """

    group: str = "+"
    metrics: dict[str, str] = field(default_factory=lambda: dict(SPARKPLUG_METRICS))

    @property
    def subscription(self) -> str:
        return f"spBv1.0/{self.group}/#"


@dataclass(frozen=True)
class LiveMapping:
    """A checked live mapping. Build with :func:`live_mapping` or :func:`load_live_mapping`.

    Attributes
    ----------
    file : str
    topics : tuple of TopicRule
        MQTT topic patterns, tried in order before the default convention.
    states : dict
        Normalized raw state code to state name (the mapping's shared ``states``).
    assets : dict
        Normalized recorded asset id to :class:`~twin.recording.mapping.AssetMapping`.
    """

    file: str = "<defaults>"
    topics: tuple[TopicRule, ...] = ()
    states: dict[str, str] = field(default_factory=dict)
    assets: dict[str, AssetMapping] = field(default_factory=dict)
    sparkplug: SparkplugRule | None = None

    def asset_id(self, raw: str) -> str:
        """The recording's asset id of an asset as the plant names it: the mapping's element
        (``<element>#<server>`` for a server of a multi-server station), else ``raw``."""
        if not self.assets:
            return raw
        m = self.assets.get(normalize_label(raw))
        if m is None or not m.element:
            return raw
        return m.element if m.server is None else f"{m.element}#{m.server}"


def load_live_mapping(path: str | os.PathLike) -> LiveMapping:
    """Read a mapping file and check its live part (see :func:`live_mapping`)."""
    return live_mapping(read_mapping_file(path), file=str(path))


def live_mapping(data: Any, *, file: str = "<mapping>") -> LiveMapping:
    """Check the live part of a mapping document (a parsed JSON object).

    Reads ``live`` and the shared ``states`` and ``assets``; the import keys (``shape``,
    ``columns``, ...) are left to :func:`twin.recording.mapping.mapping_from_dict`.

    Raises
    ------
    MappingError
    """
    if not isinstance(data, dict):
        raise MappingError(file, "$", data, "a JSON object")
    states, assets = states_and_assets(data, file=file)
    live = data.get("live", {})
    if not isinstance(live, dict):
        raise MappingError(file, "$.live", live, 'an object like {"mqtt": {"topics": [...]}}')
    for key in live:
        if key != "mqtt":
            raise MappingError(file, f"$.live.{key}", key, "one of the keys ['mqtt']")
    mqtt = live.get("mqtt", {})
    if not isinstance(mqtt, dict):
        raise MappingError(file, "$.live.mqtt", mqtt, 'an object like {"topics": [...]}')
    for key in mqtt:
        if key not in ("topics", "sparkplug"):
            raise MappingError(file, f"$.live.mqtt.{key}", key,
                               "one of the keys ['sparkplug', 'topics']")
    topics = mqtt.get("topics", [])
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS:
        raise MappingError(file, "$.live.mqtt.topics", topics,
                           f"a list of at most {MAX_TOPICS} topic rules")
    rules = tuple(_rule(file, f"$.live.mqtt.topics[{i}]", item) for i, item in enumerate(topics))
    sparkplug = _sparkplug(file, mqtt["sparkplug"]) if "sparkplug" in mqtt else None
    return LiveMapping(file=file, topics=rules, states=states, assets=assets,
                       sparkplug=sparkplug)


def _sparkplug(file: str, value: Any) -> SparkplugRule:
    p = "$.live.mqtt.sparkplug"
    if not isinstance(value, dict):
        raise MappingError(file, p, value, 'an object like {"group": "line1", "metrics": '
                           '{"Machine/State": "state"}}')
    for key in value:
        if key not in ("group", "metrics"):
            raise MappingError(file, f"{p}.{key}", key, "one of the keys ['group', 'metrics']")
    group = value.get("group", "+")
    if not isinstance(group, str) or not group or "/" in group or "#" in group or (
            "+" in group and group != "+"):
        raise MappingError(file, f"{p}.group", group, "a Sparkplug group id (one topic level) "
                           "or '+' for every group")
    metrics = value.get("metrics", SPARKPLUG_METRICS)
    if not isinstance(metrics, dict) or not metrics:
        raise MappingError(file, f"{p}.metrics", metrics, "an object of metric name to channel")
    for name, channel in metrics.items():
        if channel not in CHANNELS:
            raise MappingError(file, f"{p}.metrics[{name!r}]", channel,
                               f"one of {', '.join(CHANNELS)}")
    return SparkplugRule(group, dict(metrics))


def _rule(file: str, p: str, item: Any) -> TopicRule:
    example = '{"topic": "factory/{asset}/telemetry", "fields": {"ts": "time", "state": "st"}}'
    if not isinstance(item, dict):
        raise MappingError(file, p, item, f"a topic rule like {example}")
    for key in item:
        if key not in ("topic", "asset", "channel", "fields"):
            raise MappingError(file, f"{p}.{key}", key,
                               "one of the keys ['asset', 'channel', 'fields', 'topic']")
    pattern = item.get("topic", ...)
    if not isinstance(pattern, str) or not pattern or "\x00" in pattern:
        raise MappingError(file, f"{p}.topic", pattern, "an MQTT topic such as "
                           "'factory/{asset}/telemetry'")
    levels = tuple(pattern.split("/"))
    for level in levels:
        names = _PLACEHOLDER.findall(level)
        if "+" in level or "#" in level:
            raise MappingError(file, f"{p}.topic", pattern, "a topic without the wildcards + and "
                               "#: write {asset} or {channel} for a level that varies")
        if names and (not _PLACEHOLDER.fullmatch(level) or names[0] not in ("asset", "channel")):
            raise MappingError(file, f"{p}.topic", pattern, "placeholders {asset} and {channel} "
                               "each standing for a whole level between slashes")
    for name in ("asset", "channel"):
        if levels.count("{" + name + "}") > 1:
            raise MappingError(file, f"{p}.topic", pattern, f"{{{name}}} at most once")
    asset = item.get("asset", "")
    if "{asset}" in levels:
        if asset:
            raise MappingError(file, f"{p}.asset", asset, "no asset when the topic has {asset}")
    elif not isinstance(asset, str) or not asset.strip():
        raise MappingError(file, f"{p}.asset", asset if asset else ...,
                           "the asset of every message (or {asset} in the topic)")
    fields = item.get("fields", {})
    if not isinstance(fields, dict):
        raise MappingError(file, f"{p}.fields", fields, 'an object like {"ts": "time", '
                           '"value": "v"}')
    for key, name in fields.items():
        if key not in FIELD_KEYS:
            raise MappingError(file, f"{p}.fields.{key}", key,
                               f"one of the keys {list(FIELD_KEYS)}")
        if not isinstance(name, str) or not name:
            raise MappingError(file, f"{p}.fields.{key}", name, "a JSON field name")
    channel = item.get("channel", "")
    by_fields = [k for k in fields if k in CHANNELS]
    if "{channel}" in levels or by_fields:
        if channel:
            raise MappingError(file, f"{p}.channel", channel, "no channel when the topic has "
                               "{channel} or the fields name channels")
        if "{channel}" in levels and by_fields:
            raise MappingError(file, f"{p}.fields", sorted(by_fields), "no channel fields when "
                               "the topic has {channel} (use fields.value)")
    elif channel not in CHANNELS:
        raise MappingError(file, f"{p}.channel", channel if channel else ...,
                           f"one of {', '.join(CHANNELS)} (or {{channel}} in the topic, or "
                           "channel names in fields)")
    if by_fields and "value" in fields:
        raise MappingError(file, f"{p}.fields.value", fields["value"], "no value field when "
                           "the fields name channels (each channel has its own field)")
    return TopicRule(pattern, levels, str(asset).strip(), channel, dict(fields))
