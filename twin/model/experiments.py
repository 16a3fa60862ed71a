"""Experiments of a project (issue 17): factors over its parameters, a design, responses.

Plain frozen dataclasses, carried on ``Project.experiments`` and read and written by
``twin.projectfile.experiments``; ``twin.experiments`` runs them. A factor addresses a
parameter as a scenario's override does (``element`` + dotted ``path``, or a ``tariff.``
path without an element: the PV and the battery), so a design point is a scenario made of
one override per factor.
"""

from __future__ import annotations

from dataclasses import dataclass

DESIGNS = ("full_factorial", "latin_hypercube", "sobol")
#: Responses made from the KPIs and the experiment itself, beside the KPIs a run reports.
DERIVED_RESPONSES = ("cost", "profit", "budget")


@dataclass(frozen=True)
class Factor:
    """One parameter varied: a range ``low``..``high`` or explicit ``levels``.

    ``cost_per_unit`` prices each unit of the value (a buffer place, a machine): the factor
    adds ``cost_per_unit * value`` to the ``cost`` and ``budget`` responses.
    """

    element: str | None  # None: ``path`` is of the energy context (``tariff.battery...``)
    path: str
    low: float | None = None
    high: float | None = None
    levels: tuple[float, ...] | None = None
    integer: bool = False
    cost_per_unit: float = 0.0

    @property
    def name(self) -> str:
        """``element.path`` (``path`` alone for a ``tariff.`` factor): the factor's column
        in designs, study files and tables."""
        return self.path if self.element is None else f"{self.element}.{self.path}"

    @property
    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value the factor takes."""
        if self.levels:
            return min(self.levels), max(self.levels)
        return float(self.low), float(self.high)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Objective:
    """Minimise or maximise a response (``sense``: ``"min"`` or ``"max"``)."""

    response: str
    sense: str = "max"


@dataclass(frozen=True)
class Constraint:
    """A response (or ``"budget"``: the factors' cost) kept within ``min``..``max``."""

    response: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Experiment:
    """A named study over ``factors``.

    ``replications`` is fixed or, with ``precision`` (a relative 95% half-width of
    ``responses[0]``), the cap of sequential replications. ``points`` sizes a Latin
    hypercube or Sobol' design. ``margin`` per good part gives ``profit``. ``horizon`` and
    ``warmup`` (s) replace the project's run settings when given.
    """

    name: str
    factors: tuple[Factor, ...]
    design: str = "full_factorial"
    points: int | None = None
    responses: tuple[str, ...] = ("line.throughput_per_hour",)
    replications: int = 5
    precision: float | None = None
    seed: int = 1
    margin: float | None = None
    horizon: float | None = None
    warmup: float | None = None
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    trials: int | None = None
    description: str = ""
