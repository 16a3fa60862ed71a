"""Project documents of the reference lines, and readers of the kernel's state log.

Both sides of a comparison (kernel and oracle) start from the same JSON document, written
in the project-file vocabulary (``twin.projectfile.reader``), so that a test states its model once.
"""

from __future__ import annotations

import copy

import numpy as np

from kernels import types as kt


def exp(mean: float) -> dict:
    return {"dist": "exponential", "mean": mean}


def station(sid: str, process, **fields) -> dict:
    """A station element; ``process`` is a number (constant) or a distribution object."""
    return {"id": sid, "kind": "station", "process_time": process, **fields}


def operating_failures(ttf, ttr) -> dict:
    return {"basis": "operating", "time_to_failure": ttf, "time_to_repair": ttr}


def serial_line(stations: list[dict], buffers: list[int | None], name: str = "line",
                **top) -> dict:
    """source -> s0 -> [b0] -> s1 -> ... -> sink with an unlimited source.

    ``buffers[j]`` joins station j to station j+1: a capacity (waiting parts), ``None`` for
    an unlimited buffer, or 0 to connect the two stations straight (no buffer).
    """
    if len(buffers) != len(stations) - 1:
        raise ValueError("n stations need n - 1 buffer entries")
    elements = [{"id": "src", "kind": "source"}]
    chain = ["src"]
    for j, st in enumerate(stations):
        elements.append(st)
        chain.append(st["id"])
        if j < len(buffers) and buffers[j] != 0:
            bid = f"b{j + 1}"
            elements.append({"id": bid, "kind": "buffer", "capacity": buffers[j]})
            chain.append(bid)
    elements.append({"id": "sink", "kind": "sink"})
    chain.append("sink")
    return {"schema_version": 1, "name": name, "elements": elements,
            "connections": [[a, b] for a, b in zip(chain, chain[1:], strict=False)], **top}


def two_machine_line(mean1: float, mean2: float, capacity: int, mttf: float | None = None,
                     mttr: float | None = None) -> dict:
    """The exponential two-machine line of ``oracles.markov`` as a project document."""
    fail = None if mttf is None else operating_failures(exp(mttf), exp(mttr))
    sts = [station(f"m{i + 1}", exp(mean), **({"failures": fail} if fail else {}))
           for i, mean in enumerate((mean1, mean2))]
    return serial_line(sts, [capacity], name=f"two machines C={capacity}")


def wrong_copy(doc: dict, process_mean: float) -> dict:
    """A copy of ``doc`` whose stations are far off, for calibration to correct: exponential
    process times of mean ``process_mean``, a failure every 600 s and a repair of 60 s on
    average, and 9 kW when busy only."""
    doc = copy.deepcopy(doc)
    doc["name"] = "wrong copy"
    for el in doc["elements"]:
        if el["kind"] == "station":
            el["process_time"] = exp(process_mean)
            el["failures"] = operating_failures(exp(600.0), exp(60.0))
            el["power_kw"] = {"busy": 9.0}
    return doc


def kernel_trace(log: np.ndarray, element_ids: tuple[str, ...]) -> list[tuple]:
    """The state log as ``(time, element, state name or content)`` rows.

    Station rows of server k > 0 name the element ``id[k]``.
    """
    out = []
    for row in log:
        eid = element_ids[row["element"]]
        if row["state"] < 0:
            out.append((float(row["time"]), eid, int(row["content"])))
        else:
            name = eid if row["server"] == 0 else f"{eid}[{row['server']}]"
            out.append((float(row["time"]), name, kt.STATE_NAMES[row["state"]]))
    return out


def end_of_instant(trace: list[tuple], start_state: str = "starved") -> list[tuple]:
    """Keep, per element and instant, the value at the end of the instant, and drop rows
    that repeat the element's previous value (at time 0 stations are ``start_state`` and
    buffers empty). Rows come out sorted by time, then element id.

    Several events at one instant may pass an element through values that last no time;
    whatever order they are taken in, what holds after the instant does not depend on it.
    """
    last_at: dict[tuple[float, str], object] = {}
    for t, e, v in trace:
        last_at[(t, e)] = v
    out, current = [], {}
    for (t, e), v in sorted(last_at.items(), key=lambda kv: kv[0]):
        if current.get(e, 0 if isinstance(v, int) else start_state) != v:
            out.append((t, e, v))
            current[e] = v
    return out


def canonical(rows: list[tuple]) -> list[tuple]:
    """Rows sorted by time, then element id (the order within an instant is no semantics)."""
    return sorted(rows, key=lambda r: (r[0], r[1]))


def per_element(trace: list[tuple]) -> dict[str, list[tuple[float, object]]]:
    out: dict[str, list[tuple[float, object]]] = {}
    for t, e, v in trace:
        out.setdefault(e, []).append((t, v))
    return out


# a bit of everything: random products with setups, scrap, three failure bases, wear,
# maintenance, a two-server station, a split and a merge, a conveyor, a shift calendar
RICH = {"schema_version": 1, "name": "rich", "elements": [
    {"id": "src", "kind": "source", "arrival": exp(1.5), "product_mix": {"A": 0.6, "B": 0.4}},
    {"id": "q", "kind": "buffer", "capacity": 6},
    {"id": "m1", "kind": "station", "process_time": {"A": exp(0.9), "B": 1.2},
     "setup_time": {"dist": "uniform", "low": 0.5, "high": 1.5}, "scrap": 0.03,
     "failures": operating_failures(exp(40.0), exp(3.0)),
     "wear": {"per_operation": 0.01, "failure_gain": 0.5, "scrap_gain": 0.01},
     "maintenance": {"duration": 4.0, "every_operations": 60},
     "power_kw": {"busy": 5.0, "setup": 3.0, "blocked": 1.0, "starved": 0.8, "down": 0.2,
                  "maintenance": 0.5, "off": 0.1}},
    {"id": "m2a", "kind": "station", "process_time": {"dist": "gamma", "mean": 1.8, "sd": 0.6},
     "failures": {"basis": "calendar", "time_to_failure": exp(200.0),
                  "time_to_repair": exp(10.0)},
     "power_kw": {"busy": 2.0, "blocked": 0.5, "starved": 0.5, "down": 0.1},
     "off_shift": "standby"},
    {"id": "m2b", "kind": "station", "servers": 2, "process_time": exp(3.0),
     "failures": {"basis": "operations", "time_to_failure": 25, "time_to_repair": 6},
     "power_kw": {"busy": 4.0, "idle": 1.5, "starved": 1.0, "down": 0.3, "blocked": 1.0}},
    {"id": "b", "kind": "buffer", "capacity": 3},
    {"id": "c", "kind": "conveyor", "length": 3.0, "speed": 1.0, "spacing": 0.75},
    {"id": "m3", "kind": "station", "process_time": {"dist": "triangular", "low": 0.5,
                                                     "mode": 0.8, "high": 1.4},
     "maintenance": {"duration": 20.0, "every_hours": 0.5},
     "power_kw": {"busy": 3.0, "starved": 0.4, "blocked": 0.4, "maintenance": 0.2}},
    {"id": "sink", "kind": "sink"}],
    "connections": [
        ["src", "q"], ["q", "m1"], ["m1", "m2a", 0.5], ["m1", "m2b", 0.5],
        ["m2a", "b"], ["m2b", "b"], ["b", "c"], ["c", "m3"], ["m3", "sink"]],
    "calendar": {"period": 3600, "shifts": [{"start": 0, "end": 3000}],
                 "breaks": [{"start": 1500, "end": 1800}]}}


# six faults in one file (tests/twin/test_project_file.py lists them)
MANY_FAULTS = {"schema_version": 1, "name": "faulty", "elements": [
    {"id": "src", "kind": "source"},
    {"id": "m1", "kind": "station", "process_time": {"dist": "exponential", "mean": -3}},
    {"id": "m1", "kind": "station", "process_time": 3},
    {"id": "w", "kind": "widget"},
    {"id": "m2", "kind": "station", "process_time": {"dist": "poisson", "mean": 3}},
    {"id": "m3", "kind": "station", "process_time": 2},
    {"id": "sink", "kind": "sink"}],
    "connections": [["src", "m1"], ["m1", "m2"], ["m2", "sink"], ["m2", "ghost"],
                    ["src", "m3"]]}
