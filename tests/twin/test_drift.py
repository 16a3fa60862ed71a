"""Drift tests: the CUSUM's false-alarm rate and detection delay measured by simulation
against their design, and an injected change on the emulated plant detected and named."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from shadow_feeds import EPOCH, emulated, in_batches, project

from twin.live.feed import Reading
from twin.model import distributions as dists
from twin.shadow.drift import (
    Cusum,
    CusumDesign,
    DriftMonitor,
    DriftSettings,
    cusum_arl,
    designed,
    scale_design,
    shift_design,
)
from twin.whatif.fitting import scipy_of


def run_lengths(design: CusumDesign, draw, runs: int, rng, cap: int) -> np.ndarray:
    """Observations to the first alarm of ``runs`` independent CUSUMs (vectorised);
    ``draw(rng, n)`` gives n standardised observations."""
    s = np.zeros(runs)
    length = np.full(runs, cap, float)
    alive = np.ones(runs, bool)
    for i in range(1, cap + 1):
        idx = np.flatnonzero(alive)
        if not len(idx):
            break
        s[idx] = np.maximum(0.0, s[idx] + design.a + design.b * draw(rng, len(idx)))
        hit = idx[s[idx] > design.h]
        length[hit] = i
        alive[hit] = False
    assert not alive.any(), "a run reached the cap: raise it"
    return length


def mean_ci(x: np.ndarray) -> tuple[float, float]:
    half = 1.96 * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def exp_draw(rng, n):
    return rng.exponential(1.0, n)


@pytest.mark.parametrize("name, design, draw", [
    ("longer times (ratio 2)", scale_design(2.0), exp_draw),
    ("shorter times (ratio 1/2)", scale_design(0.5), exp_draw),
    ("cycle batches of 100 (ratio 1.2)", scale_design(1.2, 100),
     lambda rng, n: rng.gamma(100, 1 / 100, n)),
    ("power, Gaussian (shift 2.5 sd)", shift_design(2.5), lambda rng, n: rng.normal(0, 1, n)),
])
def test_in_control_average_run_length_is_as_designed(name, design, draw):
    """4,000 in-control runs: the 95% interval of their mean run length holds the ARL the
    threshold was designed for (Brook-Evans), here 400 observations."""
    d = designed(design, 400.0)
    assert 400.0 <= cusum_arl(d) <= 400.0 * 1.005  # the threshold errs on the safe side
    x = run_lengths(d, draw, 4000, np.random.default_rng(7), 20_000)
    lo, hi = mean_ci(x)
    assert lo <= cusum_arl(d) <= hi, (name, x.mean(), lo, hi)


def test_false_alarms_through_the_model_distribution_are_as_designed():
    """The probability integral transform makes any model exact: lognormal repair times
    (the Filler's), standardised by the model and tested, give the designed in-control ARL."""
    model = dists.Distribution("lognormal", {"mean": 180.0, "sd": 120.0})
    f = scipy_of(model)
    d = designed(scale_design(2.0), 300.0)

    def draw(rng, n):
        x = f.rvs(size=n, random_state=rng)
        return -np.log1p(-np.minimum(f.cdf(x), 1 - 1e-16))

    x = run_lengths(d, draw, 3000, np.random.default_rng(3), 20_000)
    lo, hi = mean_ci(x)
    assert lo <= cusum_arl(d) <= hi


#: Documented in docs/shadow.md ("Drift"): with the defaults (ratio 2, ARL 10,000), repairs
#: that become 3x longer are detected after 9.7 repairs on average (exponential repairs,
#: Brook-Evans), and after at most 12 on average for the Filler's lognormal repairs.
DOCUMENTED_DELAY_REPAIRS = 12.0


def test_detection_delay_of_three_times_longer_repairs():
    d = designed(scale_design(DriftSettings().ratio), DriftSettings().arl)
    expected = cusum_arl(d, scale=3.0)
    assert expected == pytest.approx(9.7, abs=0.1)
    x = run_lengths(d, lambda rng, n: rng.exponential(3.0, n), 4000,
                    np.random.default_rng(11), 2000)
    lo, hi = mean_ci(x)
    assert lo <= expected <= hi
    # the same through a lognormal model (a scale change of a lognormal is exact in x,
    # not in the standardised y): measured, and inside the documented delay
    f = scipy_of(dists.Distribution("lognormal", {"mean": 180.0, "sd": 120.0}))

    def draw(rng, n):
        x = 3.0 * f.rvs(size=n, random_state=rng)
        return -np.log1p(-np.minimum(f.cdf(x), 1 - 1e-16))

    x = run_lengths(d, draw, 4000, np.random.default_rng(12), 2000)
    assert mean_ci(x)[1] <= DOCUMENTED_DELAY_REPAIRS


def test_cusum_trace_and_change_point():
    """A hand-checked trace: increments -1 + y; alarm above 2.5; the change point is the
    first observation of the excursion that crossed."""
    c = Cusum(CusumDesign(-1.0, 1.0, 2.5))
    ys = [0.5, 0.2, 1.5, 0.3, 2.0, 2.0, 1.8]
    out = [c.update(y) for y in ys]
    # S: 0, 0, 0.5, 0, 1.0, 2.0, 2.8 -> alarm at index 6, excursion began at index 4
    assert out == [None, None, None, None, None, None, 4]
    assert c.s == 0.0 and c.start is None


def test_monitor_names_a_power_drift():
    """The Filler draws 1.5x its busy power from a known time on: the power test of the busy
    state alarms, higher, since about then; the other states stay quiet."""
    p = project()
    mon = DriftMonitor(p, settings=DriftSettings(arl=1000.0))
    rng = np.random.default_rng(5)
    t, readings, change = EPOCH, [], EPOCH + 3 * 3600
    while t < EPOCH + 6 * 3600:
        busy = rng.exponential(300.0)
        kw = 45.0 * (1.5 if t >= change else 1.0) * rng.normal(1.0, 0.05)
        readings += [Reading("filler", "state", t, "busy"), Reading("filler", "power_kw", t, kw)]
        t += busy
        readings += [Reading("filler", "state", t, "starved"),
                     Reading("filler", "power_kw", t, 10.0 * rng.normal(1.0, 0.05))]
        t += rng.exponential(60.0)
    found = []
    for _, batch in in_batches(readings):
        found += mon.readings(batch)
    assert found, "no drift found"
    d = found[0]
    assert (d.element, d.quantity, d.state, d.direction) == ("filler", "power", "busy",
                                                              "higher")
    assert d.detected_at >= change
    assert abs(d.since - change) < 1800.0
    assert d.ratio == pytest.approx(1.5, rel=0.15)  # one stretch may suffice: no interval
    assert re.match(r"Filler: power in busy 1\.\dx the model's \(\d+(\.\d)? against 45\), "
                    r"since \d\d:\d\d UTC", d.message())


@pytest.fixture(scope="module")
def changed_plant(kernel):
    """The emulated line: 4 h as modelled, then 8 h with the Filler's repairs 3x longer."""
    p = project()
    return p, emulated(p, [("base", 4, 1), ("slow-repairs", 8, 11)]), EPOCH + 4 * 3600


def test_injected_change_is_detected_named_and_measured(changed_plant):
    p, readings, change = changed_plant
    mon = DriftMonitor(p)
    repairs_after = 0
    first = None
    for _, batch in in_batches(readings):
        for r in batch:
            if r.asset == "filler" and r.channel == "state" and r.value == "down" \
                    and r.t >= change:
                repairs_after += 1
        found = mon.readings(batch)
        if found and first is None:
            first, at_repairs = found[0], repairs_after
    assert first is not None, "the change was not detected"
    assert (first.element, first.quantity, first.direction) == ("filler", "time_to_repair",
                                                                "longer")
    assert first.detected_at > change, "a false alarm before the change"
    # detected within three times the documented mean delay (a single trajectory)
    assert at_repairs <= 3 * DOCUMENTED_DELAY_REPAIRS
    assert first.ratio > 1.5 and first.ratio_low > 1.0
    assert "Filler: repairs" in first.message()
    # every drift found is of that quantity: the capper and the other tests stay quiet
    assert {(d.element, d.quantity) for d in mon.drifts} == {("filler", "time_to_repair")}


def test_model_plant_raises_no_drift(changed_plant):
    """The 4 modelled hours and 8 more modelled hours (another seed): no test alarms. A
    link gap forgets the observations it cuts (no time to failure spans it)."""
    p, readings, change = changed_plant
    mon = DriftMonitor(p)
    for _, batch in in_batches([r for r in readings if r.t < change]):
        assert mon.readings(batch) == []
    more = emulated(p, [("base", 4, 1), ("base", 8, 21)])  # 8 more modelled hours
    for _, batch in in_batches([r for r in more if r.t >= change]):
        assert mon.readings(batch) == []
    assert len(mon.tests) == 2 * 3 + 5 + 4  # 3 quantities per station, power per state
    mon.gap()
    later = [Reading(r.asset, r.channel, r.t + 12 * 3600, r.value) for r in more
             if r.t >= change]
    for _, batch in in_batches(later):
        assert mon.readings(batch) == []


def test_recalibration_offer_fits_the_recent_repairs(changed_plant, tmp_path):
    """The offer re-calibrates the Filler from the recording since the change: its repair
    mean is near 3x the model's, the other stations are left alone."""
    from twin.live.recorder import LiveRecorder, project_assets
    from twin.recording import Recording
    from twin.shadow.drift import recalibration_scenario

    p, readings, change = changed_plant
    path = tmp_path / "shift.h5"
    with LiveRecorder(path, project_assets(p), source="test") as rec:
        rec.readings(readings)
    mon = DriftMonitor(p)
    found = [d for _, b in in_batches(readings) for d in mon.readings(b)]
    with Recording.open(path) as r:
        sc = recalibration_scenario(p, r, found[0])
    assert {o.element for o in sc.overrides} == {"filler"}
    fail = next(o for o in sc.overrides if o.path == "failures")
    ttr = fail.value["time_to_repair"]
    fitted = dists.Distribution(ttr["dist"], {k: v for k, v in ttr.items() if k != "dist"})
    # 3x the model's 180 s; the window starts at the estimated change, so a few modelled
    # repairs before it may be in (the interval of a fit to ~20 repairs is wide)
    assert 2.0 * 180 <= fitted.mean <= 4.5 * 180
    assert "Filler" in sc.description


def test_cycle_time_false_alarms_of_a_narrow_model_are_as_designed():
    """The capper's triangular(1.95, 2.05, 2.2) cycle times, in batches of 100 as the cycle
    test takes them: the run length to a false alarm is the designed ARL (here 300 batches)."""
    f = scipy_of(dists.Distribution("triangular", {"low": 1.95, "mode": 2.05, "high": 2.2}))
    s = DriftSettings()
    for ratio in (s.cycle_ratio, 1 / s.cycle_ratio):
        d = designed(scale_design(ratio, s.cycle_batch), 300.0)

        def draw(rng, n):
            x = f.rvs(size=(n, s.cycle_batch), random_state=rng)
            return (-np.log1p(-np.minimum(f.cdf(x), 1 - 1e-16))).mean(axis=1)

        x = run_lengths(d, draw, 1500, np.random.default_rng(5), 20_000)
        lo, hi = mean_ci(x)
        assert lo <= cusum_arl(d) <= hi, (ratio, x.mean(), lo, hi)


def test_emulated_cycle_times_are_measured_without_bias(kernel):
    """The newcomer's false alarm on the bottling line's capper ("2.06 against 2.07"): the
    cycle times the monitor measures from the emulator's part events, standardised by the
    model, are Exp(1) (mean and variance 1) for every station, the capper (starved after
    every part, beside the filler) included: the alarm was the design's chance, not a bias."""
    import json
    from pathlib import Path

    from twin.projectfile.reader import project_from_json

    doc = json.loads(Path("projects/bottling-line/project.json").read_text())
    p = project_from_json(doc)
    seen: dict[str, list[float]] = {}
    mon = DriftMonitor(p, settings=DriftSettings(quantities=("cycle_time",)))
    observe = mon.observe

    def keep(element, quantity, x, t, state=""):
        if quantity == "cycle_time":
            seen.setdefault(element, []).append(x)
        return observe(element, quantity, x, t, state)

    mon.observe = keep
    for _, batch in in_batches(emulated(p, [("base", 2, 2)])):
        mon.readings(batch)
    for s in p.stations():
        x = np.asarray(seen[s.id])
        assert len(x) > 2000, s.id  # every part but the first is a cycle
        f = scipy_of(s.process_time)
        y = -np.log1p(-np.minimum(f.cdf(x), 1 - 1e-16))
        se = 1 / math.sqrt(len(y))
        assert abs(y.mean() - 1) < 4 * se and abs(y.var() - 1) < 8 * se, s.id


def test_a_small_drift_is_told_with_the_digits_that_show_it():
    from twin.shadow.drift import Drift

    d = Drift("capper", "Capper", "cycle_time", "shorter", EPOCH, EPOCH + 60, 0.9968,
              0.9951, 0.9984, 900, 2.0667, 2.0601)
    text = d.message()
    assert "cycle time 0.997x the model's (2.06 against 2.07)" in text
    assert "(95% interval 0.995-0.998x)" in text
    big = Drift("filler", "Filler", "time_to_repair", "longer", EPOCH, EPOCH + 60, 3.04, 2.1,
                4.4, 12, 180.0, 547.0)
    assert "repairs 3.0x the model's (547 against 180) (95% interval 2.1-4.4x)" in \
        big.message()


# --- the indifference zone (minimum relevant change) ------------------------------------------
CAPPER = dists.Distribution("triangular", {"low": 1.95, "mode": 2.05, "high": 2.2})
FILLER_REPAIRS = dists.Distribution("lognormal", {"mean": 180.0, "sd": 120.0})


def _one_test(quantity, model, **kw):
    from twin.shadow.drift import _Test

    return _Test("x", "X", quantity, model, DriftSettings(**kw))


def test_a_drift_inside_the_zone_is_in_control_and_its_edge_as_designed():
    """The Filler's lognormal repairs through the monitor's own standardisation (ARL 400 to
    keep it short): repairs exactly 10% longer (the zone's edge) give the designed run length,
    the model itself a longer one, as Brook-Evans says for a scale of 1/1.1 of y."""
    t = _one_test("time_to_repair", FILLER_REPAIRS, arl=400.0)
    assert t.scales == (1.1, 0.9)
    f = scipy_of(FILLER_REPAIRS)
    edge = designed(t.up.design, 400.0)
    for change, expected in ((1.1, cusum_arl(edge)), (1.0, None)):
        x = run_lengths(edge, lambda rng, n, c=change: t.standardise(
            c * f.rvs(size=n, random_state=rng), t.scales[0]), 3000,
            np.random.default_rng(17), 200_000)
        lo, hi = mean_ci(x)
        if expected is not None:
            assert lo <= expected <= hi, (x.mean(), lo, hi)
        else:  # exact for an exponential model; a lognormal one is measured, and longer
            assert lo > 400.0 * 2, (x.mean(), lo, hi)


#: docs/shadow.md: with the 10% zone, exponential repairs 3x longer are found after 11.4
#: repairs on average (9.7 without the zone), the Filler's lognormal ones measured below.
DOCUMENTED_DELAY_REPAIRS_ZONE = 11.4


def test_detection_delay_of_three_times_longer_repairs_with_the_zone():
    t = _one_test("time_to_repair", dists.Distribution("exponential", {"mean": 180.0}))
    expected = cusum_arl(t.up.design, scale=3.0 / 1.1)
    assert expected == pytest.approx(DOCUMENTED_DELAY_REPAIRS_ZONE, abs=0.1)
    x = run_lengths(t.up.design, lambda rng, n: t.standardise(rng.exponential(540.0, n),
                                                               t.scales[0]),
                    4000, np.random.default_rng(11), 2000)
    lo, hi = mean_ci(x)
    assert lo <= expected <= hi
    t = _one_test("time_to_repair", FILLER_REPAIRS)
    f = scipy_of(FILLER_REPAIRS)
    x = run_lengths(t.up.design, lambda rng, n: t.standardise(
        3.0 * f.rvs(size=n, random_state=rng), t.scales[0]), 4000, np.random.default_rng(12),
        2000)
    assert mean_ci(x)[1] <= DOCUMENTED_DELAY_REPAIRS


def _capper_monitor(**kw):
    from shadow_feeds import line_doc

    from twin.projectfile.reader import project_from_json

    doc = line_doc()  # the test line with the bottling line's capper (triangular)
    capper = next(e for e in doc["elements"] if e["id"] == "capper")
    capper["process_time"] = {"dist": "triangular", "low": 1.95, "mode": 2.05, "high": 2.2}
    return DriftMonitor(project_from_json(doc), settings=DriftSettings(
        quantities=("cycle_time",), **kw))


def _feed_cycles(mon, x):
    t = EPOCH
    for i, xi in enumerate(x):
        t += float(xi)
        d = mon.observe("capper", "cycle_time", float(xi), t)
        if d is not None:
            return i + 1, d
    return None, None


def test_a_cycle_time_one_percent_off_a_narrow_model_raises_nothing():
    """The newcomer's finding: the capper's triangular(1.95, 2.05, 2.2) cycle times 1% longer
    were flagged within a few batches; with the default zone (5%) 1,000 batches (100,000
    parts, about 55 hours) pass without an alarm, and 8% longer is found within 3 batches."""
    f = scipy_of(CAPPER)
    x = f.rvs(size=100_000, random_state=np.random.default_rng(4))
    n_old, _ = _feed_cycles(_capper_monitor(min_change=(("cycle_time", 0.0),)), 1.01 * x)
    assert n_old is not None and n_old <= 1000  # what the test without a zone did
    n, d = _feed_cycles(_capper_monitor(), 1.01 * x)
    assert n is None, d.message()
    n, d = _feed_cycles(_capper_monitor(), 1.08 * x[:1000])
    assert n is not None and n <= 300 and d.direction == "longer"
    n, d = _feed_cycles(_capper_monitor(), 0.92 * x[:1000])
    assert n is not None and n <= 300 and d.direction == "shorter"
