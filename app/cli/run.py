"""``twinbench run`` and ``twinbench check``: simulate a project headless, or validate it.

Imports of the twin happen inside the handlers, so that ``twinbench --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.common import (
    ProgressBar,
    count,
    duration_arg,
    format_table,
    horizon_arg,
    json_safe,
    output_file,
    replications_arg,
    seed_arg,
    user_files,
)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``run`` and ``check`` to the main parser's subparsers."""
    r = sub.add_parser("run", help="simulate a project headless and print KPIs with 95%% "
                       "intervals")
    r.add_argument("project", help="project folder (holding project.json) or a .json file")
    r.add_argument("--scenario", action="append", metavar="NAME",
                   help="scenario to run (repeatable; 'base' is the project as it is)")
    r.add_argument("--horizon", type=horizon_arg,
                   help="simulated time: 8h, 30min, 3600 (at most 10 years)")
    r.add_argument("--warmup", type=duration_arg, help="time discarded at the start")
    r.add_argument("--replications", type=replications_arg, help="1 to 10,000")
    r.add_argument("--seed", type=seed_arg, help="0 to 2**63 - 1")
    r.add_argument("--sample-interval", type=duration_arg,
                   help="time-series sampling interval (default: the project's "
                        "run.sample_interval; 0 means the horizon / 200)")
    r.add_argument("--json", action="store_true", help="print one JSON document")
    r.add_argument("--out", metavar="FILE.h5", help="write KPIs and time series to HDF5")
    r.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    r.add_argument("--state-log", action="store_true",
                   help="with --out: also write every state change (for Gantt and playback)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("check", help="validate a project and print every problem")
    c.add_argument("project")
    c.set_defaults(func=cmd_check)


# --- option values -------------------------------------------------------------------------


# --- run -----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Handle ``twinbench run``; return the exit code."""
    from kernels.warmup import cache_is_warm
    from twin.projectfile.reader import load_project, project_file
    from twin.sim.estimate import estimate_run
    from twin.sim.resultsfile import check_results_path, write_results
    from twin.sim.runner import RunSpec, run_project
    from twin.tasks import TaskState

    project = load_project(args.project)
    print_warnings(project, args.project)  # stderr: a missing mesh does not stop a run
    if args.out:  # before the run, not after it
        output_file(args.out, args.force, reads=[project_file(args.project)])
        check_results_path(args.out)
    spec = RunSpec.from_project(project, horizon=args.horizon, warmup=args.warmup,
                                replications=args.replications, seed=args.seed,
                                sample_interval=args.sample_interval,
                                log=bool(args.out and args.state_log))
    # how big the run would be, before any of it: too many events, samples or bytes are
    # refused with the size and what to lower (twin.limits)
    estimate_run(project, spec, args.scenario or None)
    if not cache_is_warm():
        print("twinbench: compiling the twin kernel (first run only, 10-15 s)...",
              file=sys.stderr)
    with ProgressBar("running", enabled=not args.quiet) as bar:
        result = run_project(project, args.scenario or None, spec, TaskState(bar))
    summary = result.summary()
    if args.json:  # printed first: should the file fail to write, the results are not lost
        from twin.sim.energy import comparison_block

        for name, block in comparison_block(result, summary).items():
            summary[name]["compared_to_base"] = block
        json.dump(_json_safe(summary), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(summary)
        if len(summary) > 1:
            print_energy_comparison(result, summary)
    sys.stdout.flush()
    if args.out:
        with user_files(args.out):
            write_results(result, args.out)
        if not args.json:
            print(f"\nresults written to {args.out}")
    return 0


def print_table(summary: dict, out=None) -> None:
    """The summary as tables; every id and name goes through ``twin.errors.printable``
    (a project's ids may hold escape codes that would act on the terminal)."""
    from twin.errors import printable
    from twin.sim.stats import format_ci

    out = out or sys.stdout
    for name, doc in summary.items():
        line = doc["line"]
        out.write(f"\nScenario {printable(name)} ({doc['replications']} replications, "
                  "95% intervals)\n")
        for key, label in (("throughput_per_hour", "throughput (good parts/h)"),
                           ("wip", "work in process (parts)"),
                           ("lead_time_s", "lead time (s)"), ("energy_kwh", "energy (kWh)"),
                           ("energy_kwh_per_part", "energy per part (kWh)"),
                           ("energy_cost", "energy cost"),
                           ("energy_cost_energy", "  energy part"),
                           ("energy_cost_demand", "  demand part"),
                           ("energy_cost_per_part", "energy cost per good part"),
                           ("peak_kw_15min", "peak 15-min power (kW)"),
                           ("co2_kg", "CO2 (kg)"), ("co2_kg_per_part", "CO2 per good part (kg)"),
                           # PV and a battery (twin.energy_site)
                           ("pv_kwh", "PV produced (kWh)"),
                           ("pv_self_kwh", "PV self-consumed (kWh)"),
                           ("pv_self_share", "PV self-consumed (share)"),
                           ("pv_export_kwh", "PV exported (kWh)"),
                           ("battery_throughput_kwh", "battery throughput (kWh)"),
                           ("battery_cycles", "battery full cycles"),
                           ("grid_peak_kw_15min_no_battery", "grid peak, no battery (kW)"),
                           ("grid_peak_kw_15min", "grid peak 15-min (kW)"),
                           ("peak_shaved_kw", "peak shaved (kW)"),
                           ("grid_cost_no_battery", "grid bill, no battery"),
                           ("grid_cost", "grid bill"),
                           ("grid_cost_demand", "  demand part"),
                           ("grid_cost_per_part", "grid bill per good part"),
                           ("battery_saving", "saved by the battery")):
            if key in line:
                out.write(f"  {label:<28}{format_ci(line[key], 4)}\n")
        if line.get("shifts"):  # per shift of the calendar (twin.energy_shifts)
            cols = (("energy_kwh", "kWh"), ("energy_cost_energy", "energy part"),
                    ("peak_kw_15min", "peak 15min kW"), ("co2_kg", "CO2 kg"),
                    ("good_parts", "good parts"), ("energy_cost_per_part", "per good part"))
            out.write("  per shift (per occurrence; the demand part is not split):\n")
            out.write(format_table(["shift", *(c for _, c in cols)],
                                   [[printable(s), *(format_ci(f[k], 4) for k, _ in cols)]
                                    for s, f in line["shifts"].items()], indent="    ")
                      + "\n")
        if doc.get("bottleneck"):
            out.write(f"  {'bottleneck':<28}{printable(doc['bottleneck'])}\n")
        stations = [(eid, el) for eid, el in doc["elements"].items() if el["kind"] == "station"]
        if stations:
            states = ("busy", "blocked", "starved", "down")
            if doc.get("workers"):  # issue 18: how long the stations waited for people
                states += ("waiting_for_worker",)
            if any("restarts" in el for _, el in stations):  # issue 19: energy saving
                states += ("standby", "switched_off", "warming_up")
            out.write(format_table(
                ["station", "parts out", "utilisation",
                 *(s.replace("waiting_for_worker", "wait worker") for s in states), "energy kWh",
                 "failures",
                 "wear"],
                [[printable(eid), format_ci(el["parts_out"], 6), format_ci(el["utilization"]),
                  *(f"{el['state_fraction'][st]['mean']:.3f}" for st in states),
                  format_ci(el["energy_kwh"], 4), format_ci(el["failures"], 6),
                  f"{el['wear']['mean']:.3g}"] for eid, el in stations], indent="  ") + "\n")
        if any("oee" in el for _, el in stations):
            out.write(station_oee_table(stations) + "\n")
        if any("energy_cost" in el for _, el in stations):  # issue 19: an energy context
            out.write(station_energy_table(stations) + "\n")
        inputs = [(eid, src, kpis) for eid, el in stations
                  for src, kpis in el.get("inputs", {}).items()]
        if inputs:  # assemblies (issue 18): what each waited for
            out.write(format_table(
                ["assembly", "input", "starved short of it", "mean waiting", "parts in"],
                [[printable(eid), printable(src), format_ci(k["starved_fraction"]),
                  format_ci(k["mean_content"]), format_ci(k["parts_in"], 6)]
                 for eid, src, k in inputs], indent="  ") + "\n")
        if doc.get("orders"):  # issue 18 §4: the riskiest order first
            out.write(orders_table(doc["orders"]) + "\n")
        stores = [(eid, el) for eid, el in doc["elements"].items()
                  if el["kind"] in ("buffer", "conveyor")]
        if stores:
            out.write(format_table(["buffer", "mean content", "fill"],
                                   [[printable(eid), format_ci(el["mean_content"]),
                                     format_ci(el["utilization"])] for eid, el in stores],
                                   indent="  ") + "\n")
        pools = doc.get("workers", {})
        if pools:  # issue 18
            out.write(format_table(
                ["worker pool", "utilisation", "walking", "idle", "tasks", "waited",
                 "mean wait s"],
                [[printable(pid), format_ci(w["utilization"]),
                  f"{w['walking_fraction']['mean']:.3f}", f"{w['idle_fraction']['mean']:.3f}",
                  format_ci(w["tasks"], 6), format_ci(w["tasks_waited"], 6),
                  format_ci(w["mean_wait_s"], 4)] for pid, w in pools.items()],
                indent="  ") + "\n")


def station_oee_table(stations: list[tuple[str, dict]]) -> str:
    """Each station's OEE, its factors, its ideal cycle time and, in hours, each loss that
    some station has (``twin.oee``: the definition ``twinbench replay`` prints too)."""
    from twin.errors import printable
    from twin.oee import LOSS_KEYS
    from twin.sim.stats import format_ci

    def loss(el: dict, k: str) -> dict | None:
        return el.get("oee_losses", {}).get(k)

    losses = [k for k in LOSS_KEYS
              if any((loss(el, k) or {}).get("mean", 0) > 0 for _, el in stations)]
    hours = {"mean": 0.0, "ci95_halfwidth": 0.0}
    rows = []
    for eid, el in stations:
        ict = el.get("ideal_cycle_time", {}).get("value_s")
        cells = []
        for k in losses:
            stat = loss(el, k) or hours
            cells.append(format_ci({"mean": stat["mean"] / 3600.0,
                                    "ci95_halfwidth": stat["ci95_halfwidth"] / 3600.0}))
        rows.append([printable(eid), *(format_ci(el[k]) for k in
                                       ("oee", "availability", "performance", "quality")),
                     "-" if ict is None else f"{ict:.4g}", *cells])
    return ("  OEE by station (ideal cycle time: the process time's mean; losses in hours):\n"
            + format_table(["station", "OEE", "availability", "performance", "quality",
                            "ideal cycle s", *(k.replace("_", " ") for k in losses)],
                           rows, indent="    "))


def station_energy_table(stations: list[tuple[str, dict]]) -> str:
    """Each station's energy under the tariff (its energy part: the demand charge bills
    the line's coincident peak), its own 15-minute peak and CO2, and with a calendar one
    row per station and shift (per occurrence of the shift; they add up to the line's)."""
    from twin.errors import printable
    from twin.sim.stats import format_ci

    rows = []
    for eid, el in stations:
        rows.append([printable(eid), "whole run", format_ci(el["energy_kwh"], 4),
                     format_ci(el["energy_cost"], 4), format_ci(el["peak_kw_15min"], 4),
                     format_ci(el["co2_kg"], 4)])
        for shift, f in el.get("shifts", {}).items():
            rows.append([printable(eid), printable(shift), format_ci(f["energy_kwh"], 4),
                         format_ci(f["energy_cost_energy"], 4), "", format_ci(f["co2_kg"], 4)])
    header = ["station", "shift", "kWh", "energy part", "peak 15min kW", "CO2 kg"]
    if not any(el.get("shifts") for _, el in stations):
        return "  energy by station:\n" + format_table(
            header[:1] + header[2:], [r[:1] + r[2:] for r in rows], indent="    ")
    return ("  energy by station and shift (a shift's row: per occurrence of it):\n"
            + format_table(header, rows, indent="    "))


def print_energy_comparison(result, summary: dict, out=None) -> None:
    """The scenarios in money and CO2 (twin.sim.energy.energy_comparison): each scenario's
    mean ± 95% and each one's paired difference to the first, also in % of it."""
    from twin.errors import printable
    from twin.sim.energy import energy_comparison, verdict
    from twin.sim.stats import format_ci

    rows = energy_comparison(result, summary)
    if not rows:
        return
    out = out or sys.stdout
    names = list(summary)
    base = printable(names[0])
    header = ["", *map(printable, names),
              *(f"{printable(n)} - {base}" for n in names[1:]),
              *(f"{printable(n)} vs {base} %" for n in names[1:])]
    table = [[r["label"], *(format_ci(r["scenarios"][n], 4) for n in names),
              *(format_ci(r["vs_base"][n]["difference"], 4) for n in names[1:]),
              *(format_ci(r["vs_base"][n]["percent"], 3) for n in names[1:])] for r in rows]
    tariff = result.scenarios[names[0]].project.tariff
    out.write(f"\nEnergy by scenario (money in {printable(tariff.currency)}; 95% intervals; "
              "differences paired over replications with common random numbers)\n")
    out.write(format_table(header, table, indent="  ") + "\n")
    for n in names[1:]:  # the trade-off in one sentence: money and CO2 against output
        out.write(f"  {printable(verdict(rows, n, names[0], tariff.currency))}\n")


_json_safe = json_safe  # the name the other modules and tests know


# --- check ---------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    """Handle ``twinbench check``; return the exit code."""
    from twin.experiments.spec import check_responses
    from twin.projectfile.reader import load_project
    from twin.sim.estimate import estimate_run
    from twin.sim.runner import RunSpec
    from twin.units import format_duration

    project = load_project(args.project)
    check_responses(project)  # experiments' responses are KPIs of this project's runs
    rs = project.run
    # the project's own run settings: a run beyond the limits fails the check
    estimate = estimate_run(project, RunSpec.from_project(project))
    n_st = len(project.stations())
    n_w = len(project.warnings)
    also = f"; {count(n_w, 'warning')}" if n_w else ""
    counts = ", ".join(count(n, word) for n, word in (
        (len(project.elements), "element"), (n_st, "station"),
        (len(project.connections), "connection"), (len(project.scenarios), "scenario"),
        *([(len(project.experiments), "experiment")] if project.experiments else [])))
    print(f"{args.project}: OK ({counts}{also})")
    print(f"run settings ({format_duration(rs.horizon)}, {count(rs.replications, 'replication')}"
          f"): {estimate}")
    print_warnings(project, args.project, sys.stdout)
    return 0


def print_warnings(project, where: str, out=None) -> None:
    """One line per problem that did not stop the project from loading (a missing mesh), on
    ``out`` (standard error by default)."""
    out = out or sys.stderr
    for w in project.warnings:
        out.write(f"warning: {w.format(str(where))}\n")


def orders_table(orders: dict) -> str:
    """The ``orders`` of a run summary as a table, the riskiest first (as the summary sorts
    them): P(on time) with its 95% interval, completion P10/P50/P90 and mean tardiness, in
    hours."""
    from twin.errors import printable

    def h(x: float) -> str:
        return "-" if x != x else f"{x / 3600.0:.3g}"

    return format_table(
        ["order", "product", "qty", "due h", "P(on time)", "95% interval", "done P10 h",
         "P50 h", "P90 h", "mean tardiness h"],
        [[printable(oid), printable(o["product"]), str(o["quantity"]), h(o["due_s"]),
          f"{o['p_on_time']:.3f}",
          f"{o['p_on_time_ci95'][0]:.3f}-{o['p_on_time_ci95'][1]:.3f}",
          h(o["completion_p10_s"]), h(o["completion_p50_s"]), h(o["completion_p90_s"]),
          h(o["mean_tardiness_s"])] for oid, o in orders.items()], indent="  ")
