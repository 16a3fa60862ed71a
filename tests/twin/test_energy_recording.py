"""Energy KPIs of the real SME recording (issue 19 §3) against the raw CSV.

The oracle reads the CSV with pandas: each row's energy is ``power_avg`` x 300 s, spread
over the bucket (cut short where the next bucket of the asset starts early, as replay
documents; a repeated bucket counts once), then summed into the quarter hours of the
clock, priced on the wall clock of Europe/Rome (the recording's time zone): a weekday night
from 22:00 to 6:00 across midnight, a cheap weekend, Sunday night into Monday.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SME_CSV
from twin.model import elements as m
from twin.recording import Recording
from twin.recording.energy import recording_energy

# the independent computation reads the raw CSV with pandas (a dependency of SALib: in the
# full environment, not in the model-only one of scripts/test.sh)
pd = pytest.importorskip("pandas")

NIGHT, WEEKEND, BASE = 0.11, 0.07, 0.27
TARIFF = m.Tariff(
    BASE, periods=(
        m.TouPeriod(22 * 3600.0, 6 * 3600.0, NIGHT, (0, 1, 2, 3, 4, 6), "night"),
        m.TouPeriod(6 * 3600.0, 0.0, WEEKEND, (5,), "saturday"),
        m.TouPeriod(0.0, 22 * 3600.0, WEEKEND, (6,), "sunday")),
    demand_charge_per_kw=9.0, billing_period=7 * 86400.0, co2_g_per_kwh=350.0)


def _price(local: pd.DatetimeIndex) -> np.ndarray:
    day, hour = local.day_of_week.to_numpy(), (local.hour + local.minute / 60).to_numpy()
    night = (hour < 6) | (hour >= 22)
    return np.select([(day == 5) & (hour < 6), day == 5, (day == 6) & (hour >= 22), day == 6,
                      night], [NIGHT, WEEKEND, NIGHT, WEEKEND, NIGHT], BASE)


def _oracle():
    raw = pd.read_csv(SME_CSV)
    raw["t"] = (pd.to_datetime(raw["ts"], utc=True)
                - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    raw = raw.drop_duplicates(["asset", "t"], keep="first").sort_values(["asset", "t"])
    raw["power"] = raw["power_avg"].where(raw["power_avg"] >= 0).fillna(0.0)
    nxt = raw.groupby("asset")["t"].shift(-1)
    raw["end"] = np.minimum(raw["t"] + 300.0, nxt.fillna(np.inf))
    t0, t1 = raw["t"].min(), (raw["t"] + 300.0).max()
    q0 = np.floor(t0 / 900) * 900
    edges = np.arange(q0, t1 + 900, 900.0)
    kwh = np.zeros((len(edges) - 1, 3))
    for a in range(3):
        r = raw[raw["asset"] == a]
        s, e, q = r["t"].to_numpy(), r["end"].to_numpy(), r["power"].to_numpy() * 300 / 3600
        # each bucket (<= 300 s) touches at most two quarters: split it at the boundary
        k = np.floor(s / 900).astype(int)
        cut = np.minimum(e, (k + 1) * 900.0)
        frac = (cut - s) / (e - s)
        i = k - int(q0 // 900)
        np.add.at(kwh[:, a], i, q * frac)
        np.add.at(kwh[:, a], np.minimum(i + 1, len(kwh) - 1), q * (1 - frac))
    covered = np.minimum(edges[1:], t1) - np.maximum(edges[:-1], t0)
    kw = kwh / (covered / 3600.0)[:, None]
    mid = pd.to_datetime(np.maximum(edges[:-1], t0), unit="s", utc=True)
    price = _price(mid.tz_convert("Europe/Rome"))
    origin = pd.Timestamp(pd.Timestamp(t0, unit="s", tz="UTC").tz_convert("Europe/Rome")
                          .date(), tz="Europe/Rome").timestamp()
    billing = ((edges[:-1] - origin) // (7 * 86400)).astype(int)
    line = kw.sum(axis=1)
    demand = 9.0 * sum(line[billing == b].max() for b in np.unique(billing))
    return kwh, kw, price, demand


@pytest.fixture(scope="module")
def figures(sme_recording):
    with Recording.open(sme_recording) as rec:
        assert rec.time_zone == "Europe/Rome"
        return recording_energy(rec, TARIFF)


def test_sme_cost_peak_and_co2_equal_the_raw_csv(figures):
    kwh, kw, price, demand = _oracle()
    line = figures["total"]
    assert line.energy_kwh == pytest.approx(kwh.sum(), rel=1e-9)
    assert line.energy_cost == pytest.approx(float(kwh.sum(axis=1) @ price), rel=1e-9)
    assert line.peak_kw_15min == pytest.approx(kw.sum(axis=1).max(), rel=1e-9)
    assert line.demand_cost == pytest.approx(demand, rel=1e-9)
    assert line.co2_kg == pytest.approx(0.350 * kwh.sum(), rel=1e-9)
    assert line.cost == pytest.approx(line.energy_cost + demand)
    for a in range(3):
        k = figures[str(a)]
        assert k.energy_cost == pytest.approx(float(kwh[:, a] @ price), rel=1e-9)
        assert k.peak_kw_15min == pytest.approx(kw[:, a].max(), rel=1e-9)
        assert k.demand_cost == 0.0  # the demand charge bills the coincident peak only
    # the profile mattered: the mean price paid lies strictly between night and day
    assert WEEKEND < line.energy_cost / line.energy_kwh < BASE


def test_the_cli_prints_the_energy_of_a_recording(sme_recording, make_project, capsys):
    from oracles.lines import serial_line, station

    from app.cli import main
    from twin.projectfile.energy import energy_to_json

    doc = serial_line([station("m1", 60.0)], [])
    doc["tariff"] = energy_to_json(TARIFF)
    folder = make_project(doc)
    assert main(["replay", str(sme_recording), "--project", str(folder), "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)["energy"]
    kwh, kw, price, demand = _oracle()
    assert out["line"]["energy_cost"] == pytest.approx(float(kwh.sum(axis=1) @ price) + demand,
                                                       rel=1e-9)
    assert out["line"]["peak_kw_15min"] == pytest.approx(kw.sum(axis=1).max(), rel=1e-9)
    assert set(out) == {"project", "currency", "line", "0", "1", "2"}
    assert main(["replay", str(sme_recording), "--project", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "peak 15min kW" in text and "all assets" in text


# --- per shift and the breakdown (issue 19 §3-§4) --------------------------------------------
SHIFTS = m.Calendar((m.Period(6 * 3600.0, 14 * 3600.0, "early"),
                     m.Period(14 * 3600.0, 22 * 3600.0, "late")))


def test_sme_figures_per_shift_equal_the_raw_csv(sme_recording):
    from twin.recording.energy import recording_shifts, recording_shifts_by_asset

    kwh, kw, price, _ = _oracle()
    raw = pd.read_csv(SME_CSV)
    t = pd.to_datetime(raw["ts"], utc=True)
    t0, t1 = t.min(), t.max() + pd.Timedelta(seconds=300)
    q0 = t0.floor("15min")
    starts = pd.date_range(q0, periods=len(kwh), freq="15min").tz_convert("Europe/Rome")
    hour = starts.hour.to_numpy()
    with Recording.open(sme_recording) as rec:
        got = recording_shifts(rec, TARIFF, SHIFTS)
        same, by_asset = recording_shifts_by_asset(rec, TARIFF, SHIFTS)
    assert same == got and set(by_asset) == {"0", "1", "2"}
    line = kwh.sum(axis=1)
    for name, lo, hi in (("early", 6, 14), ("late", 14, 22)):
        inside = (hour >= lo) & (hour < hi)
        # occurrences: each local day's shift, counted by its share inside the recording
        n = 0.0
        for day in pd.date_range(t0.tz_convert("Europe/Rome").normalize() - pd.Timedelta(days=1),
                                 t1.tz_convert("Europe/Rome").normalize(), freq="D"):
            a, b = day + pd.Timedelta(hours=lo), day + pd.Timedelta(hours=hi)
            n += max((min(b, t1) - max(a, t0)).total_seconds(), 0.0) / ((hi - lo) * 3600)
        assert n > 1
        p = f"shifts.{name}."
        assert got[p + "energy_kwh"] * n == pytest.approx(line[inside].sum(), rel=1e-9)
        assert got[p + "energy_cost_energy"] * n == pytest.approx(
            float(line[inside] @ price[inside]), rel=1e-9)
        assert got[p + "co2_kg"] * n == pytest.approx(0.35 * line[inside].sum(), rel=1e-9)
        assert got[p + "peak_kw_15min"] == pytest.approx(kw.sum(axis=1)[inside].max(), rel=1e-9)
        assert got[p + "good_parts"] > 0
        for i, a in enumerate(("0", "1", "2")):  # each asset from its own 15-min kWh
            mine = by_asset[a][name]
            assert set(mine) == {"energy_kwh", "energy_cost_energy", "co2_kg"}
            assert mine["energy_kwh"] * n == pytest.approx(kwh[inside, i].sum(), rel=1e-9)
            assert mine["energy_cost_energy"] * n == pytest.approx(
                float(kwh[inside, i] @ price[inside]), rel=1e-9)
            assert mine["co2_kg"] * n == pytest.approx(0.35 * kwh[inside, i].sum(), rel=1e-9)


def test_sme_breakdown_per_asset_and_state_balances(sme_recording):
    from kernels.types import STATE_NAMES
    from twin.energy_breakdown import node_balance, sankey_flows
    from twin.recording.energy import recording_breakdown

    kwh, *_ = _oracle()
    with Recording.open(sme_recording) as rec:
        b = recording_breakdown(rec, TARIFF)
        per = recording_energy(rec, TARIFF)
    assert b.stations == ("0", "1", "2") and b.states == (*STATE_NAMES, "unknown")
    for i, a in enumerate(b.stations):
        assert b.kwh[i].sum() == pytest.approx(kwh[:, i].sum(), rel=1e-9)
        assert b.cost[i].sum() == pytest.approx(per[a].energy_cost, rel=1e-9)
    # each bucket's energy (power_avg x 300 s) goes to the state its status maps to
    raw = pd.read_csv(SME_CSV).drop_duplicates(["asset", "ts"], keep="first")
    raw["kwh"] = raw["power_avg"].where(raw["power_avg"] >= 0).fillna(0.0) * 300 / 3600
    raw["state"] = raw["status"].map({0: "idle", 1: "busy", 2: "busy", 3: "down"})
    want = raw.groupby(["asset", "state"])["kwh"].sum()
    for (a, state), v in want.items():
        assert b.kwh[int(a), b.states.index(state)] == pytest.approx(v, rel=1e-9), (a, state)
    assert b.kwh[:, STATE_NAMES.index("down")].sum() > 0  # the states really split it
    for node, (into, out) in node_balance(sankey_flows(b)).items():
        if node.startswith("station:"):
            assert into == pytest.approx(out, rel=1e-12)
    assert b.supplies == pytest.approx({"grid": kwh.sum()})


def test_the_cli_prints_the_shifts_of_a_recording(sme_recording, make_project, capsys):
    import json

    from oracles.lines import serial_line, station

    from app.cli import main
    from twin.projectfile.energy import energy_to_json
    from twin.recording.energy import recording_shifts, recording_shifts_by_asset

    doc = serial_line([station("m1", 60.0)], [])
    doc["tariff"] = energy_to_json(TARIFF)
    doc["calendar"] = {"shifts": [{"start": "6h", "end": "14h", "name": "early"},
                                  {"start": "14h", "end": "22h", "name": "late"}]}
    folder = make_project(doc)
    assert main(["replay", str(sme_recording), "--project", str(folder), "--json"]) == 0
    energy = json.loads(capsys.readouterr().out)["energy"]
    out = energy["shifts"]
    with Recording.open(sme_recording) as rec:
        want = recording_shifts(rec, TARIFF, SHIFTS)
        _, by_asset = recording_shifts_by_asset(rec, TARIFF, SHIFTS)
    assert out == pytest.approx(want, rel=1e-12)
    for a in ("0", "1", "2"):  # elements per shift: the asset's own figures
        assert set(energy[a]["shifts"]) == {"early", "late"}
        for n in ("early", "late"):
            assert energy[a]["shifts"][n] == pytest.approx(by_asset[a][n], rel=1e-12)
    for n in ("early", "late"):  # the assets add up to the line
        assert sum(energy[a]["shifts"][n]["energy_kwh"] for a in ("0", "1", "2")
                   ) == pytest.approx(out[f"shifts.{n}.energy_kwh"], rel=1e-12)
    assert main(["replay", str(sme_recording), "--project", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "per shift" in text and "early" in text and "late" in text
