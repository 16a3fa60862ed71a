"""Orders (issue 18 §4): an order source's sequencing rules as exact traces, P(on time)
against the Erlang closed form, file errors and the round trip (docs/orders.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernels import types as kt
from twin.errors import ProjectError
from twin.projectfile.reader import load_project, project_from_json
from twin.projectfile.writer import project_to_json, save_project
from twin.sim.orders import completion_times, order_summary, project_orders, wilson


def line(orders, sequencing="fifo", process=1, setup=None) -> dict:
    """An order source feeding one station (``process`` s a part) and a sink."""
    st = {"id": "m", "kind": "station", "process_time": process}
    if setup is not None:
        st["setup_time"] = setup
    src = {"id": "src", "kind": "source", "orders": orders}
    if sequencing != "fifo":
        src["sequencing"] = sequencing
    return {"schema_version": 1, "name": "orders", "elements": [
        src, st, {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m"], ["m", "sink"]]}


def order(oid, qty, release, due, product="part", priority=None) -> dict:
    o = {"id": oid, "product": product, "quantity": qty, "release": release, "due": due}
    if priority is not None:
        o["priority"] = priority
    return o


# W (1 part, released at 0) keeps the station busy until t=1; A, B, C are released at 0.5,
# so at t=1 all three wait and the rule alone decides who goes first (1 s a part).
ABC = [order("W", 1, 0, 1), order("A", 3, 0.5, 3, priority=0),
       order("B", 1, 0.5, 9, priority=1), order("C", 2, 0.5, 6, priority=5)]


def completions(run_doc, doc, horizon=30.0) -> dict[str, float]:
    sr = run_doc(doc, horizon, replications=1)
    rows = np.arange(sr.replications[0].ord_out.shape[0])
    t = completion_times(sr.replications[0].ord_out, rows)
    return {o.id: float(t[j]) for j, (_, o) in enumerate(project_orders(sr.project))}


@pytest.mark.parametrize("rule, expected", [
    # fifo: by release, ties in the file's order: A at 1-4, B 4-5, C 5-7
    ("fifo", {"W": 1, "A": 4, "B": 5, "C": 7}),
    # edd: A (due 3) 1-4, C (due 6) 4-6, B (due 9) 6-7
    ("edd", {"W": 1, "A": 4, "C": 6, "B": 7}),
    # spt: B (1 part, 1 s) 1-2, C (2 s) 2-4, A (3 s) 4-7
    ("spt", {"W": 1, "B": 2, "C": 4, "A": 7}),
    # priority: C (5) 1-3, B (1) 3-4, A (0) 4-7
    ("priority", {"W": 1, "C": 3, "B": 4, "A": 7}),
])
def test_sequencing_rules_exact_completions(run_doc, rule, expected):
    assert completions(run_doc, line(ABC, rule)) == expected


def test_orders_released_at_one_time_are_sequenced_together(run_doc):
    # all three at 0, the station free: the rule picks among all of them from the first
    # part on (fifo: the file's order; edd: A due 3, C due 6, B due 9)
    together = [{**o, "release": 0} for o in ABC[1:]]
    assert completions(run_doc, line(together, "fifo")) == {"A": 3, "B": 4, "C": 6}
    assert completions(run_doc, line(together, "edd")) == {"A": 3, "C": 5, "B": 6}
    assert completions(run_doc, line(together, "spt")) == {"B": 1, "C": 3, "A": 6}


# W (product y) leaves the station set up for y; a change of product costs 2 s.
SETUP_ORDERS = [order("W", 1, 0, 1, "y"), order("A", 2, 0.5, 9, "x"),
                order("B", 1, 0.5, 9, "y"), order("C", 1, 0.5, 9, "x")]
# fifo: A: setup 1-3, parts 3-4, 4-5; B: setup 5-7, 7-8; C: setup 8-10, 10-11
SETUP_FIFO = {"W": 1, "A": 5, "B": 8, "C": 11}
# setup: B (y) first, no setup: 1-2; A: setup 2-4, 4-5, 5-6; C (x, set up): 6-7
SETUP_RULE = {"W": 1, "B": 2, "A": 6, "C": 7}


def test_setup_rule_prefers_the_product_the_station_is_set_up_for(run_doc):
    assert completions(run_doc, line(SETUP_ORDERS, "fifo", setup=2)) == SETUP_FIFO
    assert completions(run_doc, line(SETUP_ORDERS, "setup", setup=2)) == SETUP_RULE


def test_order_source_releases_at_release_time_and_parts_carry_their_order(run_doc):
    # two orders released later than the station could take them: each waits for its time
    doc = line([order("A", 2, 5, 100), order("B", 1, 20, 100)])
    assert completions(run_doc, doc) == {"A": 7, "B": 21}
    sr = run_doc(doc, 30.0, replications=1)
    out = sr.replications[0].ord_out
    assert out[:, kt.OS_GOOD].tolist() == [2, 1] and out[:, kt.OS_LEFT].tolist() == [0, 0]


def test_unfinished_order_is_late_with_censored_tardiness(run_doc):
    sr = run_doc(line([order("A", 10, 0, 4)]), 6.0, replications=2, seed=3)
    done = np.array([completion_times(r.ord_out, np.arange(1)) for r in sr.replications])
    s = order_summary(project_orders(sr.project), done, 6.0)["A"]
    assert s["completed"] == 0 and s["p_on_time"] == 0.0 and s["mean_tardiness_s"] == 2.0


def erlang_cdf(q: int, mu: float, t: float) -> float:
    return 1.0 - sum(math.exp(-mu * t) * (mu * t) ** k / math.factorial(k) for k in range(q))


def test_p_on_time_of_one_order_at_one_exponential_server_is_erlang(run_doc):
    # q parts released at 0 to one exponential server (mean 1 s): the order completes at
    # the sum of q exponential times, Erlang(q, 1); P(on time) is its CDF at the due date
    q, due, n = 5, 5.0, 400
    doc = line([order("A", q, 0, due)], process={"dist": "exponential", "mean": 1})
    sr = run_doc(doc, 200.0, replications=n, seed=11)
    done = np.array([completion_times(r.ord_out, np.arange(1)) for r in sr.replications])
    s = order_summary(project_orders(sr.project), done, 200.0)["A"]
    assert s["completed"] == n
    lo, hi = s["p_on_time_ci95"]
    assert lo <= erlang_cdf(q, 1.0, due) <= hi
    # the mean completion time is q/mu = 5 s: within 1.96 standard errors (sd sqrt(q))
    assert abs(s["completion_mean_s"] - q) < 1.96 * math.sqrt(q / n)


def test_wilson_interval():
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_orders_round_trip_inline_and_csv(tmp_path):
    doc = line(ABC, "edd")
    p = project_from_json(doc)
    again = project_to_json(p)
    assert again["elements"][0]["orders"] == [
        {**o, "release": float(o["release"]), "due": float(o["due"]),
         **({"priority": float(o["priority"])} if o.get("priority") else {})}
        for o in [{k: v for k, v in x.items() if k != "priority" or v} for x in ABC]]
    assert again["elements"][0]["sequencing"] == "edd"
    (tmp_path / "orders.csv").write_text(
        "id,product,quantity,release,due,priority\nA,part,3,0,1h,2\nB,part,1,10,7200,\n")
    doc["elements"][0]["orders"] = "orders.csv"
    (tmp_path / "project.json").write_text(__import__("json").dumps(doc))
    p = load_project(tmp_path / "project.json")
    src = p.elements[0]
    assert [(o.id, o.quantity, o.release, o.due, o.priority) for o in src.orders] == [
        ("A", 3, 0.0, 3600.0, 2.0), ("B", 1, 10.0, 7200.0, 0.0)]
    save_project(p, tmp_path / "again.json")
    assert __import__("json").loads((tmp_path / "again.json").read_text())[
        "elements"][0]["orders"] == "orders.csv"


@pytest.mark.parametrize("orders, path, words", [
    ([order("A", 0, 0, 5)], "$.elements[0].orders[0].quantity", ">= 1"),
    ([order("A", 1, 5, 2)], "$.elements[0].orders[0].due", "before the order's release"),
    ([order("A", 1, 0, 5), order("A", 1, 0, 5)], "$.elements[0].orders[1].id", "duplicate"),
    ([{"id": "A", "product": "p", "quantity": 1, "release": 0}],
     "$.elements[0].orders[0].due", "needs a due"),
    ([], "$.elements[0].orders", "non-empty list"),
    ("missing.csv", "$.elements[0].orders", "cannot read the orders file"),
])
def test_bad_orders_name_the_json_path(tmp_path, orders, path, words):
    doc = line(orders)
    (tmp_path / "project.json").write_text(__import__("json").dumps(doc))
    with pytest.raises(ProjectError) as e:
        load_project(tmp_path / "project.json")
    assert any(p.path == path and words in p.message for p in e.value.problems), [
        (p.path, p.message) for p in e.value.problems]


def test_an_order_source_has_no_arrival():
    doc = line(ABC)
    doc["elements"][0]["arrival"] = 10
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    assert any(p.path == "$.elements[0].orders" and "remove its 'arrival'" in p.message
               for p in e.value.problems)


def test_bad_sequencing_rule_is_refused():
    with pytest.raises(ProjectError) as e:
        project_from_json(line(ABC, "lifo"))
    assert any(p.path == "$.elements[0].sequencing" for p in e.value.problems)


def test_summary_json_table_and_results_file_sorted_by_risk(run_doc, tmp_path):
    import h5py

    from app.cli.run import orders_table
    from twin.sim.resultsfile import write_results
    from twin.sim.runner import RunSpec, run_project
    from twin.sim.summary import summarize

    # deterministic, fifo: A done 4 (due 3: late by 1), B 5 (due 9), C 7 (due 6: late by 1)
    sr = run_doc(line(ABC), 30.0, replications=2)
    doc = summarize(sr)["orders"]
    assert list(doc)[:2] in (["A", "C"], ["C", "A"]) and set(list(doc)[2:]) == {"W", "B"}
    assert doc["A"]["p_late"] == 1.0 and doc["A"]["mean_tardiness_s"] == 1.0
    assert doc["B"]["p_on_time"] == 1.0 and doc["B"]["completion_p50_s"] == 5.0
    table = orders_table(doc).splitlines()
    assert table[2].split()[0] in ("A", "C") and "1.000" in table[-1]
    result = run_project(project_from_json(line(ABC)), ["base"],
                         RunSpec(horizon=30.0, replications=2))
    path = write_results(result, tmp_path / "r.h5")
    with h5py.File(path) as f:
        d = f["scenarios/base/orders/completion_s"]
        assert [x.decode() if isinstance(x, bytes) else x for x in d.attrs["order_ids"]] == [
            "W", "A", "B", "C"]
        assert d[()].tolist() == [[1, 4, 5, 7], [1, 4, 5, 7]]


def test_an_order_source_has_no_product_mix():
    # its orders name the products: a mix would be ignored, so it is refused
    doc = line(ABC)
    doc["elements"][0]["product_mix"] = {"part": 1.0}
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    assert any(p.path == "$.elements[0].product_mix" and "remove 'product_mix'" in p.message
               for p in e.value.problems)


def test_fork_from_a_recording_of_an_order_source(kernel, tmp_path):
    # A (3 parts at 0) and B (2 at 10), 1 s a part. Forked at 1.5: the recorded level of
    # the source (A's third part) is placed there, the station's part has 0.5 s left; A's
    # last part runs 2-3 and B (released after the fork, at its time) 10-12: 4 good parts
    from twin.recording import Recording
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.fork import fork_from_recording
    from twin.whatif.simulated import write_run_as_recording

    project = project_from_json(line([order("A", 3, 0, 5), order("B", 2, 10, 20)]))
    res = run_project(project, spec=RunSpec(horizon=20.0, replications=1, seed=1, log=True))
    path = tmp_path / "rec.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=1)
    with Recording.open(path) as rec:
        fr = fork_from_recording(project, rec, 1.5, 20.0, replications=3)
    assert fr.wip == {"src": 1}
    assert fr.outputs.tolist() == [4.0, 4.0, 4.0]
    at = {float(t): float(g) for t, g in zip(fr.times, fr.output_q["p50"], strict=True)}
    assert at[20.0] == 4.0 and all(g == 2.0 for t, g in at.items() if 3.0 <= t < 11.0)
