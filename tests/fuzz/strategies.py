"""Hypothesis strategies for the fuzz tests and ``benchmarks/fuzz.py``: each draws a
:class:`harness.Case`.

Project documents start valid-shaped: a line source -> stations (with buffers or conveyors
between them) -> sink, whose distributions, run settings, tariff and wear are drawn from
``twin/projectfile/project.schema.json`` with hypothesis-jsonschema (the whole schema is too
large for it: its ``if``/``then`` element kinds take minutes per example, so the line is put
together here from the schema's parts). Then :func:`mutated` changes one to three places of a
document: extreme numbers, huge or broken strings, NaN written as text, deep nesting, a
dropped key, another type. The example projects in ``projects/`` and the shipped mappings
are mutated the same way; CSV data loses columns and gains broken rows; recordings are
changed with h5py (:func:`harness.mutate_recording`).
"""

from __future__ import annotations

import copy
import json
import sys
from functools import cache

from harness import BASES, ROOT, Case, base_paths
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

# documents nested 1,200 deep are drawn, copied and dumped here (the readers get them as text)
sys.setrecursionlimit(max(sys.getrecursionlimit(), 6000))

SCHEMA = json.loads((ROOT / "twin/projectfile/project.schema.json").read_text(encoding="utf-8"))
EXAMPLES = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "projects").glob("*/project.json"))}
MAPPINGS = {p.name: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "resources/mappings").glob("*.json"))}
MAPPINGS["buckets (tests)"] = BASES["buckets"][1]

#: Horizons of a fuzzed run, seconds: each case must end in milliseconds once compiled.
HORIZONS = (1.0, 60.0, 600.0)

# --- values a user (or a broken exporter) can write ---------------------------------------------

EXTREME_NUMBERS = (0, -1, -0.0, 1e-12, 5e-324, 1e300, -1e300, 1.7976931348623157e308,
                   2**31, 2**53 + 1, 2**63, 2**64, -(2**63), 10**40, 0.5, 1.5,
                   float("nan"), float("inf"), float("-inf"))
EXTREME_STRINGS = ("", " ", "NaN", "nan", "Infinity", "-inf", "1e400", "1e308h", "1e-12s",
                   "99999999999999999999d", "-5min", "0", "8h 30", "\x00", "\x07\x1b[2J",
                   "\ud800", "a\udfffb", "é" * 3, "x" * 100_000, "../../../etc/passwd",
                   "/dev/zero", "CON", "meshes/../../x.stl", "%s%n", "{}", "[]", "null")


def extreme_values() -> st.SearchStrategy:
    """A value that replaces a field: extreme numbers and strings, other types, nesting."""
    deep = st.integers(60, 1200).map(_nest)
    return st.one_of(
        st.sampled_from(EXTREME_NUMBERS), st.sampled_from(EXTREME_STRINGS),
        st.sampled_from([None, True, False, [], {}, [1, 2, 3], {"dist": "nope"}]),
        st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=20),
        deep,
    )


def _nest(n: int):
    doc: object = 1
    for i in range(n):
        doc = [doc] if i % 2 else {"a": doc}
    return doc


# --- JSON mutations -----------------------------------------------------------------------------

def _places(doc, path=()):
    """Every place of a JSON document: paths of keys and list items, the root included."""
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _places(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _places(v, (*path, i))


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw, docs: st.SearchStrategy, most: int = 3):
    """A document of ``docs`` with one to ``most`` places changed."""
    doc = copy.deepcopy(draw(docs))
    for _ in range(draw(st.integers(1, most))):
        places = list(_places(doc))
        path = draw(st.sampled_from(places))
        op = draw(st.sampled_from(["replace", "replace", "replace", "drop", "wrap", "stringify",
                                   "duplicate"]))
        if not path:
            if op == "replace":
                doc = draw(extreme_values())
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        value = parent[key]
        if op == "replace":
            parent[key] = draw(extreme_values())
        elif op == "drop":
            del parent[key]
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[value], {"value": value}, [[value]]]))
        elif op == "stringify":
            parent[key] = json.dumps(value) if not isinstance(value, str) else [value]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        elif op == "duplicate":
            parent[f"{key}"] = copy.deepcopy(value)
            parent[f"x-{key}"] = copy.deepcopy(value)
    return doc


def dump(doc) -> bytes:
    """JSON text as a user's editor might leave it: NaN and Infinity written as such, lone
    surrogates escaped (``\\ud800``)."""
    return json.dumps(doc, indent=1, allow_nan=True).encode("utf-8")


@st.composite
def text_damage(draw, data: bytes) -> bytes:
    """The bytes of a file after an editor or a transfer went wrong."""
    op = draw(st.sampled_from(["none", "none", "none", "truncate", "bom", "latin1", "nul",
                               "crlf"]))
    if op == "truncate" and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "latin1":
        return data.decode("utf-8", "surrogatepass").encode("latin-1", "replace")
    if op == "nul" and data:
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + b"\x00" + data[i:]
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    return data


# --- valid-shaped projects from the schema --------------------------------------------------

def _inline(node, defs):
    """The schema with its ``$ref``s replaced by their definitions (hypothesis-jsonschema
    does not resolve ``$defs`` under a ``urn:`` ``$id``)."""
    if isinstance(node, list):
        return [_inline(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    node = {k: _inline(v, defs) for k, v in node.items() if k not in ("description", "default")}
    if "$ref" in node:
        target = _inline(defs[node.pop("$ref").removeprefix("#/$defs/")], defs)
        return {"allOf": [target, node]} if node else target
    return node


@cache
def schema_part(name: str) -> st.SearchStrategy:
    """Documents valid against one definition of the project schema."""
    defs = SCHEMA["$defs"]
    return from_schema(_inline(defs[name], defs))


@cache
def distributions() -> st.SearchStrategy:
    """Valid distributions: the schema's (any number it allows, 1e308 included) and
    everyday ones (a line that produces something in a short horizon)."""
    branches = [b["then"] for b in SCHEMA["$defs"]["distribution_object"]["allOf"]]
    everyday = st.builds(lambda d, m: {"dist": d, "mean": m},
                         st.sampled_from(["exponential", "constant"]),
                         st.floats(0.5, 120)).map(
        lambda d: d if d["dist"] == "exponential" else {"dist": "constant", "value": d["mean"]})
    return st.one_of(everyday, everyday, st.floats(0.1, 100), *map(from_schema, branches))


@st.composite
def stations(draw, eid: str) -> dict:
    el = {"id": eid, "kind": "station", "name": f"Station {eid}",
          "process_time": draw(distributions())}
    if draw(st.booleans()):
        el["servers"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        el["failures"] = {"basis": draw(st.sampled_from(["operating", "calendar",
                                                         "operations"])),
                          "time_to_failure": draw(distributions()),
                          "time_to_repair": draw(distributions())}
    if draw(st.booleans()):
        el["scrap"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        el["power_kw"] = draw(st.dictionaries(
            st.sampled_from(["off", "idle", "busy", "setup", "blocked", "starved", "down",
                             "maintenance"]), st.floats(0, 1e3)))
    if draw(st.booleans()):
        el["wear"] = {k: v for k, v in draw(schema_part("wear")).items()
                      if not k.startswith("x-")}
    if draw(st.booleans()):
        el["setup_time"] = draw(distributions())
    if draw(st.booleans()):
        el["maintenance"] = {"duration": draw(distributions()),
                             "every_operations": draw(st.integers(1, 1000))}
    return el


@st.composite
def between(draw, eid: str) -> dict | None:
    kind = draw(st.sampled_from([None, "buffer", "conveyor"]))
    if kind == "buffer":
        return {"id": eid, "kind": "buffer", "capacity": draw(st.one_of(
            st.none(), st.integers(1, 50)))}
    if kind == "conveyor":
        return {"id": eid, "kind": "conveyor", "length": draw(st.floats(0.1, 50)),
                "speed": draw(st.floats(0.01, 5)), "spacing": draw(st.floats(0.1, 2))}
    return None


@st.composite
def project_docs(draw) -> dict:
    """A valid-shaped line: a source, 1-4 stations with buffers or conveyors between, a sink;
    sometimes a calendar, a tariff, run settings and scenarios."""
    els = [{"id": "src", "kind": "source", "arrival": draw(st.one_of(st.none(),
                                                                       distributions()))}]
    if draw(st.booleans()):
        els[0]["product_mix"] = {"a": 1.0, "b": draw(st.floats(0, 5))}
    for i in range(draw(st.integers(1, 4))):
        if i and (mid := draw(between(f"q{i}"))):
            els.append(mid)
        els.append(draw(stations(f"m{i}")))
    els.append({"id": "sink", "kind": "sink"})
    doc = {"schema_version": 1, "name": "fuzz line", "elements": els,
           "connections": [[a["id"], b["id"]] for a, b in zip(els, els[1:], strict=False)]}
    if draw(st.booleans()):
        doc["calendar"] = {"shifts": [{"start": "6h", "end": "14h"},
                                      {"start": draw(st.sampled_from(["14h", "15h"])),
                                       "end": "22h"}],
                           "breaks": [{"start": "10h", "end": "10h15min"}]}
    if draw(st.booleans()):
        doc["tariff"] = {k: v for k, v in draw(schema_part("tariff")).items()
                         if not k.startswith("x-")}
    if draw(st.booleans()):
        doc["run"] = {k: v for k, v in draw(schema_part("run")).items()
                      if not k.startswith("x-")}
    if draw(st.booleans()):
        draw(features(doc))
    if draw(st.booleans()):
        station = draw(st.sampled_from([e for e in els if e["kind"] == "station"]))
        doc["scenarios"] = [{"name": "faster", "overrides": [
            {"element": station["id"], "path": draw(st.sampled_from(
                ["process_time", "servers", "failures.time_to_repair", "scrap"])),
             "value": draw(st.one_of(distributions(), st.integers(1, 4)))}]}]
    return doc


@st.composite
def features(draw, doc: dict) -> dict:
    """Some of the modelling features of issues 18 and 19 on a drawn line, shaped as the
    schema says and naming elements that exist, so that the checks behind the schema (and the
    kernel's feature paths) are reached: energy saving, batch loads, disassembly, worker
    pools, demand-response windows, an order list with a sequencing rule."""
    stations = [e for e in doc["elements"] if e["kind"] == "station"]
    small = st.floats(0, 7200, allow_nan=False)
    if draw(st.booleans()):
        draw(st.sampled_from(stations))["energy_saving"] = {
            "after_s": draw(small), "mode": draw(st.sampled_from(["standby", "off"])),
            "when": draw(st.sampled_from(["starved", "blocked", "both"])),
            "restart_s": draw(distributions()), "restart_kwh": draw(st.floats(0, 100))}
    if draw(st.booleans()):
        size = draw(st.integers(1, 8))
        draw(st.sampled_from(stations))["batch"] = {
            "size": size, "timeout": draw(st.one_of(st.none(), small)),
            "min_fill": draw(st.integers(1, size + 1))}
    if draw(st.booleans()):
        stations[-1]["disassembly"] = {"outputs": [{"to": "sink",
                                                    "quantity": draw(st.integers(1, 4))}]}
    if draw(st.booleans()):
        doc["workers"] = [{"id": "crew", "count": draw(st.integers(1, 3)),
                           "speed": draw(st.floats(0.05, 5))}]
        draw(st.sampled_from(stations))["workers"] = {
            draw(st.sampled_from(["repair", "setup", "process"])): "crew"}
    if draw(st.booleans()):
        times = sorted(draw(st.lists(small, min_size=2, max_size=6)))
        doc["demand_response"] = [{
            "stations": [draw(st.sampled_from(stations))["id"]],
            "windows": [[a, b] for a, b in zip(times[::2], times[1::2], strict=False)],
            "action": draw(st.sampled_from(["pause", "slow"])),
            "speed": draw(st.floats(0.05, 1))}]
    if draw(st.booleans()):
        src = doc["elements"][0]
        src.pop("arrival", None)
        src["orders"] = [{"id": f"o{i}", "product": draw(st.sampled_from(["a", "b"])),
                          "quantity": draw(st.integers(1, 20)), "release": draw(small),
                          "due": draw(small)} for i in range(draw(st.integers(1, 5)))]
        src["sequencing"] = draw(st.sampled_from(["fifo", "edd", "spt", "priority", "setup"]))
    return doc


def any_project_docs() -> st.SearchStrategy:
    """Valid-shaped lines, the examples, and either of them mutated."""
    examples = st.sampled_from(sorted(EXAMPLES)).map(lambda k: EXAMPLES[k])
    return st.one_of(project_docs(), mutated(project_docs()), mutated(examples),
                     mutated(examples))


# --- cases --------------------------------------------------------------------------------------

@st.composite
def project_cases(draw) -> Case:
    """``load_project`` of a project folder, then a short run of every scenario."""
    data = draw(text_damage(dump(draw(any_project_docs()))))
    return Case("project", ["@plant", draw(st.sampled_from(HORIZONS)), draw(st.integers(1, 2))],
                {"plant/project.json": data})


@st.composite
def cli_cases(draw, subprocess: bool = False) -> Case:
    """``twinbench check`` or a short ``twinbench run --json`` of a project folder."""
    data = draw(text_damage(dump(draw(any_project_docs()))))
    if draw(st.integers(0, 3)) == 0:
        argv = ["check", "@plant"]
    else:
        argv = ["run", "@plant", "--horizon", str(draw(st.sampled_from(HORIZONS))),
                "--replications", str(draw(st.integers(1, 2))), "--json", "--quiet"]
        if draw(st.booleans()):
            argv += ["--warmup", draw(st.sampled_from(["0", "10", "30min", "-1", "1e400"]))]
        if draw(st.booleans()):
            argv += ["--seed", draw(st.sampled_from(["0", "7", "-1", str(2**64)]))]
        if draw(st.booleans()):
            argv += ["--scenario", draw(st.sampled_from(["base", "faster", "nope", ""]))]
        if draw(st.booleans()):
            argv += ["--out", "@results.h5", *draw(st.sampled_from([[], ["--state-log"]]))]
    return Case("subprocess" if subprocess else "cli", argv, {"plant/project.json": data})


def mapping_docs() -> st.SearchStrategy:
    return st.sampled_from(sorted(MAPPINGS)).map(lambda k: MAPPINGS[k])


@st.composite
def mapping_cases(draw) -> Case:
    """``load_mapping`` of a mutated mapping file."""
    data = draw(text_damage(dump(draw(mutated(mapping_docs())))))
    return Case("mapping", ["@mapping.json"], {"mapping.json": data})


CSV_CELLS = ("", "NaN", "nan", "inf", "-inf", "1e308", "-1", "1e400", "0x10", "9" * 400,
             "2024-02-30T00:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00",
             "1970-01-01T00:00:00Z", "2024-05-06T06:00:00+99:00", "\x00", '"', '"a,b"',
             "é", "\ud800", "RUN", "3", "2.0", " 2 ", "-0", "x" * 10_000, "\r", "1,5")


@st.composite
def csv_text(draw, shape: str) -> bytes:
    """The base CSV of a recording shape with rows changed, added, dropped; columns
    dropped, renamed or repeated."""
    lines = BASES[shape][0].splitlines()
    header, rows = lines[0].split(","), [ln.split(",") for ln in lines[1:]]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "row", "drop_row", "drop_col",
                                   "rename_col", "repeat_col", "short_row", "many_rows"]))
        if op == "cell" and rows:
            r = draw(st.integers(0, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1)) if rows[r] else 0
            if rows[r]:
                rows[r][c] = draw(st.one_of(st.sampled_from(CSV_CELLS), st.text(max_size=12)))
        elif op == "row":
            rows.append([draw(st.sampled_from(CSV_CELLS)) for _ in header])
        elif op == "drop_row" and rows:
            rows.pop(draw(st.integers(0, len(rows) - 1)))
        elif op in ("drop_col", "rename_col", "repeat_col") and header:
            c = draw(st.integers(0, len(header) - 1))
            if op == "drop_col":
                header.pop(c)
                for r in rows:
                    if c < len(r):
                        r.pop(c)
            elif op == "rename_col":
                header[c] = draw(st.sampled_from(["", "TS", header[c] + " ", "ts", "asset"]))
            else:
                header.append(header[c])
                for r in rows:
                    r.append(r[c] if c < len(r) else "")
        elif op == "short_row" and rows:
            rows[draw(st.integers(0, len(rows) - 1))] = ["2024-05-06T06:00:00"]
        elif op == "many_rows" and rows:
            rows += [list(rows[-1]) for _ in range(draw(st.integers(1, 2000)))]
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    return draw(text_damage(text.encode("utf-8", "surrogatepass")))


@st.composite
def import_cases(draw, cli: bool = False) -> Case:
    """``import_recording`` (or ``twinbench import``) of a damaged CSV with its mapping,
    sometimes a mutated mapping too; a recording that imports is read back."""
    shape = draw(st.sampled_from(sorted(BASES)))
    mapping = BASES[shape][1]
    if draw(st.integers(0, 3)) == 0:
        mapping = draw(mutated(st.just(mapping), most=1))
    files = {"data.csv": draw(csv_text(shape)), "mapping.json": dump(mapping)}
    if cli:
        return Case("cli", ["import", "@data.csv", "--mapping", "@mapping.json", "--out",
                            "@out.h5", "--quiet"], files)
    return Case("import", ["@data.csv", "@mapping.json", "@out.h5"], files)


@cache
def _structure(shape: str) -> tuple[list[str], list[str]]:
    return base_paths(shape)


ROOT_ATTRS = ("format", "schema_version", "shape", "time_zone", "epoch_utc",
              "bucket_length_s", "mapping", "import_report", "shifts", "source", "created")
ASSET_ATTRS = ("asset_id", "element", "ideal_cycle_time_s", "name", "order", "server")
FIELDS = ("time", "state", "raw_state", "count", "good", "start", "length", "parts", "scrap",
          "power_kw", "product", "level")
ATTR_VALUES = (None, 0, -1, 2**40, 3, 99, 1.5, "nan", "inf", "", "x", "{", "[]", "null",
               "not a zone", "Mars/Olympus", "9999-12-31T23:59:59+00:00",
               "0001-01-01T00:00:00+00:00", "2024-01-01T00:00:00", "twinbench-recording",
               "event_log", "buckets", "\x00", '{"a": NaN}', '[{"name": "x", "start": "25:00"}]')
MUTATION_VALUES = ("nan", "inf", "-inf", 1e308, -1e308, -1, 0, 2**31 - 1, -(2**31), 127, -128,
                   1e-300, 5e-324)


@st.composite
def h5_mutations(draw, shape: str) -> dict:
    datasets, groups = _structure(shape)
    places = datasets + groups[1:]
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "scalar", "retype", "fill", "fill", "fill",
                                   "resize", "attr", "attr", "attr", "softlink", "extlink",
                                   "truncate", "flip"]))
        mu: dict = {"op": op}
        if op in ("delete", "scalar", "softlink", "extlink"):
            mu["path"] = draw(st.sampled_from(places))
        elif op in ("retype", "fill", "resize"):
            mu["path"] = draw(st.sampled_from(datasets))
        if op == "scalar":
            mu["value"] = draw(st.sampled_from([0, -1, 1.5, "nan", "text", 2**62]))
        elif op == "retype":
            mu["dtype"] = draw(st.sampled_from(["i1", "u1", "f4", "f8", "i8", "S4", "S200",
                                                "bool"]))
        elif op == "fill":
            mu["field"] = draw(st.sampled_from(FIELDS))
            mu["value"] = draw(st.sampled_from(MUTATION_VALUES))
        elif op == "resize":
            mu["rows"] = draw(st.sampled_from([0, 1, 2, 1000, 100_000]))
        elif op == "attr":
            mu["path"] = draw(st.sampled_from(groups))
            names = ROOT_ATTRS if mu["path"] == "/" else ASSET_ATTRS
            mu["name"] = draw(st.sampled_from(names))
            mu["value"] = draw(st.sampled_from(ATTR_VALUES))
        elif op == "softlink":
            mu["target"] = draw(st.sampled_from(["/nowhere", "/", "/assets", mu["path"]]))
        elif op == "extlink":
            mu["file"] = draw(st.sampled_from(["missing.h5", "/etc/passwd", "rec.h5",
                                               "/dev/zero"]))
            mu["target"] = draw(st.sampled_from(["/", "/assets"]))
        elif op == "truncate":
            mu["size"] = draw(st.sampled_from([0, 8, 100, 512, 2048, 4096, 8000]))
        elif op == "flip":
            mu["offset"] = draw(st.integers(0, 20_000))
        ops.append(mu)
    return {"base": shape, "mutations": ops, "name": "rec.h5"}


@st.composite
def recording_cases(draw, cli: bool = False) -> Case:
    """Reading, replaying and KPIs of a recording that twinbench wrote, then h5py changed."""
    recipe = draw(h5_mutations(draw(st.sampled_from(sorted(BASES)))))
    if cli:
        extra = draw(st.sampled_from([[], ["--by", "shift"], ["--by", "day"],
                                      ["--from", "0", "--to", "1e300"],
                                      ["--from", "2024-05-06T06:10"]]))
        return Case("cli", ["replay", "@rec.h5", "--json", *extra], recording=recipe)
    return Case("recording", ["@rec.h5"], recording=recipe)


#: Every reader's cases, for ``benchmarks/fuzz.py``.
READERS = {
    "project": project_cases, "cli": cli_cases, "mapping": mapping_cases,
    "csv": import_cases, "csv-cli": lambda: import_cases(cli=True),
    "recording": recording_cases, "recording-cli": lambda: recording_cases(cli=True),
}
