"""Simulation results as HDF5, readable with plain h5py (``docs/results-format.md``).

Layout::

    /                        attrs: format="twinbench-results", schema_version, created,
                                    project, horizon_s, warmup_s, replications, seed
    /scenarios/<name>/kpi    compound table, one row per replication, one column per KPI
    /scenarios/<name>/time   sample times (s)
    /scenarios/<name>/series/{good_parts,wip,power_kw}        (replications, samples)
    /scenarios/<name>/series/{energy_kwh,wear,content}        (replications, samples, elements)
    /scenarios/<name>/state_log/<replication>                 time, element, server, state,
                                                               content (with --state-log;
                                                               every replication)
    /scenarios/<name>/orders/completion_s                    (replications, orders), NaN:
                                                               not complete (issue 18 §4);
                                                               attr order_ids
    /scenarios/<name>          attr "summary_json": the summary ``twinbench run --json`` prints

Element ids are in the attribute ``element_ids`` of each scenario group, state names in the
root attribute ``state_names``. Units are attributes of each dataset.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import h5py
import numpy as np

from kernels import types as kt
from twin import safeio
from twin.errors import OutputPathError, unwritable
from twin.sim.summary import replication_kpis

SCHEMA_VERSION = 1
FORMAT = "twinbench-results"


def _units(key: str) -> str:
    for suffix, unit in (("_per_hour", "1/h"), ("peak_kw", "kW"), ("co2_kg", "kg"),
                         ("_kwh", "kWh"), ("_s", "s"), ("wip", "parts"),
                         ("fraction", "1"), ("utilization", "1"), ("energy_cost", "currency")):
        if suffix in key:
            return unit
    return "count"


def check_results_path(path: str | os.PathLike) -> None:
    """Raise ``OutputPathError`` naming what is wrong when results cannot be written to
    ``path``."""
    if problem := unwritable(path):
        raise OutputPathError(problem)


def write_results(result, path: str | os.PathLike, state_logs: bool | None = None) -> Path:
    """Write a ``RunResult`` to ``path`` atomically (``twin.safeio``: a temporary file, then
    a rename; never written through a link).

    ``state_logs`` writes every replication's state log (default: when the run recorded
    them, ``spec.log``). A log the run did not keep (``RunSpec.log_only``) is made again
    with ``RunResult.state_log``, one replication at a time, so memory holds one log, not
    all of them.
    """
    want_logs = result.spec.log if state_logs is None else state_logs
    check_results_path(path)
    path = Path(path)
    spec = result.spec
    with safeio.replacing_path(path) as tmp, safeio.open_hdf5(tmp, replace=True) as f:
        f.attrs.update(format=FORMAT, schema_version=SCHEMA_VERSION,
                       created=dt.datetime.now(dt.UTC).isoformat(),
                       horizon_s=spec.horizon, warmup_s=spec.warmup,
                       replications=spec.replications, seed=spec.seed,
                       state_names=np.array(kt.STATE_NAMES, dtype=h5py.string_dtype()))
        summary = result.summary()
        for name, sr in result.scenarios.items():
            g = f.create_group(f"scenarios/{name}")
            f.attrs["project"] = sr.project.name
            g.attrs["element_ids"] = np.array(sr.lowered.element_ids,
                                              dtype=h5py.string_dtype())
            g.attrs["element_kinds"] = np.array(sr.lowered.element_kinds,
                                                dtype=h5py.string_dtype())
            rows = [replication_kpis(sr, rep) for rep in sr.replications]
            keys = list(rows[0])
            table = np.zeros(len(rows), np.dtype([(k, "f8") for k in keys]))
            for i, r in enumerate(rows):
                for k in keys:
                    table[k][i] = r[k]
            d = g.create_dataset("kpi", data=table)
            d.attrs["units"] = json.dumps({k: _units(k) for k in keys})
            d = g.create_dataset("time", data=sr.ts_t)
            d.attrs["units"] = "s"
            reps = sr.replications
            # each key is also the name of the Replication accessor that reads its column
            for key, unit in (("good_parts", "count"), ("wip", "parts"), ("power_kw", "kW")):
                d = g.create_dataset(f"series/{key}",
                                     data=np.stack([getattr(r, key)() for r in reps]),
                                     compression="gzip")
                d.attrs["units"] = unit
            for key, attr, unit in (("energy_kwh", "ts_energy", "kWh"),
                                    ("wear", "ts_wear", "1"), ("content", "ts_content",
                                                               "parts")):
                d = g.create_dataset(f"series/{key}",
                                     data=np.stack([getattr(r, attr) for r in reps]),
                                     compression="gzip")
                d.attrs["units"] = unit
            for i, r in enumerate(reps):
                log = r.log
                if log is None and want_logs:
                    log = result.state_log(name, i, keep=False)
                if log is not None:
                    d = g.create_dataset(f"state_log/{i}", data=log, compression="gzip")
                    d.attrs["units"] = "time: s"
                del log  # a made-again log goes before the next one is made
            _write_orders(g, sr)
            g.attrs["summary_json"] = json.dumps(_finite(summary[name]))
    return path


def _write_orders(g, sr) -> None:
    """Each order's completion time in each replication (issue 18 §4), when there are any."""
    from twin.sim.orders import completion_times, order_rows, project_orders

    orders = project_orders(sr.project)
    if not orders or not sr.replications or sr.replications[0].ord_out is None:
        return
    rows = order_rows(sr.lowered.arrays)
    done = np.array([completion_times(r.ord_out, rows) for r in sr.replications])
    d = g.create_dataset("orders/completion_s", data=done)
    d.attrs["units"] = "s"
    d.attrs["order_ids"] = np.array([o.id for _, o in orders], dtype=h5py.string_dtype())


def _finite(obj):
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def read_kpis(path: str | os.PathLike, scenario: str = "base") -> dict[str, np.ndarray]:
    """KPI name -> per-replication values, from a results file."""
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a twinbench results file (no format attribute "
                             f"{FORMAT!r}); write one with 'twinbench run --out FILE.h5'")
        if int(f.attrs["schema_version"]) > SCHEMA_VERSION:
            raise ValueError(f"{path}: written by a newer twinbench (schema "
                             f"{f.attrs['schema_version']}); update twinbench to read it")
        table = f[f"scenarios/{scenario}/kpi"][()]
    return {k: table[k] for k in table.dtype.names}
