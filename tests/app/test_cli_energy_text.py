"""``twinbench run`` without ``--json`` prints each station's energy per shift and, with two
scenarios, the trade-off as one sentence (issue 19 §4), the same figures as ``--json``.

The line is deterministic: a part every 100 s into a 40 s station. Without a policy each
100 s cycle draws busy 40 s x 10 kW + starved 60 s x 4 kW = 640 kJ; with standby after 30 s
and a 10 s warm-up (6 kW) it draws 40 x 10 + 30 x 4 + 20 x 1 + 10 x 6 = 600 kJ: 6.25 % less
energy, and so cost under a flat price, for the same output (the source sets the pace).
"""

from __future__ import annotations

import json
import re

import pytest

from twin.sim.stats import format_ci

POWER = {"busy": 10.0, "starved": 4.0, "standby": 1.0, "warming_up": 6.0}
DOC = {
    "schema_version": 1, "name": "standby trade-off",
    "elements": [
        {"id": "src", "kind": "source", "arrival": 100},
        {"id": "m", "kind": "station", "process_time": 40, "power_kw": POWER},
        {"id": "sink", "kind": "sink"}],
    "connections": [["src", "m"], ["m", "sink"]],
    "calendar": {"period": "24h", "shifts": [{"start": "0h", "end": "12h", "name": "day"},
                                            {"start": "12h", "end": "24h", "name": "night"}]},
    "tariff": {"currency": "EUR", "price_per_kwh": 0.2, "co2_g_per_kwh": 400.0},
    "scenarios": [{"name": "standby", "overrides": [
        {"element": "m", "path": "energy_saving",
         "value": {"after_s": 30, "mode": "standby", "restart_s": 10}}]}]}


def _row(text: str, *first: str) -> list[str]:
    """The cells (two spaces apart) of the first table row that starts with ``first``."""
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if tuple(cells[:len(first)]) == first:
            return cells[len(first):]
    raise AssertionError(f"no row {first!r} in\n{text}")


def test_run_prints_station_energy_per_shift_and_the_trade_off(kernel, make_project, capsys):
    from app.cli import main

    folder = make_project(DOC)
    args = ["run", str(folder), "--horizon", "2d", "--warmup", "0", "--replications", "2",
            "--quiet", "--scenario", "base", "--scenario", "standby"]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    text = capsys.readouterr().out

    base, standby = text.split("Scenario standby")[0], text.split("Scenario standby")[1]
    for part, name in ((base, "base"), (standby, "standby")):
        m = doc[name]["elements"]["m"]
        head = "energy by station and shift (a shift's row: per occurrence of it):"
        part = part.split(head)[1]
        assert _row(part, "m", "whole run") == [format_ci(m[k], 4) for k in (
            "energy_kwh", "energy_cost", "peak_kw_15min", "co2_kg")]
        for shift in ("day", "night"):
            f = m["shifts"][shift]
            assert _row(part, "m", shift) == [format_ci(f[k], 4) for k in (
                "energy_kwh", "energy_cost_energy", "co2_kg")]
    # the closed form: 640 kJ per 100 s cycle, 12 h a shift occurrence
    day = doc["base"]["elements"]["m"]["shifts"]["day"]["energy_kwh"]["mean"]
    assert day == pytest.approx(640.0 / 3600.0 * 432, rel=2e-3)
    night = doc["standby"]["elements"]["m"]["shifts"]["night"]["energy_kwh"]["mean"]
    assert night == pytest.approx(600.0 / 3600.0 * 432, rel=2e-3)

    vs = doc["standby"]["compared_to_base"]
    pct = vs["energy_cost"]["percent"]
    assert pct["mean"] == pytest.approx(-6.25, abs=0.02)  # the closed form, edges aside
    assert vs["throughput_per_hour"]["difference"]["mean"] == 0.0
    saved = format_ci({"mean": -pct["mean"], "ci95_halfwidth": pct["ci95_halfwidth"]}, 3)
    amount = format_ci({"mean": -vs["energy_cost"]["difference"]["mean"],
                        "ci95_halfwidth": vs["energy_cost"]["difference"]["ci95_halfwidth"]}, 4)
    co2 = vs["co2_kg"]
    assert co2["percent"]["mean"] == pytest.approx(pct["mean"], rel=1e-9)  # a flat intensity
    co2_saved = format_ci({"mean": -co2["percent"]["mean"],
                           "ci95_halfwidth": co2["percent"]["ci95_halfwidth"]}, 3)
    co2_amount = format_ci({"mean": -co2["difference"]["mean"],
                            "ci95_halfwidth": co2["difference"]["ci95_halfwidth"]}, 4)
    assert (f"  standby vs base: saves {saved} % of the energy cost ({amount} EUR) and saves "
            f"{co2_saved} % of the CO2 ({co2_amount} kg), and does not change output (0 %)\n"
            ) in text
    assert "Energy by scenario (money in EUR;" in text
