"""Workers drawn walking in playback (issue 18 §5): moving the playback slider places each
worker's figure at its station, or on its walk between two, coloured by what it does."""

import pytest

from app.worker_figures import FRONT, WORKER_COLORS
from tests.twin.test_walks import two_manual_stations
from twin.projectfile.reader import project_from_json

pytestmark = pytest.mark.gui


def test_playback_draws_the_operator_walking_between_its_stations(make_window, qtbot,
                                                                  warm_kernel):
    doc = two_manual_stations()
    doc["run"] = {"horizon": 40, "warmup": 0, "replications": 1, "seed": 1}
    w = make_window(project_from_json(doc))
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000):
        assert w.run_panel.start_run()
    assert w.playback is not None and w.playback.walks is not None
    figures = w.view.workers
    # the operator works at M1 (x=0) 0-10, walks to M2 (x=6, 1 m/s) 10-16, works there
    # 16-26, then idles there; the slider moves in steps of 40 s / 1000
    for t, x, state in ((5.0, 0.0, "busy"), (13.0, 3.0, "walking"), (14.0, 4.0, "walking"),
                        (20.0, 6.0, "busy"), (30.0, 6.0, "idle")):
        w.dashboards.slider.setValue(round(t / 40.0 * 1000))
        pos = figures.positions()
        assert list(pos) == ["ops 1"]
        assert pos["ops 1"] == pytest.approx((x, FRONT, 0.0)), t
        assert figures.colors()["ops 1"] == pytest.approx(WORKER_COLORS[state]), t
    # a new project: no figures left over
    w._set_project(project_from_json(two_manual_stations(home=None)), None)
    assert figures.positions() == {}
