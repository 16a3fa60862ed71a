"""Every example in ``projects/`` loads, checks, and runs briefly, every scenario included.

The examples are what a user opens on day one, so they are held to what they teach: a
description, a layout whose footprints do not overlap, power in every state of every
station, two to four scenarios, run defaults, and the bottleneck where the description says
it is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.cli import main as cli_main
from twin.model import elements as m
from twin.projectfile.reader import load_project
from twin.sim.runner import RunSpec, run_project

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = sorted(p.parent for p in (ROOT / "projects").glob("*/project.json"))
# a day covers the first shift of the calendar projects (time 0 is midnight)
HORIZON = 86400.0
BOTTLENECK = {"bottling-line": "filler", "machining-cell": "lathes",
              "assembly-line": "test_bench", "standard-line": "s5", "heat-treatment": "grinding",
              "basket-hardening": "grinding"}


def raw(folder: Path) -> dict:
    return json.loads((folder / "project.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=PROJECTS, ids=lambda p: p.name)
def ran(request, kernel):
    """One short run of every scenario of a project: (folder, project, summary)."""
    folder = request.param
    project = load_project(folder)
    names = ["base", *(s.name for s in project.scenarios)]
    spec = RunSpec(horizon=HORIZON, warmup=0.0, replications=2, seed=1)
    return folder, project, run_project(project, names, spec).summary()


def test_the_four_examples_exist():
    assert set(BOTTLENECK) <= {p.name for p in PROJECTS}


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_twinbench_check_accepts_it(folder, capsys):
    assert cli_main(["check", str(folder)]) == 0
    assert ": OK (" in capsys.readouterr().out


def test_every_scenario_runs_with_positive_throughput(ran):
    folder, project, summary = ran
    assert set(summary) == {"base", *(s.name for s in project.scenarios)}
    for name, doc in summary.items():
        assert doc["replications"] == 2
        thr = doc["line"]["throughput_per_hour"]["mean"]
        assert math.isfinite(thr) and thr > 0, (folder.name, name, thr)
        assert doc["line"]["good_parts"]["mean"] > 0


def test_the_bottleneck_is_where_the_description_puts_it(ran):
    folder, _, summary = ran
    assert summary["base"]["bottleneck"] == BOTTLENECK[folder.name]


def test_state_fractions_partition_station_time(ran):
    _, _, summary = ran
    for doc in summary.values():
        for el in doc["elements"].values():
            if el["kind"] == "station":
                total = sum(v["mean"] for v in el["state_fraction"].values())
                assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_it_is_a_complete_example(folder):
    doc = raw(folder)
    project = load_project(folder)
    assert doc.get("schema_version") == 1
    assert len(project.description) > 200, "say what the line is and what to ask of it"
    assert 2 <= len(project.scenarios) <= 4
    for s in project.scenarios:
        assert s.description and s.overrides, s.name
    assert {"horizon", "warmup", "replications", "seed"} <= set(doc["run"])
    for st in project.stations():
        # a station whose tasks need no worker never waits for one (issue 18)
        states = set(m.STATION_STATES) - ({"waiting_for_worker"} if st.workers is None else set())
        # nor one without an energy-saving policy on standby, off or warming up (issue 19)
        if st.energy_saving is None:
            states -= {"standby", "switched_off", "warming_up"}
        assert set(st.power_kw) == states, st.id
    for el in doc["elements"]:
        assert "position" in el and "footprint" in el, el["id"]


def _corners(el: m.Element) -> np.ndarray:
    w, d = el.footprint
    a = math.radians(el.rotation)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    box = np.array([[-w, -d], [w, -d], [w, d], [-w, d]]) / 2.0
    return box @ rot.T + np.array(el.position[:2])


def _overlap(p: np.ndarray, q: np.ndarray, tol: float = 1e-6) -> bool:
    """Separating-axis test of two convex polygons (touching edges do not overlap)."""
    for poly in (p, q):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            a, b = p @ axis, q @ axis
            if a.max() <= b.min() + tol or b.max() <= a.min() + tol:
                return False
    return True


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_footprints_do_not_overlap(folder):
    els = load_project(folder).elements
    boxes = [_corners(el) for el in els]
    clashes = [(els[i].id, els[j].id) for i in range(len(els)) for j in range(i + 1, len(els))
               if _overlap(boxes[i], boxes[j])]
    assert clashes == []


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_conveyors_take_their_length_from_the_layout(folder):
    project = load_project(folder)
    for el in project.elements:
        if isinstance(el, m.Conveyor):
            assert el.length is None, f"{el.id}: let the layout set the length"
            assert project.conveyor_length(el) > 1.0


def test_assembly_line_is_driven_by_its_order_list(kernel):
    # issue 18 §5: housings are released by its order list (earliest due date
    # first); its scenarios change the orders (more-p300) or add a rush order
    folder = ROOT / "projects" / "assembly-line"
    project = load_project(folder)
    kits = project.element("kits_a")
    assert kits.orders_file == "" and kits.sequencing == "edd"  # inline: Save As keeps them
    assert len(kits.orders) == 12 and {o.product for o in kits.orders} == {"P100", "P200", "P300"}
    spec = RunSpec(horizon=HORIZON, warmup=3600.0, replications=4, seed=1)
    summary = run_project(project, ["base", "more-p300", "rush-order"], spec).summary()
    base, more, rush = summary["base"]["orders"], summary["more-p300"]["orders"], \
        summary["rush-order"]["orders"]
    assert len(base) == 12 and len(more) == 12 and set(rush) == set(base) | {"SO-1013"}
    for doc in (base, more, rush):  # every order is shipped within the day
        assert all(o["completed"] == 4 for o in doc.values())
        risks = [(o["p_late"], o["mean_tardiness_s"]) for o in doc.values()]
        assert risks == sorted(risks, reverse=True)  # the riskiest first
    # the first orders are on time in every replication; the day's later ones are at risk
    assert base["SO-1001"]["p_on_time"] == 1.0 and base["SO-1001"]["completion_p90_s"] < 3 * 3600
    assert max(o["p_late"] for o in base.values()) > 0
    # twice the large pumps: more quantity (P300 x2, P100 x2/3), the P300 orders the riskiest
    assert more["SO-1003"]["quantity"] == 2 * base["SO-1003"]["quantity"] == 100
    assert more["SO-1001"]["quantity"] == 87
    assert more[next(iter(more))]["product"] == "P300"
    assert sum(o["mean_tardiness_s"] for o in more.values()) > sum(
        o["mean_tardiness_s"] for o in base.values())
    # the rush order goes first by its due date, and the others wait longer for it
    assert rush["SO-1013"]["quantity"] == 40 and rush["SO-1013"]["due_s"] == 13 * 3600
    assert sum(o["mean_tardiness_s"] for k, o in rush.items() if k != "SO-1013") > sum(
        o["mean_tardiness_s"] for o in base.values())
