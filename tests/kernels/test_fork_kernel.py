"""The kernel functions a fork builds its state with (``kernels.fork``).

Oracle: a fresh ``start``. Forked at t = 0 with nothing placed, the state equals the one
``start`` gives, array for array; what is placed is then what the kernel's own moves make
(a FIFO in arrival order, a part that finishes when its work is done, a repair that ends
when scheduled).
"""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from oracles.lines import RICH, serial_line, station

from kernels import fork as kf
from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.sim.lowering import lower, new_state
from twin.sim.workers import pool_results, pool_table

OFF_AT_ZERO = copy.deepcopy(RICH)  # a shift that begins at 600 s: servers start off or idle
OFF_AT_ZERO["calendar"]["shifts"] = [{"start": 600, "end": 3000}]
SCHEDULED = serial_line([station("m1", 2.0)], [], name="scheduled")
SCHEDULED["elements"][0].update(schedule=[[0.0, "A", 2], [50.0, "A", 1]], schedule_period=100.0)


# issue 18: a technician pool that follows the calendar (off at 0 s: the shift begins at 6 h)
CELL = json.loads((Path(__file__).resolve().parents[2] / "projects" / "machining-cell"
                   / "project.json").read_text())
CELL_ON = copy.deepcopy(CELL)  # the same, always working: its technician idles at 0 s
CELL_ON["workers"][0]["follows_calendar"] = False


def _pair(doc, horizon=3600.0):
    low = lower(project_from_json(doc), horizon, 0.0, 60.0)
    return low, new_state(low, 5, 1), new_state(low, 5, 1)


@pytest.mark.parametrize("doc", [RICH, OFF_AT_ZERO, SCHEDULED, CELL, CELL_ON],
                         ids=["rich", "off", "sched", "workers-off", "workers-on"])
def test_a_fork_at_zero_with_nothing_placed_is_start(kernel, doc):
    from kernels.engine import start

    low, want, got = _pair(doc)
    a = low.arrays
    start(a, want)
    kf.fork_clock(a, got, 0.0)
    for e in range(a.el_i.shape[0]):
        kf.fork_fill(a, got, e, 0, 0)
    for srv in range(low.n_servers):
        kf.fork_server(a, got, srv, kt.P_EMPTY, 0, 0.0, 0.0, 0.0, 0)
    start(a, got)
    for name in kt.KernelState._fields:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def test_a_fork_goes_on_with_the_schedule_row_and_shift_in_force(kernel):
    from kernels.engine import start

    low, _, s = _pair(OFF_AT_ZERO, horizon=7200.0)
    # toggles at 600, 1500, 1800, 3000 s, then 4200 s: the second hour's shift is on
    kf.fork_clock(low.arrays, s, 4300.0)
    assert s.si[kt.S_WORKING] == 1 and s.si[kt.S_CAL_K] == 5 and s.si[kt.S_SAMPLE_K] == 72
    assert (s.srv_i[:, kt.SI_OFF] == 0).all() and (s.srv_i[:, kt.SI_STATE] == kt.STARVED).all()
    low, _, s = _pair(SCHEDULED)
    src = low.element_ids.index("src")
    kf.fork_clock(low.arrays, s, 230.0)  # third period, after its row at 0 s
    assert (s.el_si[src, kt.EI_SCHED_CYCLE], s.el_si[src, kt.EI_SCHED_K]) == (2, 1)
    start(low.arrays, s)
    assert s.heap_t[:s.si[kt.S_HEAP_N]].min() == 250.0


def test_parts_placed_in_a_fifo_leave_it_in_order(kernel):
    from kernels.engine import run_until, start

    low, _, s = _pair(RICH)
    a = low.arrays
    q, c = low.element_ids.index("q"), low.element_ids.index("c")
    kf.fork_clock(a, s, 100.0)
    kf.fork_fill(a, s, q, 4, 1)
    kf.fork_fill(a, s, c, 3, 0)
    chain, p = [], s.el_si[q, kt.EI_HEAD]
    while p >= 0:
        chain.append(p)
        p = s.part_i[p, kt.PI_NEXT]
    assert chain == [0, 1, 2, 3] and s.el_si[q, kt.EI_TAIL] == 3
    assert (s.part_i[chain, kt.PI_PROD] == 1).all() and (s.part_f[chain, kt.PF_READY] == 100).all()
    assert s.el_si[q, kt.EI_COUNT] == 4 and s.el_out[q, kt.O_CONTENT_MAX] == 4
    assert s.si[kt.S_WIP] == 7 and s.line_out[kt.L_CREATED] == 0  # there before the fork
    # a 3 s belt, parts 0.75 s apart: at its end, 1 s and 2 s behind, each with its event
    np.testing.assert_array_equal(s.part_f[[4, 5, 6], kt.PF_READY], [100.0, 101.0, 102.0])
    assert s.si[kt.S_HEAP_N] == 3 and s.el_sf[c, kt.EF_LAST_ENTRY] == 99.0
    start(a, s)
    run_until(a, s, 100.0 + 1e-9)
    assert s.el_out[q, kt.O_OUT] >= 1 and s.el_out[c, kt.O_OUT] == 1


def test_a_part_in_process_finishes_when_its_work_is_done(kernel):
    from kernels.engine import run_until, start

    low, _, s = _pair(serial_line([station("m1", 10.0), station("m2", 10.0)], [0]))
    a = low.arrays
    m1, m2 = low.element_ids.index("m1"), low.element_ids.index("m2")
    kf.fork_clock(a, s, 100.0)
    kf.fork_server(a, s, 0, kt.P_PROCESS, 0, 4.0, 10.0, 0.0, 0)
    kf.fork_server(a, s, 1, kt.P_EMPTY, 0, 0.0, 0.0, 0.0, 1)
    assert (s.srv_i[0, kt.SI_STATE], s.srv_i[1, kt.SI_STATE]) == (kt.BUSY, kt.DOWN)
    start(a, s)
    kf.fork_resume(a, s, 0, 0.0)
    kf.fork_repair(a, s, 1, 7.0)
    run_until(a, s, 103.999)
    assert s.el_out[m1, kt.O_OUT] == 0 and s.srv_i[1, kt.SI_DOWN] == 1
    run_until(a, s, 104.0)
    # m1 finished its part and holds it: m2 is down
    assert s.srv_i[0, kt.SI_PHASE] == kt.P_DONE and s.srv_i[0, kt.SI_STATE] == kt.BLOCKED
    run_until(a, s, 106.999)
    assert s.srv_i[1, kt.SI_DOWN] == 1 and s.el_out[m1, kt.O_OUT] == 0
    run_until(a, s, 107.0)
    assert s.srv_i[1, kt.SI_DOWN] == 0 and s.el_out[m1, kt.O_OUT] == s.el_out[m2, kt.O_IN] == 1
    assert s.srv_i[1, kt.SI_STATE] == kt.BUSY


def test_a_repair_under_way_keeps_its_technician_and_frees_it_at_its_end(kernel):
    """machining-cell, forked at 7 h (in the shift): lathe server 1 down with 100 s of repair
    left. The one technician is busy there from the fork, at the lathes, and free (idle) at
    the repair's end; a second failed lathe finds nobody free and waits for it."""
    from kernels.engine import run_until, start
    from kernels.workers import fork_repair_waits, fork_task

    low, _, s = _pair(CELL_ON, horizon=30000.0)
    a = low.arrays
    t = 7 * 3600.0
    lathes = low.element_ids.index("lathes")
    s0 = int(a.el_i[lathes, kt.I_SERVER0])
    kf.fork_clock(a, s, t)
    n_w = int(pool_table(a)[:, kt.WK_COUNT].sum())  # wkr: the workers, then the pools' results
    assert (s.wkr[:n_w, kt.WR_STATE] == kt.WS_IDLE).all()
    assert s.wkr[0, kt.WR_AT] == low.element_ids.index("b_turned")
    kf.fork_server(a, s, s0 + 1, kt.P_EMPTY, 0, 0.0, 0.0, 0.0, 1)
    kf.fork_server(a, s, s0 + 2, kt.P_EMPTY, 0, 0.0, 0.0, 0.0, 1)
    assert fork_task(a, s, s0 + 1, kt.W_REPAIR)
    assert not fork_task(a, s, s0 + 2, kt.W_REPAIR)
    assert s.srv_i[s0 + 1, kt.SI_DOWN] == 1 and s.srv_i[s0 + 2, kt.SI_DOWN] == 2
    assert s.wkr[0, kt.WR_STATE] == kt.WS_BUSY and s.wkr[0, kt.WR_AT] == lathes
    assert s.wkr[0, kt.WR_SRV] == s0 + 1 and s.srv_i[s0 + 1, kt.SI_WORKER0 + kt.W_REPAIR] == 0
    start(a, s)
    fork_repair_waits(a, s, s0 + 2)
    kf.fork_repair(a, s, s0 + 1, 100.0)
    assert s.srv_i[s0 + 2, kt.SI_STATE] == kt.WAITING_FOR_WORKER
    run_until(a, s, t + 99.0)
    assert s.wkr[0, kt.WR_STATE] == kt.WS_BUSY and s.srv_i[s0 + 1, kt.SI_DOWN] == 1
    run_until(a, s, t + 100.0 + 1e-9)
    # repaired at t + 100 s: the technician takes the waiting repair next door (no walk:
    # same element), so it is busy again, on server 2, whose repair has begun
    assert s.srv_i[s0 + 1, kt.SI_DOWN] == 0
    assert s.wkr[0, kt.WR_SRV] == s0 + 2 and s.srv_i[s0 + 2, kt.SI_DOWN] == 1
    out = pool_results(a, s)
    assert out[0, kt.WO_TASKS] == 1.0 and out[0, kt.WO_WAIT_SUM] == pytest.approx(100.0)
