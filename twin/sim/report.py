"""Results for people: the per-element KPI table, its CSV, and the HTML report of a run.

Everything here reads the summary of ``twin.sim.summary.summarize`` (the figures
``twinbench run`` prints, with their 95% intervals) and arranges it; nothing is computed
twice. The workbench shows the same rows (``app.stats_table``) and writes the same report
(``app.report``) with its pictures; this module has no Qt, so a report's tables and its
reproducibility record are tested without a display.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import platform
import sys
from dataclasses import asdict, dataclass

from twin import safeio
from twin.oee import LOSS_KEYS
from twin.sim.stats import format_ci

#: The per-element figures: (key in a summary's element, column label, unit, kinds).
#: ``state_fraction.<state>`` reads the nested state fractions.
ELEMENT_KPIS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("parts_in", "parts in", "parts", ("station", "buffer", "conveyor", "sink")),
    ("parts_out", "parts out", "parts", ("source", "station", "buffer", "conveyor")),
    ("utilization", "utilisation", "fraction", ("station", "buffer", "conveyor")),
    ("oee", "OEE", "fraction", ("station",)),
    ("availability", "availability", "fraction", ("station",)),
    ("performance", "performance", "fraction", ("station",)),
    ("quality", "quality", "fraction", ("station",)),
    ("state_fraction.busy", "busy", "fraction", ("station",)),
    ("state_fraction.setup", "setup", "fraction", ("station",)),
    ("state_fraction.blocked", "blocked", "fraction", ("station",)),
    ("state_fraction.starved", "starved", "fraction", ("station",)),
    ("state_fraction.down", "down", "fraction", ("station",)),
    ("state_fraction.maintenance", "maintenance", "fraction", ("station",)),
    ("state_fraction.waiting_for_worker", "waiting for a worker", "fraction", ("station",)),
    ("state_fraction.idle", "idle", "fraction", ("station",)),
    ("state_fraction.standby", "standby (energy saving)", "fraction", ("station",)),
    ("state_fraction.switched_off", "switched off (energy saving)", "fraction", ("station",)),
    ("state_fraction.warming_up", "warming up", "fraction", ("station",)),
    ("state_fraction.off", "off", "fraction", ("station",)),
    # what OEE lost, by cause (twin.oee.LOSS_KEYS)
    *((f"oee_losses.{k}", f"OEE loss: {k.replace('_', ' ')}", "s", ("station",))
      for k in LOSS_KEYS),
    ("failures", "failures", "count", ("station",)),
    ("energy_kwh", "energy", "kWh", ("station",)),
    ("restarts", "restarts", "count", ("station",)),
    ("wear", "wear", "wear units", ("station",)),
    ("scrap", "scrap", "parts", ("station",)),
    ("energy_cost", "energy cost", "currency", ("station",)),
    ("peak_kw_15min", "peak 15-min power", "kW", ("station",)),
    ("co2_kg", "CO2", "kg", ("station",)),
    ("mean_content", "mean content", "parts", ("buffer", "conveyor")),
    ("max_content", "max content", "parts", ("buffer", "conveyor")),
    ("mean_queue", "source queue", "parts", ("source",)),
    ("lost", "lost arrivals", "parts", ("source",)),
)

#: The line's figures: (key, label, unit), in the order ``twinbench run`` prints them.
LINE_KPIS: tuple[tuple[str, str, str], ...] = (
    ("throughput_per_hour", "throughput", "good parts/h"),
    ("wip", "work in process", "parts"),
    ("lead_time_s", "lead time", "s"),
    ("good_parts", "good parts", "parts"),
    ("scrap", "scrap", "parts"),
    ("energy_kwh", "energy", "kWh"),
    ("energy_kwh_per_part", "energy per part", "kWh/part"),
    ("energy_cost", "energy cost", "currency"),
    # the energy context (issue 19; twin.sim.energy): only with a tariff
    ("energy_cost_energy", "energy cost: energy part", "currency"),
    ("energy_cost_demand", "energy cost: demand part", "currency"),
    ("energy_cost_per_part", "energy cost per part", "currency/part"),
    ("peak_kw_15min", "peak 15-min power", "kW"),
    ("co2_kg", "CO2", "kg"),
    ("co2_kg_per_part", "CO2 per part", "kg/part"),
    # on-site PV and a battery (twin.energy_site): only with them
    ("pv_kwh", "PV produced", "kWh"),
    ("pv_self_kwh", "PV self-consumed", "kWh"),
    ("pv_self_share", "PV self-consumed share", "fraction"),
    ("pv_export_kwh", "PV exported", "kWh"),
    ("battery_throughput_kwh", "battery throughput", "kWh"),
    ("battery_cycles", "battery full cycles", "cycles"),
    ("grid_kwh", "grid import", "kWh"),
    ("grid_peak_kw_15min", "grid peak 15-min power", "kW"),
    ("grid_peak_kw_15min_no_battery", "grid peak 15-min power, no battery", "kW"),
    ("peak_shaved_kw", "peak shaved by the battery", "kW"),
    ("grid_cost", "grid bill", "currency"),
    ("grid_cost_energy", "grid bill: energy part", "currency"),
    ("grid_cost_demand", "grid bill: demand part", "currency"),
    ("grid_cost_no_battery", "grid bill, no battery", "currency"),
    ("battery_saving", "saved by the battery", "currency"),
    ("grid_cost_per_part", "grid bill per part", "currency/part"),
    ("grid_co2_kg", "grid CO2", "kg"),
)

NO_STAT = {"mean": math.nan, "ci95_halfwidth": math.nan}


def element_stat(doc: dict, key: str) -> dict | None:
    """The ``{"mean", "ci95_halfwidth"}`` of ``key`` (dotted) in one element's summary, or
    None where the element has no such figure."""
    node = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, dict) and "mean" in node else None


#: Element kinds that share a table in the report (their columns are alike).
KIND_GROUPS = (("stations", ("station",)), ("buffers and conveyors", ("buffer", "conveyor")),
               ("sources and sinks", ("source", "sink")))


#: States only a station with an energy-saving policy (which reports restarts) can be in.
SAVING_STATES = tuple(f"{group}.{state}" for group in ("state_fraction", "oee_losses")
                      for state in ("standby", "switched_off", "warming_up"))


def _figure(el: dict, key: str, kinds: tuple[str, ...]) -> dict | None:
    # a sink's "parts out" is always 0: a figure only for the kinds it means something for
    if key in SAVING_STATES and "restarts" not in el:
        return None
    return element_stat(el, key) if el["kind"] in kinds else None


def element_columns(doc: dict, kinds: tuple[str, ...] | None = None
                    ) -> list[tuple[str, str, str]]:
    """The ``(key, label, unit)`` columns of ``ELEMENT_KPIS`` that some element of one
    scenario's summary ``doc`` (of ``kinds``, default all) has: a line without buffers
    shows no content column."""
    els = [el for el in doc["elements"].values() if kinds is None or el["kind"] in kinds]
    return [(k, label, unit) for k, label, unit, ks in ELEMENT_KPIS
            if any(_figure(el, k, ks) is not None for el in els)]


def element_rows(doc: dict, kinds: tuple[str, ...] | None = None
                 ) -> list[tuple[str, str, list[dict | None]]]:
    """``(element id, kind, [stat or None per column of element_columns])`` per element
    (of ``kinds``, default all)."""
    cols = element_columns(doc, kinds)
    ks = {k: kk for k, _, _, kk in ELEMENT_KPIS}
    return [(eid, el["kind"], [_figure(el, k, ks[k]) for k, _, _ in cols])
            for eid, el in doc["elements"].items() if kinds is None or el["kind"] in kinds]


def element_label(doc: dict, eid: str | None) -> str:
    """``eid`` as a user reads it: "Lathe (M1)" where the element has a name of its own
    (the summary's ``name``), else its id alone: a user who named M1 "Lathe" found only
    "M1" in the bottleneck, the tables and the report."""
    name = (doc.get("elements", {}).get(eid) or {}).get("name") if eid else None
    return f"{name} ({eid})" if name else str(eid or "")


def element_tooltip(doc: dict, eid: str, scenario: str) -> str:
    """One element's figures, one per line, ``label: mean ± ci95 unit`` (the 3D view's
    tooltip shows the table's row)."""
    el = doc["elements"].get(eid)
    if el is None:
        return ""
    lines = [f"{element_label(doc, eid)} ({el['kind']}), scenario {scenario}, 95% intervals"]
    for key, label, unit, kinds in ELEMENT_KPIS:
        stat = _figure(el, key, kinds)
        if stat is not None and not _nan(stat["mean"]):
            lines.append(f"{label}: {format_ci(stat)} {unit}")
    return "\n".join(lines)


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


#: A worker pool's figures (``twin.sim.workers``): key, unit.
WORKER_KPIS: tuple[tuple[str, str], ...] = (
    ("utilization", "fraction"), ("busy_fraction", "fraction"),
    ("walking_fraction", "fraction"), ("idle_fraction", "fraction"),
    ("off_fraction", "fraction"), ("tasks", "count"), ("tasks_waited", "count"),
    ("mean_wait_s", "s"), ("mean_wait_if_waited_s", "s"), ("max_wait_s", "s"),
    ("mean_walk_s", "s"), ("mean_working", "people"),
)


def kpi_records(summary: dict) -> list[dict]:
    """Every figure of every scenario as a flat record: ``scenario, element, kpi, mean,
    ci95_halfwidth, unit`` (element ``line`` for the line's KPIs, ``workers.<pool>`` for a
    worker pool's); NaN for no value."""
    out = []
    for name, doc in summary.items():
        for key, _, unit in LINE_KPIS:
            if key in doc["line"]:
                out.append(_record(name, "line", key, doc["line"][key], unit))
        for eid, el in doc["elements"].items():
            for key, _, unit, kinds in ELEMENT_KPIS:
                stat = _figure(el, key, kinds)
                if stat is not None:
                    out.append(_record(name, eid, key, stat, unit))
        for pid, pool in doc.get("workers", {}).items():
            for key, unit in WORKER_KPIS:
                out.append(_record(name, f"workers.{pid}", key, pool[key], unit))
    return out


def _record(scenario, element, kpi, stat, unit) -> dict:
    def num(v):
        return math.nan if v is None else float(v)

    return {"scenario": scenario, "element": element, "kpi": kpi, "mean": num(stat["mean"]),
            "ci95_halfwidth": num(stat["ci95_halfwidth"]), "unit": unit}


CSV_COLUMNS = ("scenario", "element", "kpi", "mean", "ci95_halfwidth", "unit")


def write_kpi_csv(path, summary: dict) -> int:
    """Write every figure of ``summary`` as CSV, numbers in their own columns (``repr``
    of the float, full precision, empty for no value: a spreadsheet reads them as numbers
    or blanks). Through ``twin.safeio``. Returns the number of data rows."""
    rows = kpi_records(summary)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([r["scenario"], r["element"], r["kpi"],
                    *("" if math.isnan(r[c]) else repr(r[c])
                      for c in ("mean", "ci95_halfwidth")), r["unit"]])
    safeio.write_text(path, buf.getvalue())
    return len(rows)


# --- the reproducibility record and the report ------------------------------------------
def software_versions() -> dict[str, str]:
    """Versions of twinbench and the libraries a result depends on ("-" if missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    # by distribution, not by import: twin imports no Qt or VTK (import-linter contracts);
    # PySide6 comes as PySide6 or as its Essentials part, VTK as vtk or vtk-osmesa
    for label, dists in (("twinbench", ("twinbench",)), ("NumPy", ("numpy",)),
                         ("Numba", ("numba",)), ("PySide6", ("PySide6", "PySide6_Essentials")),
                         ("VTK", ("vtk", "vtk-osmesa")), ("pyqtgraph", ("pyqtgraph",))):
        out[label] = "-"
        for dist in dists:
            try:
                out[label] = version(dist)
                break
            except PackageNotFoundError:
                continue
    if out["twinbench"] == "-":  # a source tree that was never installed
        from kernels import __version__

        out["twinbench"] = __version__
    out["Python"] = sys.version.split()[0]
    out["platform"] = platform.platform()
    return out


def run_record(project, spec, scenarios: list[str]) -> dict[str, str]:
    """The project and run settings a run was made with, as label -> text."""
    from twin.units import format_duration

    rec = {"project": project.name,
           "project folder": str(getattr(project, "path", None) or "(not saved)"),
           "scenarios": ", ".join(scenarios)}
    d = asdict(spec)
    rec["horizon"] = f"{format_duration(d['horizon'])} ({d['horizon']:g} s)"
    rec["warm-up"] = f"{format_duration(d['warmup'])} ({d['warmup']:g} s)"
    rec["replications"] = str(d["replications"])
    rec["seed"] = str(d["seed"])
    rec["sample interval"] = (f"{d['sample_interval']:g} s" if d["sample_interval"]
                              else "automatic")
    rec["common random numbers"] = "yes: replication i of every scenario shares its seeds"
    return rec


@dataclass
class ReportParts:
    """What a report holds besides the summary: pictures as PNG bytes, titled."""

    layout_png: bytes | None
    charts: list[tuple[str, bytes]]
    comparison: list[list[str]]  # header row, then rows (app.dashboards.comparison_table)
    settings: dict[str, str]
    versions: dict[str, str]
    #: each scenario's trade-off in a sentence (twin.sim.energy.verdict), under the table
    verdicts: tuple[str, ...] = ()
    #: what each scenario changes, by name (:func:`scenario_changes`): a table of numbers
    #: per scenario says nothing of what was tried (newfix3 §6)
    changes: dict[str, list[str]] | None = None
    #: the elements' main parameters: element, kind, parameters (:func:`element_parameters`)
    parameters: list[list[str]] | None = None
    #: why a chart was left out ("no power figures: …"), shown where the charts are
    left_out: tuple[str, ...] = ()


#: What an element's file form holds that is no parameter of its behaviour.
_LAYOUT_KEYS = {"id", "kind", "name", "position", "footprint", "rotation", "mesh", "colour",
                "color", "description"}


def _compact(value, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def scenario_changes(project, names) -> dict[str, list[str]]:
    """Each named scenario's overrides as ``element.path = value`` (``base``: none)."""
    out = {}
    for name in names:
        s = next((s for s in project.scenarios if s.name == name), None)
        if s is None:  # base: the project as it is
            out[name] = ["(no changes)"]
            continue
        out[name] = [f"{o.path if o.element is None else f'{o.element}.{o.path}'} = "
                     f"{_compact(o.value)}" for o in s.overrides] or ["(no changes)"]
    return out


def element_parameters(project) -> list[list[str]]:
    """``[element, kind, parameters]`` of each element: its file form without the layout."""
    from twin.projectfile.writer import element_to_json

    rows = []
    for el in project.elements:
        doc = element_to_json(el)
        params = "; ".join(f"{k}: {_compact(v)}" for k, v in doc.items()
                           if k not in _LAYOUT_KEYS)
        label = el.id if not getattr(el, "name", "") or el.name == el.id \
            else f"{el.name} ({el.id})"
        rows.append([label, el.kind, params or "(defaults)"])
    return rows


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


CSS = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #bbb;padding:2px 6px;text-align:right;font-size:90%}
th:first-child,td:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:0.3em 0}
h1{font-size:150%}h2{font-size:125%;border-bottom:1px solid #ccc}"""


def report_html(summary: dict, parts: ReportParts, title: str) -> str:
    """One self-contained HTML page of a run: the layout, the KPI and per-element tables
    of every scenario (``mean ± 95% half-width``), the charts, the comparison, the settings
    and the software versions. Pictures are inline ``data:`` URIs."""
    e = html.escape
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
           f"<style>{CSS}</style></head><body><h1>{e(title)}</h1>"]
    if parts.layout_png:
        out.append("<h2>Layout</h2><p>" + _img(parts.layout_png, "layout") + "</p>")
    if parts.changes:
        out.append("<h2>What each scenario changes</h2>")
        out.append(_table(["scenario", "changes (overrides of the base project)"],
                          [[n, "; ".join(c)] for n, c in parts.changes.items()], "changes"))
    if parts.parameters:
        out.append("<h2>Elements and their main parameters</h2>")
        out.append(_table(["element", "kind", "parameters"], parts.parameters, "parameters"))
    for name, doc in summary.items():
        out.append(f"<h2>Scenario {e(name)}: line KPIs ({doc['replications']} "
                   "replications, 95% intervals)</h2>")
        line = [[label, format_ci(doc["line"][k], 4), unit] for k, label, unit in LINE_KPIS
                if k in doc["line"]]
        if doc.get("bottleneck"):
            line.append(["bottleneck", element_label(doc, doc["bottleneck"]), ""])
        out.append(_table(["KPI", "mean ± 95%", "unit"], line, "line-kpis"))
        for group, kinds in KIND_GROUPS:
            rows = [[element_label(doc, eid), kind,
                     *("" if s is None else format_ci(s) for s in stats)]
                    for eid, kind, stats in element_rows(doc, kinds)]
            if not rows:
                continue
            cols = element_columns(doc, kinds)
            out.append(f"<h2>Scenario {e(name)}: {group}</h2>")
            out.append(_table(["element", "kind", *(f"{lab} ({u})" for _, lab, u in cols)],
                              rows, "elements"))
    if parts.comparison and len(parts.comparison) > 1:
        out.append("<h2>Scenario comparison (differences paired by replication, "
                   "* = significant at 95%)</h2>")
        out.append(_table(parts.comparison[0], parts.comparison[1:], "comparison"))
        out.extend(f'<p class="verdict">{e(v)}</p>' for v in parts.verdicts)
    for chart_title, png in parts.charts:
        out.append(f"<h2>{e(chart_title)}</h2><p>" + _img(png, chart_title) + "</p>")
    out.extend(f'<p class="left-out">{e(why)}</p>' for why in parts.left_out)
    out.append("<h2>Project and run settings</h2>")
    out.append(_table(["setting", "value"], [[k, v] for k, v in parts.settings.items()],
                      "settings"))
    out.append("<h2>Software</h2>")
    out.append(_table(["software", "version"], [[k, v] for k, v in parts.versions.items()],
                      "versions"))
    out.append("</body></html>")
    return "\n".join(out)


def write_report(path, summary: dict, parts: ReportParts, title: str) -> None:
    """Write :func:`report_html` to ``path`` through ``twin.safeio``."""
    safeio.write_text(path, report_html(summary, parts, title))
