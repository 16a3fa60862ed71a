"""How big a run would be, before it starts: events, samples, state-log rows, memory.

:func:`estimate_run` refuses (``twin.limits.RunTooLarge``) a run beyond the limits of
``docs/limits.md`` with how big it would be and what to lower."""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.errors import Problems
from twin.limits import (
    EVENTS_PER_SECOND,
    LOG_ROW_BYTES,
    MAX_EVENTS,
    MAX_RUN_BYTES,
    MAX_SAMPLES,
    RunTooLarge,
    big,
    check_run_settings,
    nbytes,
    who,
)
from twin.model import elements as m
from twin.projectfile.reader import scenario_variants
from twin.units import seconds_text


# --- the size of a run ------------------------------------------------------------------------
@dataclass
class RunEstimate:
    """How big a run would be, per replication and in all.

    Attributes
    ----------
    events : float
        Events of one replication (of the largest scenario).
    samples : int
        Time-series samples per replication.
    log_rows : float
        State-log rows of one replication (0 with the log off).
    logs_kept : int
        Replications whose state log the run keeps in memory.
    memory_bytes : float
        Time series of every replication plus the state logs kept.
    seconds : float
        A rough running time on one core (``EVENTS_PER_SECOND``).
    runs : int
        Replications in all (scenarios x replications).
    busiest : str
        The element and field with the most events.
    """
    events: float
    samples: int
    log_rows: float
    logs_kept: int
    memory_bytes: float
    seconds: float
    runs: int
    busiest: str = ""

    def __str__(self) -> str:
        log = (f"about {big(self.log_rows)} state changes logged per replication"
               if self.log_rows else "state log off")
        busiest = f" (most at {self.busiest})" if self.busiest else ""
        return (f"about {big(self.events)} events per replication{busiest}, "
                f"{self.samples:,} time-series samples, {log}; {self.runs} replication"
                f"{'' if self.runs == 1 else 's'} in all, about {nbytes(self.memory_bytes)} of "
                f"results, about {seconds_text(max(self.seconds, 0.1))} of simulation on one core")


def _share(conns) -> list[float]:
    w = [c.weight for c in conns]
    total = sum(w)
    return [x / total for x in w] if total > 0 else [1.0 / len(w)] * len(w)


def _rates(project, horizon: float):
    """Parts per second through each element: a flow estimate of the plant.

    Each element passes at most what reaches it and at most its own capacity (servers over
    the fastest mean process time, one part per spacing of a conveyor, a source's arrival
    rate); rates are carried along the connections in flow order, split by the weights.
    Loops are cut where they close. Returns the rates and the index of an element fed at an
    unbounded rate (or None)."""
    els = project.elements
    index = {el.id: i for i, el in enumerate(els)}
    succ, pred = project.adjacency()
    cap = [math.inf] * len(els)
    for i, el in enumerate(els):
        if isinstance(el, m.Source):
            if el.arrival is not None:
                mean = el.arrival.mean
                cap[i] = 1.0 / mean if mean > 0 else math.inf
            elif el.schedule:
                parts = sum(q for _, _, q in el.schedule)
                cap[i] = parts / el.schedule_period if el.schedule_period else parts / horizon
        elif isinstance(el, m.Station):
            pt = el.process_time
            means = [d.mean for d in (pt.values() if isinstance(pt, dict) else [pt]) if d]
            fastest = min(means, default=0.0)
            cap[i] = el.servers / fastest if fastest > 0 else math.inf
        elif isinstance(el, m.Conveyor):
            cap[i] = el.speed / el.spacing
    inflow = [0.0] * len(els)
    rate = [0.0] * len(els)
    waiting = [len(pred.get(el.id, [])) for el in els]
    ready = [i for i, n in enumerate(waiting) if n == 0]
    done = [False] * len(els)
    scan = 0
    for _ in range(len(els)):
        if ready:
            i = ready.pop()
        else:  # the rest lies on loops: cut the loop at the first element in file order
            while done[scan]:
                scan += 1
            i = scan
        done[i] = True
        el = els[i]
        rate[i] = cap[i] if isinstance(el, m.Source) else min(inflow[i], cap[i])
        outs = succ.get(el.id, [])
        for c, share in zip(outs, _share(outs) if outs else [], strict=True):
            j = index[c.target]
            if share > 0:
                inflow[j] += rate[i] * share
            waiting[j] -= 1
            if waiting[j] == 0 and not done[j]:
                ready.append(j)
    unbounded = next((i for i, r in enumerate(rate)
                      if math.isinf(r) and not isinstance(els[i], m.Source)), None)
    return rate, unbounded


def _scenario_size(project, spec, index: dict[str, int]):
    """Events and log rows per replication of one variant, the busiest element, problems."""
    horizon = spec.horizon
    rate, unbounded = _rates(project, horizon)
    problems = Problems()
    if unbounded is not None:
        el = project.elements[unbounded]
        problems.add(f"$.elements[{index.get(el.id, unbounded)}]", f"{who(el)}: parts would "
                     "reach it at an unbounded rate: every element between an unlimited "
                     "source and here takes no time. Give one of them a process time > 0, "
                     "or the source an 'arrival'", el.id)
        return math.inf, math.inf, "", problems
    events: list[tuple[float, str, str]] = []  # (per second, path, what)
    log = 0.0
    cal_servers = 0
    for i, el in enumerate(project.elements):
        ep = f"$.elements[{index.get(el.id, i)}]"
        r = rate[i]
        if isinstance(el, m.Source):
            if el.arrival is not None or el.schedule:
                events.append((r, f"{ep}.arrival" if el.arrival else f"{ep}.schedule",
                               f"{who(el)}, arrivals"))
        elif isinstance(el, m.Station):
            per_part = 2.0 if el.setup_time else 1.0
            events.append((r * per_part, f"{ep}.process_time", f"{who(el)}, operations"))
            log += 1.5 * r * per_part
            f = el.failures
            if f is not None:
                ttf = f.time_to_failure.mean
                fails = (r / max(ttf, 1.0) if f.basis == "operations"
                         else el.servers / max(ttf + (f.time_to_repair.mean
                                                      if f.basis == "calendar" else 0.0),
                                               1e-300))
                events.append((2 * fails, f"{ep}.failures.time_to_failure",
                               f"{who(el)}, failures"))
                log += 2 * fails
            pm = el.maintenance
            if pm is not None:
                pms = (el.servers / (pm.every_hours * 3600.0) if pm.every_hours else 0.0) + (
                    r / pm.every_operations if pm.every_operations else 0.0)
                events.append((2 * pms, f"{ep}.maintenance", f"{who(el)}, maintenance"))
                log += 2 * pms
            if el.follows_calendar:
                cal_servers += el.servers
        elif isinstance(el, m.Conveyor):
            events.append((2 * r, ep, f"{who(el)}, parts carried"))
            log += r
        else:
            events.append((r, ep, f"{who(el)}, parts"))
            log += r if isinstance(el, m.Buffer) else 0.0
    cal = project.calendar
    if cal is not None:
        toggles = 2 * len(cal.shifts) / cal.period
        events.append((toggles * (1 + cal_servers), "$.calendar", "the calendar's shifts"))
        log += toggles * cal_servers
    total = sum(e[0] for e in events) * horizon
    top = max(events, key=lambda e: e[0], default=(0.0, "", ""))
    busiest = f"{top[1]}: {top[2]}" if top[1] else ""
    if total > MAX_EVENTS:
        problems.add(top[1] or "$", f"this run would take about {big(total)} events per "
                     f"replication, {big(top[0] * horizon)} of them at {top[2]} (about "
                     f"{seconds_text(total / EVENTS_PER_SECOND)} per replication); at most "
                     f"{big(MAX_EVENTS)} are allowed: shorten the horizon "
                     f"({seconds_text(horizon)}) or lengthen the times that fire so often",
                     round(total))
    return total, log * horizon if spec.log else 0.0, busiest, problems


def estimate_run(project, spec, scenarios: list[str] | None = None,
                 variants: dict | None = None) -> RunEstimate:
    """Estimate the size of a run and refuse one beyond the limits, before it starts.

    Parameters
    ----------
    project : twin.model.elements.Project
    spec : twin.sim.runner.RunSpec
        Horizon, warm-up, replications, seed, sample interval and state log of the run.
    scenarios : list of str, optional
        The scenarios run (default: the base project).
    variants : dict, optional
        The scenarios applied already (``twin.projectfile.reader.scenario_variants``).

    Returns
    -------
    RunEstimate
        Events, samples, state-log rows per replication and the memory of the results.

    Raises
    ------
    RunTooLarge
        A ``ProjectError`` whose problems say how big the run would be and what to lower:
        more than ``MAX_EVENTS`` events per replication, more than ``MAX_SAMPLES`` samples,
        results beyond ``MAX_RUN_BYTES``, parts at an unbounded rate.
    ProjectError
        Run settings out of range, an unknown scenario's problems.
    """
    p = Problems()
    check_run_settings(spec.horizon, spec.warmup, spec.replications, spec.seed,
                       spec.sample_interval, p)
    p.raise_if_any(what="the run settings")
    names = list(scenarios or ["base"])
    horizon = spec.horizon
    dt = spec.sample_interval if spec.sample_interval > 0 else horizon / 200.0
    samples = int(horizon / dt) + 3
    tariff = project.tariff
    if tariff is not None:  # the energy context's change times (twin.sim.energy)
        samples += int(horizon / 900.0) + 3 + (int(horizon / 86400.0) + 3) * (
            24 * bool(tariff.hourly) + 2 * len(tariff.periods))
    index = {el.id: i for i, el in enumerate(project.elements)}
    events, log_rows, busiest, problems = 0.0, 0.0, "", Problems()
    if variants is None:
        variants = scenario_variants(project, names)
    for name in names:
        variant = variants[name]
        ev, rows, top, found = _scenario_size(variant, spec, index)
        for q in found.items:
            where = q.path if name in (None, "", "base") else f"scenario {name!r} -> {q.path}"
            problems.add(where, q.message, q.value)
        if ev >= events:
            events, busiest = ev, top
        log_rows = max(log_rows, rows)
    n_el = len(project.elements)
    runs = len(names) * spec.replications
    logs_kept = 0
    if spec.log:
        logs_kept = runs if spec.log_only is None else min(len(spec.log_only), runs)
    series = samples * (3 + 3 * n_el) * 8.0 * runs
    log_bytes = log_rows * LOG_ROW_BYTES * logs_kept
    memory = series + log_bytes
    if horizon / dt > MAX_SAMPLES:  # as check_run_settings counts them
        problems.add("sample_interval", f"this run would take {big(samples)} time-series "
                     f"samples per replication; at most {MAX_SAMPLES:,}: raise the sample "
                     f"interval to at least {horizon / MAX_SAMPLES:.3g} s", spec.sample_interval)
    elif memory > MAX_RUN_BYTES and math.isfinite(memory):
        if log_bytes >= series:
            problems.add("state_log", f"this run would log about {big(log_rows * logs_kept)} "
                         f"state changes, about {nbytes(log_bytes)}, beyond the "
                         f"{nbytes(MAX_RUN_BYTES)} a run may keep; lower the horizon or "
                         "switch off the state log", round(log_rows * logs_kept))
        else:
            problems.add("sample_interval", f"this run would keep about {nbytes(series)} of "
                         f"time series ({samples:,} samples x {n_el:,} elements x {runs:,} "
                         f"replications), beyond the {nbytes(MAX_RUN_BYTES)} a run may keep; "
                         "raise the sample interval or run fewer replications",
                         spec.sample_interval)
    if problems:
        raise RunTooLarge(problems.items, "the run")
    return RunEstimate(events, samples, log_rows, logs_kept, memory,
                       events * runs / EVENTS_PER_SECOND, runs, busiest)
