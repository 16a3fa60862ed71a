"""The ``tariff`` section of ``project.json``: the energy context (issue 19 §1).

A price (flat ``price_per_kwh``; 24 ``hourly`` prices; weekly time-of-use ``periods`` over
the flat base price; or a ``price_series`` CSV beside the project), a ``demand_charge`` on
the highest 15-minute mean power of each billing period, and the CO2 intensity
(``co2_g_per_kwh``: a number, or a CSV beside the project). Older files (a flat price or 24
hourly prices) are a subset of this shape and read unchanged: no migration. Every problem
names its JSON path (``$.tariff.periods[1].start``) and, for a CSV, its line. The
arithmetic is :mod:`twin.energy`; the format is docs/project-format.md §6.
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
          "co2_g_per_kwh", "timezone"}
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
    if len(problems.items) > n0:
        return None
    return m.Tariff(price, tuple(float(x) for x in hourly), currency, periods, series,
                    per_kw, billing, co2, co2_series, tz)


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
    return doc
