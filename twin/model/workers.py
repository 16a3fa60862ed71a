"""Worker pools and what a station needs of them (issue 18 §3).

A pool is a number of interchangeable people with the same skills and walking speed, who
work always or only in the working time of the project's shift calendar. A station names,
per task (its repairs, its setups, its processing), the pool it takes a worker from and,
optionally, a skill: any pool that has the skill may then send one. The kernel's rules
(who takes which task, walking) are in ``kernels.workers`` and docs/semantics.md.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The tasks of a station that may need a worker, in the order of the project file.
TASKS = ("repair", "setup", "process")


@dataclass(frozen=True)
class WorkerPool:
    """``count`` people who walk at ``speed`` m/s; ``home`` is the element they start at
    (empty: wherever their first task is, without a walk to it)."""

    id: str
    count: int = 1
    skills: tuple[str, ...] = ()
    speed: float = 1.0
    follows_calendar: bool = False
    home: str = ""
    name: str = ""


@dataclass(frozen=True)
class WorkerNeed:
    """A task needs a worker of ``pool``, or (``pool`` empty) of any pool with ``skill``;
    with both, ``pool`` must have ``skill``."""

    pool: str = ""
    skill: str = ""

    def pools(self, pools: list[WorkerPool]) -> list[WorkerPool]:
        """The pools that may send a worker for this task."""
        if self.pool:
            return [p for p in pools if p.id == self.pool]
        return [p for p in pools if self.skill in p.skills]


@dataclass(frozen=True)
class StationWorkers:
    """What a station's tasks need; ``priority`` ranks its waiting tasks against other
    stations' (higher first; equal: first come, first served)."""

    repair: WorkerNeed | None = None
    setup: WorkerNeed | None = None
    process: WorkerNeed | None = None
    priority: int = 0

    def need(self, task: str) -> WorkerNeed | None:
        return getattr(self, task)
