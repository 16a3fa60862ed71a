"""Kernel statistics against closed forms and the exact Markov oracle, with honest intervals.

Method: ``R`` independent replications (independent random streams, fixed seed), each
started empty and observed after a warm-up of many relaxation times; the per-replication
time averages are treated as i.i.d. and a Student-t interval at 99% (Bonferroni-shared
between the quantities one test checks, ``oracles.intervals``) must cover the exact value.
Horizons are long enough that the warm-up bias is far below the interval half-width; each
test also requires its intervals to be narrow (``max_rel_half``), so that a pass means
something. No tolerance is chosen to pass: the only knobs are the level and the run length.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import markov
from oracles.intervals import check_all
from oracles.lines import exp, two_machine_line
from oracles.markov import PUBLISHED
from scipy import stats

from kernels import types as kt
from twin.sim.stats import mean_ci, t975
from twin.sim.summary import replication_kpis


def kpis(sr) -> dict[str, np.ndarray]:
    rows = [replication_kpis(sr, rep) for rep in sr.replications]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def per_second(k, key):
    return k[key] / 3600.0 if key.endswith("_per_hour") else k[key]


def station_rate(sr, eid):
    """Parts leaving station ``eid`` per second of observed time, per replication."""
    e = sr.lowered.element_ids.index(eid)
    return np.array([r.el_out[e, kt.O_OUT] / r.line_out[kt.L_OBSERVED]
                     for r in sr.replications])


def queue_doc(arrival_mean, service_mean, capacity=None, servers=1, lose=False):
    """Poisson arrivals -> buffer -> station (``servers`` exponential servers) -> sink."""
    src = {"id": "src", "kind": "source", "arrival": exp(arrival_mean)}
    if lose:
        src["when_blocked"] = "lose"
    return {"schema_version": 1, "name": "queue", "elements": [
        src, {"id": "q", "kind": "buffer", "capacity": capacity},
        {"id": "s", "kind": "station", "servers": servers, "process_time": exp(service_mean)},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "q"], ["q", "s"], ["s", "sink"]]}


# --- M/M/1 --------------------------------------------------------------------------------------
def test_mm1(run_doc):
    lam, mu = 0.8, 1.0
    rho = lam / mu
    L = rho / (1 - rho)
    sr = run_doc(queue_doc(1 / lam, 1 / mu), 60_000.0, warmup=2_000.0, replications=20,
                 seed=101)
    k = kpis(sr)
    check_all({
        "throughput (1/s)": (per_second(k, "line.throughput_per_hour"), lam),
        "L (line.wip)": (k["line.wip"], L),
        "W (lead time, s)": (k["line.lead_time_s"], L / lam),  # Little: W = L / lambda
        "Lq (buffer content)": (k["elements.q.mean_content"], rho * rho / (1 - rho)),
        "utilisation": (k["elements.s.utilization"], rho),
    }, max_rel_half=0.05)


# --- M/G/1: the Pollaczek-Khinchine formula, for service times that are not exponential ------
@pytest.mark.parametrize("service, second_moment", [
    ({"dist": "constant", "value": 1.0}, 1.0),  # M/D/1
    ({"dist": "uniform", "low": 0.5, "high": 1.5}, 1.0 + 1.0 / 12.0),
    ({"dist": "gamma", "shape": 2.0, "scale": 0.5}, 1.0 + 0.5),
    ({"dist": "lognormal", "mean": 1.0, "sd": 1.5}, 1.0 + 2.25),
])
def test_mg1_pollaczek_khinchine(run_doc, service, second_moment):
    lam = 0.7  # every service time above has mean 1 s
    lq = lam * lam * second_moment / (2 * (1 - lam))
    doc = queue_doc(1 / lam, 1.0)
    doc["elements"][2]["process_time"] = service
    sr = run_doc(doc, 60_000.0, warmup=2_000.0, replications=20, seed=111)
    k = kpis(sr)
    check_all({
        "throughput (1/s)": (per_second(k, "line.throughput_per_hour"), lam),
        "Lq (buffer content)": (k["elements.q.mean_content"], lq),
        "W = Lq / lambda + E[S] (s)": (k["line.lead_time_s"], lq / lam + 1.0),
        "utilisation": (k["elements.s.utilization"], lam),
    }, max_rel_half=0.08)


def test_mm1_waiting_at_the_source(run_doc):
    # no buffer: arrivals wait in the source's own queue, which is part of the line
    lam, mu = 0.7, 1.0
    rho = lam / mu
    doc = queue_doc(1 / lam, 1 / mu)
    doc["elements"].pop(1)
    doc["connections"] = [["src", "s"], ["s", "sink"]]
    sr = run_doc(doc, 40_000.0, warmup=1_000.0, replications=20, seed=102)
    k = kpis(sr)
    check_all({
        "L (line.wip)": (k["line.wip"], rho / (1 - rho)),
        "Lq (source queue)": (k["elements.src.mean_queue"], rho * rho / (1 - rho)),
        "W": (k["line.lead_time_s"], 1 / (mu - lam)),
    }, max_rel_half=0.05)


def test_mm1_state_fractions_partition_time(run_doc):
    # a station fed by a queue is busy or starved and nothing else; P(idle) = 1 - rho
    sr = run_doc(queue_doc(1 / 0.6, 1.0), 20_000.0, warmup=1_000.0, replications=10, seed=5)
    k = kpis(sr)
    fr = {s: k[f"elements.s.state_fraction.{s}"] for s in kt.STATE_NAMES}
    np.testing.assert_allclose(sum(fr.values()), 1.0, rtol=1e-12)
    for s in ("off", "idle", "setup", "blocked", "down", "maintenance"):
        assert np.all(fr[s] == 0.0), s
    check_all({"P(starved)": (fr["starved"], 0.4)}, max_rel_half=0.02)


# --- M/M/1/K with lost arrivals -------------------------------------------------------------
def test_mm1k_loses_arrivals_that_find_the_system_full(run_doc):
    # K = 5 places: 4 waiting in the buffer and 1 in service; overloaded (rho = 1.25)
    lam, mu, K = 1.0, 1.25, 5
    p, tp, L = markov.mm1k(lam, mu, K)
    sr = run_doc(queue_doc(1 / lam, 1 / mu, capacity=K - 1, lose=True), 40_000.0,
                 warmup=500.0, replications=20, seed=202)
    k = kpis(sr)
    obs = np.array([r.line_out[kt.L_OBSERVED] for r in sr.replications])
    check_all({
        "throughput lambda (1 - p_K)": (per_second(k, "line.throughput_per_hour"), tp),
        "L": (k["line.wip"], L),
        "W of admitted parts": (k["line.lead_time_s"], L / tp),
        "loss rate lambda p_K": (k["line.lost"] / obs, lam * p[-1]),
        "P(server busy) = 1 - p_0": (k["elements.s.utilization"], 1 - p[0]),
    }, max_rel_half=0.05)
    assert np.all(k["elements.q.max_content"] == K - 1)
    assert np.all(k["elements.src.lost"] == k["line.lost"])


# --- M/M/c --------------------------------------------------------------------------------
def erlang_c(lam, mu, c):
    a = lam / mu
    rho = a / c
    head = sum(a**n / math.factorial(n) for n in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    return tail / (head + tail)


def test_mmc_parallel_servers(run_doc):
    lam, mu, c = 2.4, 1.0, 3
    rho = lam / (c * mu)
    lq = erlang_c(lam, mu, c) * rho / (1 - rho)
    sr = run_doc(queue_doc(1 / lam, 1 / mu, servers=c), 30_000.0, warmup=1_000.0,
                 replications=20, seed=303)
    k = kpis(sr)
    check_all({
        "throughput": (per_second(k, "line.throughput_per_hour"), lam),
        "L = Lq + lambda/mu": (k["line.wip"], lq + lam / mu),
        "Lq": (k["elements.q.mean_content"], lq),
        "utilisation per server": (k["elements.s.utilization"], rho),
    }, max_rel_half=0.05)


# --- product mix and setups ------------------------------------------------------------------
def test_setups_follow_the_product_mix(run_doc):
    # products drawn independently with P(A) = 0.3: consecutive parts differ with
    # probability 2 p (1 - p) = 0.42, and each difference costs one setup
    doc = {"schema_version": 1, "name": "mix", "elements": [
        {"id": "src", "kind": "source", "product_mix": {"A": 0.3, "B": 0.7}},
        {"id": "m", "kind": "station", "process_time": {"A": 1.0, "B": exp(1.0)},
         "setup_time": 0.5},
        {"id": "sink", "kind": "sink"}], "connections": [["src", "m"], ["m", "sink"]]}
    sr = run_doc(doc, 20_000.0, replications=20, seed=808)
    k = kpis(sr)
    check_all({
        "setups per part": (k["elements.m.setups"] / k["elements.m.parts_in"], 0.42),
        # both products take 1 s on average; a part costs 1 + 0.42 x 0.5 s of station time
        "busy time per part": (np.array([r.st_time[1, kt.BUSY] for r in sr.replications])
                               / k["elements.m.parts_in"], 1.0),
        "setup time fraction": (k["elements.m.state_fraction.setup"], 0.42 * 0.5 / 1.21),
    }, max_rel_half=0.05)


# --- failure bases ------------------------------------------------------------------------
def test_calendar_failures_strike_whatever_the_station_does(run_doc):
    # time-dependent failures: each server is down a fraction MTTR / (MTTF + MTTR) of the
    # time, whether it works, waits or is blocked; a two-server station fails per server
    cal = {"basis": "calendar", "time_to_failure": exp(100.0), "time_to_repair": exp(10.0)}
    doc = {"schema_version": 1, "name": "calendar failures", "elements": [
        {"id": "src", "kind": "source", "arrival": exp(1.0)},
        {"id": "q", "kind": "buffer", "capacity": 3},
        {"id": "m1", "kind": "station", "servers": 2, "process_time": exp(1.5),
         "failures": cal},
        {"id": "m2", "kind": "station", "process_time": exp(0.9), "failures": cal},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "q"], ["q", "m1"], ["m1", "m2"], ["m2", "sink"]]}
    sr = run_doc(doc, 100_000.0, warmup=1_000.0, replications=20, seed=707)
    k = kpis(sr)
    check_all({f"{s} down": (k[f"elements.{s}.state_fraction.down"], 10.0 / 110.0)
               for s in ("m1", "m2")}, max_rel_half=0.05)
    assert np.all(k["elements.m2.state_fraction.starved"] > 0.05)  # it did wait, and fail


# --- an open Jackson network -------------------------------------------------------------------
JACKSON = {"schema_version": 1, "name": "jackson", "elements": [
    {"id": "src", "kind": "source", "arrival": exp(2.0)},
    {"id": "b1", "kind": "buffer", "capacity": None},
    {"id": "s1", "kind": "station", "process_time": exp(1.4)},
    {"id": "b2", "kind": "buffer", "capacity": None},
    {"id": "s2", "kind": "station", "process_time": exp(2.0)},
    {"id": "b3", "kind": "buffer", "capacity": None},
    {"id": "s3", "kind": "station", "process_time": exp(3.0)},
    {"id": "sink", "kind": "sink"}],
    "connections": [
        ["src", "b1"], ["b1", "s1"],
        {"from": "s1", "to": "b2", "probability": 0.6},
        {"from": "s1", "to": "b3", "probability": 0.4},
        ["b2", "s2"], ["b3", "s3"], ["s2", "sink"],
        {"from": "s3", "to": "b1", "probability": 0.25},  # feedback: rework
        {"from": "s3", "to": "sink", "probability": 0.75}]}


def test_jackson_network_with_split_and_feedback(run_doc):
    # traffic equations: l1 = lam + 0.25 l3, l2 = 0.6 l1, l3 = 0.4 l1 -> l1 = lam / 0.9;
    # product form: station i holds rho_i / (1 - rho_i) parts (queue and service)
    lam = 0.5
    l1 = lam / 0.9
    rates = {"s1": l1, "s2": 0.6 * l1, "s3": 0.4 * l1}
    means = {"s1": 1.4, "s2": 2.0, "s3": 3.0}
    L = {s: rates[s] * means[s] / (1 - rates[s] * means[s]) for s in rates}
    sr = run_doc(JACKSON, 60_000.0, warmup=3_000.0, replications=20, seed=404)
    k = kpis(sr)
    samples = {"line throughput": (per_second(k, "line.throughput_per_hour"), lam),
               "line WIP": (k["line.wip"], sum(L.values())),
               "lead time (Little)": (k["line.lead_time_s"], sum(L.values()) / lam)}
    for i, s in enumerate(rates, start=1):
        samples[f"{s} throughput"] = (station_rate(sr, s), rates[s])
        samples[f"{s} L"] = (k[f"elements.b{i}.mean_content"]
                             + k[f"elements.{s}.state_fraction.busy"], L[s])
    check_all(samples, max_rel_half=0.06)


# --- two-machine lines: the exact Markov oracle and the published values -----------------------


@pytest.mark.parametrize("mean1, mean2, capacity, mttf, mttr, published", PUBLISHED,
                         ids=[f"C{c}-{'fail' if f else 'reliable'}-m2={m2}"
                              for _, m2, c, f, _, _ in PUBLISHED])
def test_two_machine_line(run_doc, mean1, mean2, capacity, mttf, mttr, published):
    exact = markov.solve_line([markov.Machine(mean1, mttf, mttr),
                               markov.Machine(mean2, mttf, mttr)], [capacity])
    sr = run_doc(two_machine_line(mean1, mean2, capacity, mttf, mttr), 100_000.0,
                 warmup=2_000.0, replications=20, seed=505)
    k = kpis(sr)
    m1, m2 = exact.state_prob
    samples = {
        "throughput": (per_second(k, "line.throughput_per_hour"), (exact.throughput, published)),
        "m1 busy": (k["elements.m1.state_fraction.busy"], m1["W"]),
        "m1 blocked": (k["elements.m1.state_fraction.blocked"], m1["B"]),
        "m2 busy": (k["elements.m2.state_fraction.busy"], m2["W"]),
        "m2 starved": (k["elements.m2.state_fraction.starved"], m2["S"]),
    }
    if mttf is not None:
        samples["m1 down"] = (k["elements.m1.state_fraction.down"], m1["D"])
        samples["m2 down"] = (k["elements.m2.state_fraction.down"], m2["D"])
        # failures per second: one per mttf of processing
        obs = np.array([r.line_out[kt.L_OBSERVED] for r in sr.replications])
        samples["m1 failure rate"] = (k["elements.m1.failures"] / obs, m1["W"] / mttf)
    if capacity:
        samples["buffer content"] = (k["elements.b1.mean_content"], exact.buffer_mean[0])
    check_all(samples, max_rel_half=0.05)
    assert np.all(k["elements.m1.state_fraction.starved"] == 0.0)  # unlimited raw material
    assert np.all(k["elements.m2.state_fraction.blocked"] == 0.0)  # the sink takes all


def test_three_machine_line_against_the_markov_oracle(run_doc):
    from oracles.lines import serial_line, station

    machines = [markov.Machine(1.0, 50.0, 4.0), markov.Machine(0.9), markov.Machine(1.1, 80.0, 6.0)]
    exact = markov.solve_line(machines, [3, 0])
    doc = serial_line([
        station("m1", exp(1.0), failures={"time_to_failure": exp(50.0),
                                          "time_to_repair": exp(4.0)}),
        station("m2", exp(0.9)),
        station("m3", exp(1.1), failures={"time_to_failure": exp(80.0),
                                          "time_to_repair": exp(6.0)})], [3, 0])
    sr = run_doc(doc, 100_000.0, warmup=2_000.0, replications=20, seed=606)
    k = kpis(sr)
    samples = {"throughput": (per_second(k, "line.throughput_per_hour"), exact.throughput),
               "b1 content": (k["elements.b1.mean_content"], exact.buffer_mean[0])}
    for i, probs in enumerate(exact.state_prob, start=1):
        for code, name in (("W", "busy"), ("B", "blocked"), ("S", "starved"), ("D", "down")):
            if probs[code] > 0.01:
                samples[f"m{i} {name}"] = (k[f"elements.m{i}.state_fraction.{name}"],
                                           probs[code])
    check_all(samples, max_rel_half=0.05)


# --- the run-time interval code --------------------------------------------------------------
def test_t975_matches_scipy():
    for df in range(1, 400):
        exact = stats.t.ppf(0.975, df)
        tol = 5e-4 if df <= 30 else 1e-4  # table to 3 decimals; expansion claimed to 1e-4
        assert abs(t975(df) - exact) <= tol, (df, t975(df), exact)


def test_mean_ci_is_the_student_t_interval():
    rng = np.random.default_rng(0)
    for n in (2, 5, 31, 100):
        x = rng.normal(size=n)
        ci = mean_ci(x)
        half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
        assert ci["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert ci["ci95_halfwidth"] == pytest.approx(half, rel=1e-3)
    assert math.isnan(mean_ci([3.0])["ci95_halfwidth"])
    # rounding in a time integral is no spread; a tiny real spread around 0 still is one
    assert mean_ci([20.0, 20.0 - 3.6e-15, 20.0 + 7e-15])["ci95_halfwidth"] == 0.0
    assert mean_ci([1e-9, 2e-9, 3e-9])["ci95_halfwidth"] > 0.0
