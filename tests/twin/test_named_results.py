"""Named results: the names of what the kernel codes are defined once (``kernels.types``), and
a replication's time series and state times are read through accessors that mean something.

The oracle of each accessor is what it means, taken from another output of the same run: the
good parts at the last sample are what the sink took in, the work in process is the parts
inside the elements between source and sink, the power is the busy kW times the parts in work.
"""

import numpy as np
from oracles.lines import exp, serial_line, station

from kernels import types as kt
from twin.model import elements as m
from twin.projectfile.reader import project_from_json
from twin.recording import snapshot
from twin.sim import runner
from twin.sim.lowering import lower
from twin.sim.summary import replication_kpis


def test_each_list_of_names_is_the_kernels():
    assert m.STATION_STATES is kt.STATE_NAMES
    assert m.ROUTINGS is kt.ROUTING_NAMES
    assert kt.FAILURE_BASIS_NAMES[kt.FB_OPERATING:] == m.FAILURE_BASES
    assert snapshot.BASES == m.FAILURE_BASES
    # the names sit at their codes
    assert (kt.STATE_NAMES[kt.BUSY], kt.STATE_NAMES[kt.MAINTENANCE]) == ("busy", "maintenance")
    assert kt.ROUTING_NAMES[kt.R_SHORTEST_QUEUE] == "shortest_queue"
    assert kt.FAILURE_BASIS_NAMES[kt.FB_OPERATIONS] == "operations"


def test_routing_and_basis_are_lowered_to_their_codes():
    doc = serial_line([station("m1", 30.0, failures={
        "basis": "calendar", "time_to_failure": exp(900.0), "time_to_repair": exp(60.0)}),
        station("m2", 30.0)], [3])
    doc["elements"][0]["routing"] = "round_robin"
    low = lower(project_from_json(doc), 3600.0, 0.0, 0.0)
    e = low.element_ids.index("m1")
    assert low.arrays.el_i[e, kt.I_FAIL_BASIS] == kt.FB_CALENDAR
    assert low.arrays.el_i[low.element_ids.index("src"), kt.I_ROUTING] == kt.R_ROUND_ROBIN


def test_a_station_skips_the_wear_and_scrap_bookkeeping_only_when_it_has_neither():
    """``I_WEARS`` (kernels/flow.py finish_phase): 0 only when the wear could not change
    and the scrap probability would be 0, whatever wear a fork starts it with."""
    stations = [station("plain", 30.0), station("scraps", 30.0, scrap=0.01),
                station("wears_op", 30.0, wear={"per_operation": 1e-4}),
                station("wears_busy", 30.0, wear={"per_busy_hour": 0.01}),
                station("wear_scraps", 30.0, wear={"scrap_gain": 0.5}),
                station("wear_fails", 30.0, wear={"failure_gain": 2.0})]
    low = lower(project_from_json(serial_line(stations, [3] * 5)), 3600.0, 0.0, 0.0)
    wears = {sid: int(low.arrays.el_i[low.element_ids.index(sid), kt.I_WEARS])
             for sid in ("plain", "scraps", "wears_op", "wears_busy", "wear_scraps",
                         "wear_fails")}
    assert wears == {"plain": 0, "scraps": 1, "wears_op": 1, "wears_busy": 1,
                     "wear_scraps": 1, "wear_fails": 0}


def test_accessors_read_what_they_name(kernel):
    doc = serial_line([station("m1", exp(40.0), power_kw={"busy": 10.0}),
                       station("m2", exp(45.0), power_kw={"busy": 10.0})], [None])
    doc["elements"][0]["arrival"] = exp(50.0)
    project = project_from_json(doc)
    low = lower(project, 2 * 86400.0, 0.0, 600.0)
    rep = runner.run_replication(low, 11, 0)
    ids = low.element_ids
    sink, src = ids.index("sink"), ids.index("src")
    assert low.arrays.ts_t[-1] == low.horizon
    assert rep.good_parts()[-1] == rep.el_out[sink, kt.O_IN] > 0
    inside = [e for e in range(len(ids)) if e not in (sink, src)]
    np.testing.assert_array_equal(rep.wip(), rep.ts_content[:, inside].sum(axis=1)
                                  + rep.ts_content[:, src])
    stations = [ids.index("m1"), ids.index("m2")]
    # neither station ever blocks (an unlimited buffer, then the sink): a part inside is busy
    np.testing.assert_array_equal(rep.power_kw(), 10.0 * rep.ts_content[:, stations].sum(axis=1))
    kpi = replication_kpis(runner.ScenarioResult("base", low, project, [rep]), rep)
    for e in stations:
        fr = [rep.state_fraction(e, s) for s in range(kt.N_STATES)]
        assert abs(sum(fr) - 1.0) < 1e-12  # rounding of a sum of eight shares
        for s, name in enumerate(kt.STATE_NAMES):
            assert kpi[f"elements.{ids[e]}.state_fraction.{name}"] == fr[s]
            assert rep.state_seconds(e, s) == rep.st_time[e, s]
    assert np.isnan(rep.state_fraction(sink, kt.BUSY))

