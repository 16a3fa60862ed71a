"""Import the real SME retrofit recording and check it against the raw CSV.

The oracle reads the CSV with the ``csv`` module and exact fractions, independently of
Arrow, NumPy and the import code.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kernels.types import BUSY, DOWN, IDLE
from twin.recording import (
    Recording,
    daily_kpis,
    import_recording,
    load_mapping,
    recording_kpis,
    replay_asset,
    shift_kpis,
)


def _shared() -> Path:
    """``shared/`` beside the repository: next to the main checkout (``../shared``), or
    next to the folder that holds a git worktree of it (``../../shared``)."""
    here = Path(__file__).resolve()
    for parent in here.parents[2:]:
        if (parent / "shared" / "data" / "sme-retrofit").is_dir():
            return parent / "shared"
    return here.parents[3] / "shared"


SHARED = _shared()
DATA = SHARED / "data/sme-retrofit/company_A_labelled_subset.csv"
MAPPING = Path(__file__).resolve().parents[2] / "resources/mappings/sme_retrofit_mapping.json"

pytestmark = pytest.mark.skipif(
    not DATA.is_file(), reason=f"the SME retrofit data is not at {DATA} (it lives beside the repo)"
)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(DATA, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def recording(tmp_path_factory, rows):
    out = tmp_path_factory.mktemp("sme") / "sme.h5"
    report = import_recording(DATA, MAPPING, out)
    with Recording.open(out) as rec:
        yield rec, report


def test_every_row_is_stored(recording, rows):
    rec, report = recording
    assert report.rows_read == len(rows) == 14_492
    assert report.rows_stored == len(rows)
    assert report.rows_not_stored == 0
    assert report.records == {"buckets": len(rows)}
    assert sum(len(rec.asset(a).buckets) for a in rec.asset_ids) == len(rows)
    assert rec.asset_ids == ("0", "1", "2")
    assert rec.asset("1").name == "Machine 1"
    assert rec.import_report == report


def test_parts_and_energy_per_machine_equal_the_raw_csv(recording, rows):
    rec, _ = recording
    parts: dict[str, Fraction] = defaultdict(Fraction)
    kwh: dict[str, Fraction] = defaultdict(Fraction)
    for row in rows:
        parts[row["asset"]] += Fraction(row["items"])
        kwh[row["asset"]] += Fraction(row["power_avg"]) * 5 / 60
    kpis = recording_kpis(rec)
    assert set(kpis) == set(parts) == {"0", "1", "2"}
    for asset, k in kpis.items():
        assert k.parts_out == float(parts[asset])
        assert k.produced == float(parts[asset])
        assert k.scrap == 0
        assert k.energy_kwh == float(kwh[asset])  # exact: integer kW x 300 s, one division


def test_states_and_raw_codes_are_mapped_and_kept(recording, rows):
    rec, _ = recording
    raw = rec.labels("raw_state")
    expected = {"0": IDLE, "1": BUSY, "2": BUSY, "3": DOWN}
    for asset in rec.asset_ids:
        b = rec.asset(asset).buckets
        src = [r for r in rows if r["asset"] == asset]
        codes = [str(int(float(r["status"]))) for r in src]
        assert [raw[i] for i in b["raw_state"]] == codes
        assert b["state"].tolist() == [expected[c] for c in codes]
        assert np.all(b["length"] == 300.0)
        assert b["power_kw"].tolist() == [float(r["power_avg"]) for r in src]


def _gaps_from_csv(rows: list[dict]) -> dict[str, tuple[int, float]]:
    starts: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        starts[row["asset"]].append(datetime.fromisoformat(row["ts"]).timestamp())
    out = {}
    for asset, ts in starts.items():
        ts.sort()
        n, total, end = 0, 0.0, ts[0] + 300
        for t in ts[1:]:
            if t > end:
                n, total = n + 1, total + (t - end)
            end = max(end, t + 300)
        out[asset] = (n, total)
    return out


def test_gaps_are_reported(recording, rows):
    _, report = recording
    expected = _gaps_from_csv(rows)
    assert report.count("gaps") == sum(n for n, _ in expected.values()) > 0
    assert report.gap_time_s == pytest.approx(sum(t for _, t in expected.values()), abs=1e-6)
    for asset, (n, total) in expected.items():
        assert report.assets[asset].gaps == n
        assert report.assets[asset].gap_time_s == pytest.approx(total, abs=1e-6)
    example = report.issues["gaps"].examples[0]
    assert example.row is not None and example.asset in expected
    # off-grid rows (a state change inside a bucket) overlap the previous bucket
    assert report.count("overlaps") > 0
    assert report.count("out_of_order") == report.count("duplicates") == 0


def test_replay_timeline_partitions_the_window(recording):
    rec, _ = recording
    kpis = recording_kpis(rec)
    for k in kpis.values():
        assert sum(k.state_time_s.values()) == pytest.approx(k.t1 - k.t0, rel=1e-12)
        assert k.observed_s == pytest.approx(k.t1 - k.t0 - k.state_time_s["no_data"])
        assert 0 < k.availability <= 1
    # Machine 2 is down in the alarm row of 2022-08-31 23:20:12 UTC (CSV line 36)
    r = replay_asset(rec, "2")
    t = rec.time_of("2022-08-31T23:20:20+00:00")
    assert r.state_at(t) == DOWN
    assert r.state_at(rec.time_of("2022-08-31T23:20:40+00:00")) == BUSY
    # ... and has no data between its bucket of 23:10 and the alarm row
    assert r.timeline.state_name_at(rec.time_of("2022-08-31T23:17:00+00:00")) == "no_data"


def test_days_and_shifts_add_up_to_the_whole(recording):
    rec, _ = recording
    total = recording_kpis(rec)
    for asset in rec.asset_ids:
        days = daily_kpis(rec, asset)
        shifts = shift_kpis(rec, asset)
        assert days[0].label == "2022-09-01"  # 22:00 UTC is midnight in Rome (CEST)
        for periods in (days, shifts):
            assert sum(p.kpis.parts_out for p in periods) == total[asset].parts_out
            assert sum(p.kpis.energy_kwh for p in periods) == pytest.approx(
                total[asset].energy_kwh, rel=1e-12)
            assert sum(p.kpis.failures for p in periods) >= total[asset].failures


def test_mapping_is_stored_for_provenance(recording):
    rec, _ = recording
    mapping = load_mapping(MAPPING)
    assert rec.mapping == mapping.document
    assert "doi:10.3390/s23136078" in rec.source
    assert rec.time_zone == "Europe/Rome"
    assert rec.bucket_length_s == 300.0
