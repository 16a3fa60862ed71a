"""Values derived from the model, shown read-only beside the fields that make them: a
conveyor's length, transport time and capacity from the layout; a station's efficiency
``MTTF / (MTTF + MTTR)`` and its isolated rate (issue 14 §2)."""

from __future__ import annotations

from twin.model import elements as m
from twin.model.distributions import Distribution


def efficiency(st: m.Station) -> float:
    """The fraction of time a station is up: MTTF / (MTTF + MTTR), 1 without failures.

    With the ``operations`` basis the time to failure counts operations; the mean time
    between failures is then that count times the mean process time.
    """
    f = st.failures
    if f is None:
        return 1.0
    mttf, mttr = f.time_to_failure.mean, f.time_to_repair.mean
    if f.basis == "operations":
        mttf *= mean_process_time(st) or 0.0
    return mttf / (mttf + mttr) if mttf + mttr > 0 else 0.0


def mean_process_time(st: m.Station) -> float | None:
    """The mean process time (s); per product, the plain average over the products given."""
    pt = st.process_time
    if pt is None:
        return None
    if isinstance(pt, Distribution):
        return pt.mean
    means = [d.mean for d in pt.values()]
    return sum(means) / len(means) if means else None


def isolated_rate(st: m.Station) -> float | None:
    """Parts per hour the station makes alone, never starved nor blocked: servers / mean
    process time x efficiency (setups, scrap and maintenance left out). A batch station's
    process time is per load: it makes ``size`` parts per process time, in full loads."""
    mpt = mean_process_time(st)
    if not mpt:
        return None
    per_load = st.batch.size if st.batch is not None else 1
    return 3600.0 * st.servers * per_load / mpt * efficiency(st)


def conveyor_values(project: m.Project, cv: m.Conveyor) -> tuple[float, float, int]:
    """Length (m), transport time (s) and capacity (parts) of a conveyor on the layout."""
    length = project.conveyor_length(cv)
    return length, length / cv.speed, max(1, int(length / cv.spacing + 1e-9))  # as lowered


def summary(project: m.Project | None, el: m.Element | None) -> str:
    """The derived values of ``el`` as lines of text, empty when it has none."""
    if isinstance(el, m.Station):
        eff = efficiency(el)
        rate = isolated_rate(el)
        lines = [f"efficiency MTTF/(MTTF+MTTR): {eff:.1%}"]
        full = f" in full loads of {el.batch.size}" if el.batch is not None else ""
        lines.append("isolated rate: " + (f"{rate:.4g} parts/h{full}" if rate is not None
                                          else "no process time"))
        return "\n".join(lines)
    if isinstance(el, m.Conveyor) and project is not None and el.id in project:
        length, travel, cap = conveyor_values(project, el)
        src = "set" if el.length is not None else "from the layout"
        return (f"length: {length:.3g} m ({src})\ntransport time: {travel:.4g} s\n"
                f"capacity: {cap} parts")
    return ""
