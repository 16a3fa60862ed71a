"""The kernel against the naive oracle on random serial lines, event by event.

Both draw from the same per-element streams, so for a given seed they must make the same
parts, fail and scrap at the same moments, and report the same trace and totals. Random
times make simultaneous events (and any question of their order) improbable, so the traces
are compared in full, over thousands of events.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
from oracles import agree, naive
from oracles.agree import assert_agrees
from oracles.lines import (
    canonical,
    end_of_instant,
    exp,
    kernel_trace,
    operating_failures,
    serial_line,
    station,
)

from kernels import types as kt

LINES = {
    "reliable, buffer then straight": serial_line(
        [station("m1", exp(1.0)), station("m2", exp(1.2)), station("m3", exp(0.9))], [2, 0]),
    "failures everywhere": serial_line([
        station("m1", exp(1.0), failures=operating_failures(exp(30.0), exp(4.0))),
        station("m2", exp(1.0), failures=operating_failures(exp(20.0), exp(3.0))),
        station("m3", exp(1.1), failures=operating_failures(exp(40.0), exp(5.0)))], [3, 1]),
    "scrap, failures, constant and random times": serial_line([
        station("m1", exp(0.8), scrap=0.1,
                failures=operating_failures(exp(15.0), 2.5)),
        station("m2", 1.05, failures=operating_failures(exp(25.0), exp(3.0))),
        station("m3", exp(1.0), scrap=0.05)], [0, 4]),
    # issue 18 §2: a two-server oven with failures between a buffer and a straight link,
    # and an oven fed straight by the first station
    "batch stations": serial_line([
        station("m1", exp(0.3)),
        station("oven", exp(2.0), servers=2, batch={"size": 3, "capacity": 5},
                failures=operating_failures(exp(30.0), exp(2.0))),
        station("m3", exp(0.45)),
        station("tray", 1.5, batch={"size": 4})], [2, 0, 0]),
    # loads that close at their timeout (a two-server oven with failures; a tray below its
    # minimum fill), and a disassembly of each part into three
    "batch timeouts and a disassembly": serial_line([
        station("m1", exp(1.0)),
        station("oven", exp(3.0), servers=2,
                batch={"size": 4, "timeout": 2.5, "min_fill": 2, "capacity": 6},
                failures=operating_failures(exp(30.0), exp(2.0))),
        station("split", exp(0.8), disassembly={"outputs": [{"to": "m4", "quantity": 3}]}),
        station("m4", exp(0.35)),
        station("tray", exp(1.0), batch={"size": 5, "timeout": 1.0, "min_fill": 3})],
        [3, 0, 0, 2]),
    # issue 18 §2: baskets of three (collected in no time) through a buffer to a two-server
    # oven with failures and on to an unbatch; trays of four through a station, unpacked
    "loads as one unit": serial_line([
        station("m1", exp(0.5)),
        station("basket", 0, batch={"size": 3, "release": "load"}),
        station("oven", exp(2.5), servers=2,
                failures=operating_failures(exp(30.0), exp(2.0))),
        station("unload", exp(0.3), unbatch=True),
        station("m4", exp(0.4)),
        station("tray", exp(1.2), batch={"size": 4, "timeout": 2.0, "min_fill": 2,
                                         "release": "load"}),
        station("m6", exp(0.5)),
        station("unpack", exp(0.2), unbatch=True)], [2, 0, 1, 0, 0, 2, 0]),
}


@pytest.mark.parametrize("seed", [1, 77])
@pytest.mark.parametrize("name", list(LINES))
def test_kernel_and_naive_oracle_agree_event_by_event(run_doc, name, seed):
    doc, horizon = LINES[name], 3000.0
    sr = run_doc(doc, horizon, replications=2, seed=seed, log=True)
    for r, rep in enumerate(sr.replications):
        raw = kernel_trace(rep.log, sr.lowered.element_ids)
        got = end_of_instant(raw)
        # station rows are committed once per instant: the raw log holds no 0 s states
        assert canonical([r for r in raw if isinstance(r[2], str)]) == [
            r for r in got if isinstance(r[2], str)]
        assert_agrees(sr, doc, horizon, seed, r, min_rows=2000, abs_s=1e-9)


def random_line(seed: int, loads: bool = False) -> dict:
    """A small random serial line of plain, batch and disassembly stations (a plain one
    first); with ``loads``, also batch stations releasing their loads as one unit, which
    only plain stations and unbatch stations follow until an unbatch."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5) if not loads else rng.integers(3, 7))
    buffers = [int(b) for b in rng.integers(0, 4, n - 1)]
    ids = [f"s{i}" for i in range(n)]
    nxt = [f"b{i + 1}" if i < n - 1 and buffers[i] else (ids[i + 1] if i < n - 1 else "sink")
           for i in range(n)]
    stations, bursty, carrying = [], False, False
    for i in range(n):
        fields = {}
        # the first station is plain: the unlimited source would fill a place at once
        kind = "plain" if i == 0 else rng.choice(["plain", "batch", "batch", "disassembly"]
                                                 if not loads else
                                                 ["plain", "unbatch"] if carrying else
                                                 ["plain", "batch", "load", "unbatch"])
        if kind == "unbatch":
            fields["unbatch"] = True
            carrying = False
        elif kind in ("batch", "load"):
            size = int(rng.integers(1, 5))
            fields["batch"] = {"size": size, "capacity": size + int(rng.integers(0, 3)),
                               "min_fill": int(rng.integers(1, size + 1))}
            # a due load starts at its min_fill-th part: of parts that reach it at one
            # instant (a load's or a disassembly's, from the station before), which join
            # depends on the order of the instant's moves, which the oracle does not copy
            if rng.random() < 0.8 and not bursty:
                fields["batch"]["timeout"] = float(rng.choice([0.0, rng.uniform(0.2, 4.0)]))
            fields["servers"] = int(rng.integers(1, 3))
            if kind == "load":
                fields["batch"]["release"] = "load"
                carrying = True
        elif kind == "disassembly":
            out = {"to": nxt[i], "quantity": int(rng.integers(2, 4))}
            if rng.random() < 0.5:  # the parts become a product of their own
                out["product"] = f"x{i}"
            fields["disassembly"] = {"outputs": [out]}
        if kind != "disassembly" and rng.random() < 0.4:
            fields["failures"] = operating_failures(exp(float(rng.uniform(10, 40))),
                                                    exp(float(rng.uniform(1, 4))))
        process = exp(float(rng.uniform(0.3, 2.0)))
        if i > 0 and rng.random() < 0.5:  # other times for the products of disassemblies
            process = {"part": process, "*": exp(float(rng.uniform(0.1, 1.0)))}
        stations.append(station(ids[i], process, **fields))
        bursty = ((fields.get("batch", {}).get("size", 1) > 1 and kind != "load")
                  or kind == "unbatch" or ("disassembly" in fields
                      and fields["disassembly"]["outputs"][0]["quantity"] > 1))
    if carrying:  # a load never reaches the sink whole: an unbatch empties it
        stations.append(station(f"s{n}", exp(float(rng.uniform(0.1, 0.5))), unbatch=True))
        buffers.append(0)
    return serial_line(stations, buffers, name=f"random {seed}")


@pytest.mark.parametrize("seed", range(12))
def test_kernel_and_naive_oracle_agree_on_random_batch_lines(run_doc, seed):
    """Random lines of batch stations (with and without timeouts, minimum fills, several
    servers, failures) and disassemblies (into parts of the same or another product, with
    per-product times after them): the same trace and totals, event by event."""
    doc, horizon = random_line(seed), 1500.0
    sr = run_doc(doc, horizon, replications=1, seed=seed, log=True)
    assert_agrees(sr, doc, horizon, seed)
    assert sr.replications[0].line_out[kt.L_GOOD] > 100


@pytest.mark.parametrize("seed", [0, 2, 5, 6, 8, 9, 10, 15, 17, 18])  # each has a load
def test_kernel_and_naive_oracle_agree_on_random_lines_with_loads(run_doc, seed):
    """Random lines where batch stations release whole loads, carried as one unit through
    buffers and plain stations (several servers, failures) to unbatch stations or the sink:
    the same trace and totals, event by event."""
    doc, horizon = random_line(seed, loads=True), 1500.0
    assert any(e.get("batch", {}).get("release") == "load" for e in doc["elements"])
    sr = run_doc(doc, horizon, replications=1, seed=seed, log=True)
    assert_agrees(sr, doc, horizon, seed)
    assert sr.replications[0].line_out[kt.L_GOOD] > 100


MUTANTS = {  # deliberate off-by-ones in the oracle's loads, each of which the kernel refutes
    "a station counts a load's parts in, not one unit": (
        "        st.parts_in += 1\n",
        "        st.parts_in += len(part) if isinstance(part, tuple) else 1\n"),
    "the basket counts one part of each load too few out": (
        "st.parts_out += len(part) if st.whole and",
        "st.parts_out += len(part) - 1 if st.whole and"),
    "the unbatch hands on all but the last part": (
        "                load = list(load[0])\n", "                load = list(load[0])[:-1]\n"),
}


@pytest.mark.parametrize("mutation", list(MUTANTS))
def test_an_off_by_one_in_the_oracles_loads_fails(run_doc, monkeypatch, mutation):
    old, new = MUTANTS[mutation]
    src = Path(naive.__file__).read_text()
    assert src.count(old) == 1
    mutant = types.ModuleType("naive_mutant")
    monkeypatch.setitem(sys.modules, "naive_mutant", mutant)  # for its dataclasses
    exec(compile(src.replace(old, new), "naive_mutant", "exec"), mutant.__dict__)
    doc, horizon = LINES["loads as one unit"], 600.0
    sr = run_doc(doc, horizon, replications=1, seed=1, log=True)
    assert_agrees(sr, doc, horizon, 1)  # the true oracle agrees
    monkeypatch.setattr(agree, "naive", mutant)
    with pytest.raises(AssertionError):
        assert_agrees(sr, doc, horizon, 1)
