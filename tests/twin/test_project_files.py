"""The files a project refers to travel with it (issue 18's loose end, issue 12's rules):
Save As into another folder copies the order list's CSV (as it copies meshes), and a name
that is a symbolic link, leaves the folder or is missing is refused with its JSON path."""

import json
import os

import pytest

from kernels import types as kt
from twin.errors import ProjectError
from twin.projectfile.files import referenced_files
from twin.projectfile.reader import load_project, save_project
from twin.sim.orders import scenario_orders
from twin.sim.runner import RunSpec, run_project

ORDERS = "id,product,quantity,release,due\nA,part,3,0,200\nB,part,2,0,1000\n"


def order_project(folder, orders="orders.csv", csv=ORDERS):
    """src (orders from ``orders``) -> M (60 s) -> out, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if csv is not None:
        (folder / "orders.csv").write_text(csv, encoding="utf-8")
    doc = {"schema_version": 1, "name": "csv-orders",
           "elements": [
               {"id": "src", "kind": "source", "position": [0, 0, 0], "orders": orders},
               {"id": "M", "kind": "station", "position": [3, 0, 0], "process_time": 60},
               {"id": "out", "kind": "sink", "position": [6, 0, 0]}],
           "connections": [{"from": "src", "to": "M"}, {"from": "M", "to": "out"}],
           "run": {"horizon": 3600, "warmup": 0, "replications": 1, "seed": 1}}
    (folder / "project.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def test_save_as_copies_the_orders_csv_and_the_copy_runs(tmp_path):
    p = load_project(order_project(tmp_path / "a"))
    assert [(r.path, r.file) for r in referenced_files(p)] == [("$.elements[0].orders",
                                                                 "orders.csv")]
    save_project(p, tmp_path / "b")
    assert (tmp_path / "b" / "orders.csv").read_text(encoding="utf-8") == ORDERS
    assert json.loads((tmp_path / "b" / "project.json").read_text())["elements"][0][
        "orders"] == "orders.csv"  # still the file's name, not the orders inline
    (tmp_path / "a" / "orders.csv").unlink()  # the copy stands on its own
    q = load_project(tmp_path / "b")
    assert [(o.id, o.quantity, o.due) for o in q.element("src").orders] == [
        ("A", 3, 200.0), ("B", 2, 1000.0)]
    # EDD-free fifo: A's 3 parts leave M at 60, 120, 180 s, then B's at 240, 300 s
    res = scenario_orders(run_project(q, ["base"], RunSpec(horizon=3600.0, replications=1))
                          .scenarios["base"])
    assert res["A"]["completion_mean_s"] == pytest.approx(180.0)
    assert res["B"]["completion_mean_s"] == pytest.approx(300.0)
    assert res["A"]["p_on_time"] == 1.0 and res["B"]["p_on_time"] == 1.0


def test_save_as_refuses_an_orders_csv_gone_missing_and_writes_nothing(tmp_path):
    p = load_project(order_project(tmp_path / "a"))
    (tmp_path / "a" / "orders.csv").unlink()
    with pytest.raises(ProjectError) as exc:
        save_project(p, tmp_path / "b")
    msg = str(exc.value)
    assert "$.elements[0].orders" in msg and "source 'src': its orders file" in msg
    assert "'orders.csv' is missing" in msg and "put the file back" in msg
    assert not (tmp_path / "b" / "project.json").exists()


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_an_orders_csv_that_is_a_link_is_refused_at_load_and_at_save_as(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(ORDERS, encoding="utf-8")
    folder = order_project(tmp_path / "a", csv=None)
    (folder / "orders.csv").symlink_to(secret)
    with pytest.raises(ProjectError) as exc:
        load_project(folder)
    assert "$.elements[0].orders" in str(exc.value) and "symbolic link" in str(exc.value)
    # loaded while a plain file, made a link afterwards: Save As does not copy the target
    (folder / "orders.csv").unlink()
    (folder / "orders.csv").write_text(ORDERS, encoding="utf-8")
    p = load_project(folder)
    (folder / "orders.csv").unlink()
    (folder / "orders.csv").symlink_to(secret)
    with pytest.raises(ProjectError, match=r"orders file 'orders.csv' is a symbolic link"):
        save_project(p, tmp_path / "b")
    assert not (tmp_path / "b" / "orders.csv").exists()


@pytest.mark.parametrize("name", ["../orders.csv", "/etc/passwd"])
def test_an_orders_csv_outside_the_folder_is_refused(tmp_path, name):
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    with pytest.raises(ProjectError) as exc:
        load_project(order_project(tmp_path / "a", orders=name, csv=None))
    msg = str(exc.value)
    assert "$.elements[0].orders" in msg and "project folder" in msg
    assert "list the orders inline" in msg


def test_saving_in_place_copies_nothing_and_keeps_the_name(tmp_path):
    p = load_project(order_project(tmp_path / "a"))
    save_project(p, tmp_path / "a")
    assert sorted(x.name for x in (tmp_path / "a").iterdir()) == ["orders.csv",
                                                                   "project.json"]
    assert kt.SQ_FIFO == 0  # the default rule, written as nothing
    assert "sequencing" not in json.loads((tmp_path / "a" / "project.json").read_text())[
        "elements"][0]


def test_an_experiments_design_points_carry_the_csvs_orders(tmp_path):
    # a design point is read away from the project folder: its orders go inline
    from twin.experiments.evaluate import base_document
    from twin.projectfile.reader import project_from_json

    p = load_project(order_project(tmp_path / "a"))
    point = project_from_json(base_document(p))
    assert point.element("src").orders == p.element("src").orders


def test_save_as_copies_the_tariffs_series_csvs(tmp_path):
    # the tariff's price series and CO2 series beside project.json travel as the orders do
    from tests.twin.test_energy_context import DOC, _hourly_csv

    folder = tmp_path / "a"
    folder.mkdir()
    _hourly_csv(folder, "prices.csv", [0.1, 0.2, 0.3, 0.4])
    _hourly_csv(folder, "co2.csv", [300, 310, 320, 330])
    doc = {**DOC, "tariff": {"price_series": "prices.csv", "co2_g_per_kwh": "co2.csv"}}
    (folder / "project.json").write_text(json.dumps(doc), encoding="utf-8")
    p = load_project(folder)
    assert [(r.path, r.file) for r in referenced_files(p)] == [
        ("$.tariff.price_series", "prices.csv"), ("$.tariff.co2_g_per_kwh", "co2.csv")]
    save_project(p, tmp_path / "b")
    for name in ("prices.csv", "co2.csv"):
        assert (tmp_path / "b" / name).read_bytes() == (folder / name).read_bytes()
    t = load_project(tmp_path / "b").tariff
    assert t.price_series.values == (0.1, 0.2, 0.3, 0.4)
    assert t.co2_series.values == (300, 310, 320, 330)
