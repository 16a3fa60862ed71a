"""A problem's source is named once: a file on each line (``file: $.path: …``, for an editor
to jump to), a source that is no file ("the run settings", a project's name) in the head
alone; "1 problem in the run settings: - the run settings: warmup: …" named it twice."""

import pytest

from twin.errors import ProjectError
from twin.model import elements as m
from twin.model.distributions import constant
from twin.sim.lowering import lower
from twin.sim.runner import RunSpec


def test_run_settings_are_named_once_with_the_field_and_its_fix():
    with pytest.raises(ProjectError) as exc:
        RunSpec(horizon=10.0, warmup=20.0).check()
    # one problem: one line (the status bar shows a message's first line)
    assert str(exc.value) == ("the run settings: warmup: must be >= 0 and shorter than the "
                              "horizon (10 s) (found 20 s)")
    with pytest.raises(ProjectError) as exc:
        RunSpec(horizon=10.0, warmup=20.0, replications=0).check()
    assert str(exc.value).splitlines() == [
        "2 problems in the run settings:",
        "  - warmup: must be >= 0 and shorter than the horizon (10 s) (found 20 s)",
        "  - replications: must be a whole number from 1 to 10,000 (found 0)"]


def test_the_lowerings_run_settings_are_named_once_too():
    p = m.Project("plant", elements=[m.Source("src", arrival=constant(1.0))])
    with pytest.raises(ProjectError) as exc:
        lower(p, horizon=10.0, warmup=20.0)
    assert str(exc.value).startswith("the run settings: warmup: must be >= 0")
    assert str(exc.value).count("the run settings") == 1
