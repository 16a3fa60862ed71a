"""The ``tariff`` section of ``project.json``: the energy context (issue 19 §1).

A price (flat ``price_per_kwh``; 24 ``hourly`` prices; weekly time-of-use ``periods`` over
the flat base price; or a ``price_series`` CSV beside the project), a ``demand_charge`` on
the highest 15-minute mean power of each billing period, the CO2 intensity
(``co2_g_per_kwh``: a number, or a CSV beside the project), and on-site generation: ``pv``
(a daily kW profile or a kW series) and a ``battery`` (twin.energy_site). Older files (a
flat price or 24 hourly prices, no PV, no battery) are a subset of this shape and read
unchanged: no migration. Every problem names its JSON path
(``$.tariff.periods[1].start``) and, for a CSV, its line. The arithmetic is
:mod:`twin.energy` and :mod:`twin.energy_site`; the format is docs/project-format.md §6.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twin import limits
from twin.errors import Problems
from twin.model import elements as m
from twin.units import parse_duration

FIELDS = {"price_per_kwh", "hourly", "currency", "periods", "price_series", "demand_charge",
          "co2_g_per_kwh", "timezone", "pv", "battery"}
PV_FIELDS = {"profile_kw", "series", "feed_in_per_kwh", "scale"}
BATTERY_FIELDS = {"capacity_kwh", "power_kw", "efficiency", "initial_soc", "threshold_kw",
                  "charge_in_cheapest"}
MAX_STORAGE_KWH = 1e7
#: The largest ``pv.scale``: a thousand times the profile or series given.
MAX_PV_SCALE = 1000.0
#: Steps a price or CO2 series may have, s (a quarter hour, an hour).
SERIES_STEPS = (900.0, 3600.0)
#: The shortest billing period of a demand charge, s: one 15-minute demand window.
MIN_BILLING_PERIOD = 900.0
MAX_SERIES_ROWS = 2_000_000
MAX_CO2 = 1e5  # g/kWh; lignite is about 1,100


def _fields(obj, path, problems, allowed) -> bool:
    if not isinstance(obj, dict):
        problems.add(path, "must be an object", obj)
        return False
    for key in obj:
        if key not in allowed and not key.startswith("x-"):
            problems.add(f"{path}.{key}", f"unknown field; expected one of {sorted(allowed)} "
                         "(prefix custom fields with 'x-')")
    return True


def _number(obj, key, path, problems, default, hi, what):
    if key not in obj or obj[key] is None:
        return default
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
            or not 0 <= v <= hi:
        problems.add(f"{path}.{key}", f"must be {what} >= 0 and <= {hi:g}", v)
        return default
    return float(v)


def _clock(obj, key, path, problems):
    try:
        v = parse_duration(obj[key])
    except (ValueError, TypeError) as e:
        problems.add(f"{path}.{key}", str(e), obj[key])
        return None
    if not 0 <= v <= 86400:
        problems.add(f"{path}.{key}", 'must be a time of day from 0 to "24h" (after midnight)',
                     obj[key])
        return None
    return v


def _read_periods(raw, path, problems) -> tuple[m.TouPeriod, ...]:
    if not isinstance(raw, list):
        problems.add(path, "must be a list of periods {start, end, price_per_kwh, days}", raw)
        return ()
    out = []
    for i, p in enumerate(raw):
        pp = f"{path}[{i}]"
        if not _fields(p, pp, problems, {"start", "end", "price_per_kwh", "days", "name"}):
            continue
        missing = [k for k in ("start", "end", "price_per_kwh") if k not in p]
        for k in missing:
            problems.add(f"{pp}.{k}", "is required")
        if missing:
            continue
        start, end = _clock(p, "start", pp, problems), _clock(p, "end", pp, problems)
        price = _number(p, "price_per_kwh", pp, problems, None, limits.MAX_PRICE, "a price")
        days = p.get("days", list(m.WEEKDAYS))
        if not isinstance(days, list) or not days or any(d not in m.WEEKDAYS for d in days) \
                or len(set(days)) != len(days):
            problems.add(f"{pp}.days", f"must be a list of distinct days from {list(m.WEEKDAYS)}",
                         days)
            continue
        name = p.get("name", "")
        if not isinstance(name, str) or len(name) > limits.MAX_NAME_CHARS:
            problems.add(f"{pp}.name", "must be a short string", name)
            continue
        if start is None or end is None or price is None:
            continue
        if start == end:
            problems.add(f"{pp}.end", "equals start: a period must last; for all day write "
                         'start 0 and end "24h"', p["end"])
            continue
        out.append(m.TouPeriod(start, end % 86400.0 if end == 86400 else end, price,
                               tuple(m.WEEKDAYS.index(d) for d in days), name))
    _check_overlaps(out, path, problems)
    return tuple(out)


def week_intervals(p: m.TouPeriod) -> list[tuple[float, float]]:
    """The seconds of the week (Monday 0:00 = 0) a period covers, as ``[a, b)`` pieces."""
    out = []
    for d in p.days:
        a = d * 86400.0 + p.start
        b = d * 86400.0 + (p.end if p.end > p.start else p.end + 86400.0)
        if b <= 7 * 86400.0:
            out.append((a, b))
        else:  # Sunday night into Monday morning
            out += [(a, 7 * 86400.0), (0.0, b - 7 * 86400.0)]
    return out


def _check_overlaps(periods, path, problems) -> None:
    pieces = sorted((a, b, i) for i, p in enumerate(periods) for a, b in week_intervals(p))
    for (_, b0, i0), (a1, _, i1) in zip(pieces, pieces[1:], strict=False):
        if a1 < b0:
            day, clock = divmod(a1, 86400.0)
            problems.add(f"{path}[{max(i0, i1)}]", f"overlaps {path}[{min(i0, i1)}] on "
                         f"{m.WEEKDAYS[int(day)]} at {int(clock // 3600):02d}:"
                         f"{int(clock % 3600 // 60):02d}: give each time one price")
            return


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_series(name, path, problems, folder: Path | None, what: str,
                hi: float) -> m.EnergySeries | None:
    """A CSV ``time,value`` of ISO 8601 times with offset and values >= 0 in steps of 15
    min or 1 h, without gaps; ``None`` and the problems (with the CSV line) otherwise."""
    if not isinstance(name, str) or not name or len(name) > 4096:
        problems.add(path, f"must be the name of a CSV file of {what} beside project.json", name)
        return None
    if folder is None and not Path(name).is_absolute():
        problems.add(path, f"{name!r} lies beside project.json: open the project from its "
                     "folder so that the file can be found", name)
        return None
    file = Path(folder or "") / name
    try:
        with open(file, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        problems.add(path, f"cannot read {str(file)!r} ({e.strerror or e}): put the CSV of "
                     f"{what} beside project.json or correct the name", name)
        return None
    except (UnicodeDecodeError, csv.Error) as e:
        problems.add(path, f"{name}: not a UTF-8 CSV file ({e})", name)
        return None
    if len(rows) > MAX_SERIES_ROWS:
        problems.add(path, f"{name}: {len(rows):,} rows, at most {MAX_SERIES_ROWS:,}", name)
        return None
    times, values, header_seen = [], [], False
    for line, row in enumerate(rows, 1):
        if not row or all(not c.strip() for c in row):
            continue
        where = f"{name} line {line}"
        if len(row) != 2:
            problems.add(path, f"{where}: expected two columns, time and {what}", row)
            return None
        try:
            t = datetime.fromisoformat(row[0].strip())
        except ValueError:
            if not times and not header_seen and not _is_number(row[1]):  # a header
                header_seen = True
                continue
            problems.add(path, f"{where}: {row[0]!r} is not an ISO 8601 time such as "
                         "2024-03-01T14:00:00+01:00", row[0])
            return None
        if t.tzinfo is None:
            problems.add(path, f"{where}: {row[0]!r} has no UTC offset; write e.g. "
                         f"{row[0].strip()}+00:00", row[0])
            return None
        try:
            v = float(row[1])
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or not 0 <= v <= hi:
            problems.add(path, f"{where}: {what} {row[1]!r} must be a number >= 0 and <= "
                         f"{hi:g}", row[1])
            return None
        times.append(t.timestamp())
        values.append(v)
    if len(times) < 2:
        problems.add(path, f"{name}: needs at least two rows of time,{what}", name)
        return None
    step = times[1] - times[0]
    if step not in SERIES_STEPS:
        problems.add(path, f"{name}: rows {step:g} s apart; a series steps by 15 min or 1 h",
                     name)
        return None
    for i in range(1, len(times)):
        d = times[i] - times[i - 1]
        if d != step:
            kind = "a gap" if d > step else ("a repeated or earlier time" if d <= 0
                                             else "an uneven step")
            problems.add(path, f"{name}: {kind} of {d:g} s before the row of "
                         f"{datetime.fromtimestamp(times[i]).astimezone().isoformat()} "
                         f"(row {i + 1} of data) in a series of {step:g} s steps: fill it", name)
            return None
    return m.EnergySeries(name, step, tuple(times), tuple(values))


def _read_pv(obj, path, problems, folder) -> m.Pv | None:
    if not _fields(obj, path, problems, PV_FIELDS):
        return None
    n0 = len(problems.items)
    given = [k for k in ("profile_kw", "series") if k in obj]
    if len(given) != 1:
        problems.add(path, "give one of profile_kw (24 or 96 kW values over the day) or "
                     "series (a CSV of time,kW beside project.json)" if not given else
                     "give profile_kw or series, not both")
        return None
    profile: tuple[float, ...] = ()
    series = None
    if "profile_kw" in obj:
        raw = obj["profile_kw"]
        if not isinstance(raw, list) or len(raw) not in (24, 96) or any(
                isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x)
                or not 0 <= x <= limits.MAX_POWER_KW for x in raw):
            problems.add(f"{path}.profile_kw", "must be 24 (one per hour) or 96 (one per "
                         f"quarter hour) kW values >= 0 and <= {limits.MAX_POWER_KW:g}, from "
                         "midnight", raw)
        else:
            profile = tuple(float(x) for x in raw)
    else:
        series = read_series(obj["series"], f"{path}.series", problems, folder, "kW",
                             limits.MAX_POWER_KW)
    feed = _number(obj, "feed_in_per_kwh", path, problems, 0.0, limits.MAX_PRICE, "a price")
    scale = _number(obj, "scale", path, problems, 1.0, MAX_PV_SCALE,
                    "a factor on the profile or series (1: as given)")
    if len(problems.items) > n0:
        return None
    return m.Pv(profile, series, feed, scale)


def _read_battery(obj, path, problems) -> m.Battery | None:
    if not _fields(obj, path, problems, BATTERY_FIELDS):
        return None
    n0 = len(problems.items)
    for k, what in (("capacity_kwh", "the energy it stores, kWh"),
                    ("power_kw", "its highest charge and discharge power, kW")):
        if k not in obj:
            problems.add(f"{path}.{k}", f"is required: {what}")
    cap = _number(obj, "capacity_kwh", path, problems, 0.0, MAX_STORAGE_KWH,
                  "an energy in kWh")
    power = _number(obj, "power_kw", path, problems, 0.0, limits.MAX_POWER_KW, "a power in kW")
    # 0 passes _number's range (>= 0) but is no battery
    for k in ("capacity_kwh", "power_kw"):
        if k in obj and not isinstance(obj[k], bool) and obj[k] == 0:
            problems.add(f"{path}.{k}", "must be more than 0 (leave the battery out for none)",
                         obj[k])
    eff = _number(obj, "efficiency", path, problems, 0.9, 1.0, "a round-trip efficiency")
    if "efficiency" in obj and eff == 0.0:
        problems.add(f"{path}.efficiency", "must be more than 0 (0.9: 90% of the energy "
                     "charged comes back)", obj["efficiency"])
    soc = _number(obj, "initial_soc", path, problems, 0.5, 1.0,
                  "a state of charge (a fraction of the capacity)")
    thr = _number(obj, "threshold_kw", path, problems, 0.0, limits.MAX_POWER_KW,
                  "a power in kW")
    cheap = obj.get("charge_in_cheapest", False)
    if not isinstance(cheap, bool):
        problems.add(f"{path}.charge_in_cheapest", "must be true or false", cheap)
    if len(problems.items) > n0:
        return None
    return m.Battery(cap, power, eff, soc, thr, cheap)


def read_energy(obj, problems: Problems, folder: Path | None = None) -> m.Tariff | None:
    """The energy context ``$.tariff`` reads as (``None``: no section)."""
    if obj is None:
        return None
    path = "$.tariff"
    if not _fields(obj, path, problems, FIELDS):
        return None
    n0 = len(problems.items)
    d = m.Tariff()
    price = _number(obj, "price_per_kwh", path, problems, 0.0, limits.MAX_PRICE, "a price")
    hourly = obj.get("hourly", [])
    if hourly != [] and (not isinstance(hourly, list) or len(hourly) != 24 or any(
            isinstance(x, bool) or not isinstance(x, int | float)
            or not 0 <= x <= limits.MAX_PRICE for x in hourly)):
        problems.add(f"{path}.hourly", f"must be 24 prices >= 0 and <= {limits.MAX_PRICE:g}, "
                     "one per hour of the day", hourly)
        hourly = []
    kinds = [k for k in ("hourly", "periods", "price_series") if obj.get(k) not in (None, [])]
    if len(kinds) > 1:
        problems.add(f"{path}.{kinds[1]}", f"give one of hourly, periods or price_series "
                     f"(this tariff also has {kinds[0]})")
    periods = _read_periods(obj["periods"], f"{path}.periods", problems) \
        if "periods" in obj else ()
    series = read_series(obj["price_series"], f"{path}.price_series", problems, folder,
                         "price", limits.MAX_PRICE) if "price_series" in obj else None
    currency = obj.get("currency", d.currency)
    if not isinstance(currency, str) or len(currency) > limits.MAX_NAME_CHARS:
        problems.add(f"{path}.currency", "must be a currency such as EUR", currency)
    per_kw, billing = 0.0, d.billing_period
    dc = obj.get("demand_charge")
    if dc is not None and _fields(dc, f"{path}.demand_charge", problems,
                                  {"per_kw", "billing_period"}):
        if "per_kw" not in dc:
            problems.add(f"{path}.demand_charge.per_kw", "is required: the price per kW of the "
                         "highest 15-minute mean power of a billing period")
        per_kw = _number(dc, "per_kw", f"{path}.demand_charge", problems, 0.0,
                         limits.MAX_PRICE, "a price per kW")
        if "billing_period" in dc:
            try:
                billing = parse_duration(dc["billing_period"])
            except (ValueError, TypeError) as e:
                problems.add(f"{path}.demand_charge.billing_period", str(e), dc["billing_period"])
            else:
                if not MIN_BILLING_PERIOD <= billing <= limits.MAX_TIME_S:
                    problems.add(f"{path}.demand_charge.billing_period", "must be at least "
                                 '"15min" (the demand is a 15-minute mean power) and at most '
                                 f"{limits.MAX_TIME_S:g} s", dc["billing_period"])
    co2, co2_series = 0.0, None
    c = obj.get("co2_g_per_kwh")
    if isinstance(c, str):
        co2_series = read_series(c, f"{path}.co2_g_per_kwh", problems, folder, "g/kWh",
                                 MAX_CO2)
    else:
        co2 = _number(obj, "co2_g_per_kwh", path, problems, 0.0, MAX_CO2, "g/kWh")
    tz = obj.get("timezone", "")
    try:
        if not isinstance(tz, str) or len(tz) > 64:
            raise ZoneInfoNotFoundError
        if tz:
            ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.add(f"{path}.timezone", "must be an IANA time zone such as Europe/Berlin "
                     "(the wall clock of recordings; leave it out for the recording's own)", tz)
    pv = _read_pv(obj["pv"], f"{path}.pv", problems, folder) \
        if obj.get("pv") is not None else None
    battery = _read_battery(obj["battery"], f"{path}.battery", problems) \
        if obj.get("battery") is not None else None
    if len(problems.items) > n0:
        return None
    return m.Tariff(price, tuple(float(x) for x in hourly), currency, periods, series,
                    per_kw, billing, co2, co2_series, tz, pv, battery)


def energy_to_json(t: m.Tariff) -> dict:
    """The ``tariff`` section as :func:`read_energy` reads it back."""
    doc: dict = {"price_per_kwh": t.price_per_kwh, "currency": t.currency}
    if t.hourly:
        doc["hourly"] = list(t.hourly)
    if t.periods:
        doc["periods"] = [{**({"name": p.name} if p.name else {}), "start": p.start,
                           "end": p.end or 86400.0,
                           "price_per_kwh": p.price_per_kwh,
                           "days": [m.WEEKDAYS[d] for d in p.days]} for p in t.periods]
    if t.price_series is not None:
        doc["price_series"] = t.price_series.file
    if t.demand_charge_per_kw:
        doc["demand_charge"] = {"per_kw": t.demand_charge_per_kw,
                                "billing_period": t.billing_period}
    if t.co2_series is not None:
        doc["co2_g_per_kwh"] = t.co2_series.file
    elif t.co2_g_per_kwh:
        doc["co2_g_per_kwh"] = t.co2_g_per_kwh
    if t.timezone:
        doc["timezone"] = t.timezone
    if t.pv is not None:
        doc["pv"] = ({"series": t.pv.series.file} if t.pv.series is not None
                     else {"profile_kw": list(t.pv.profile_kw)})
        if t.pv.feed_in_per_kwh:
            doc["pv"]["feed_in_per_kwh"] = t.pv.feed_in_per_kwh
        if t.pv.scale != 1.0:
            doc["pv"]["scale"] = t.pv.scale
    if t.battery is not None:
        b = t.battery
        doc["battery"] = {"capacity_kwh": b.capacity_kwh, "power_kw": b.power_kw,
                          "efficiency": b.efficiency, "initial_soc": b.initial_soc,
                          "threshold_kw": b.threshold_kw,
                          "charge_in_cheapest": b.charge_in_cheapest}
    return doc


def absolute_files(doc: dict, folder) -> dict:
    """``doc`` with the tariff's CSV names made absolute paths under ``folder``, for a copy
    of the project read elsewhere than its folder (a worker's snapshot, a design point)."""
    t = doc.get("tariff")
    if folder is None or not isinstance(t, dict):
        return doc
    for key in ("price_series", "co2_g_per_kwh"):
        if isinstance(t.get(key), str):
            t[key] = str(Path(folder) / t[key])
    pv = t.get("pv")
    if isinstance(pv, dict) and isinstance(pv.get("series"), str):
        pv["series"] = str(Path(folder) / pv["series"])
    return doc
