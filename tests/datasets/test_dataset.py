"""Labelled datasets: labels agree with the ground-truth events; pandas and polars read the files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from plc_emulator.cli import main
from plc_emulator.datasets import (
    FAULT_CATEGORIES,
    DatasetConfig,
    FaultCampaign,
    build_dataset,
    column_plan,
    dataset_paths,
)
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP

PLANTS = 3
DT = 10.0
TICKS = 2160  # 6 h


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """3 plants, 6 h at 10 s, about one fault per plant-hour, pumps that start degrading within hours,
    a manual ESD on plant 1 at 2 h; small row groups so the file has several."""
    from plc_emulator.commands import Command, CommandKind

    out = tmp_path_factory.mktemp("ds") / "run.parquet"
    tagmap = replace(load(DEFAULT_TAGMAP), scan_period=DT)
    cfg = DatasetConfig(plants=PLANTS, ticks=TICKS, dt=DT, seed=3,
                        campaign=FaultCampaign(rate_per_day=24.0, min_hours=0.3, max_hours=1.0),
                        weibull_scale_days=0.05, max_cells=150_000)
    esd = {720: [Command(kind=CommandKind.WRITE, target="ESD.trip", value=1.0, params={"plant": 1})]}
    paths = dataset_paths(out)
    summary = build_dataset(tagmap, cfg, paths, schedule=esd)
    return {"paths": paths, "summary": summary, "plan": column_plan(tagmap),
            "data": pd.read_parquet(paths.data), "events": pd.read_parquet(paths.events)}


def test_fault_labels_agree_with_ground_truth_events(dataset: dict[str, Any]) -> None:
    data, events, plan = dataset["data"], dataset["events"], dataset["plan"]
    key_of = dict(zip(plan.fault_signals, plan.fault_keys, strict=True))
    faults = events[events["kind"] == "fault"]
    assert len(faults) >= 8, faults  # the campaign really injected faults
    assert set(faults["fault_kind"]) <= set(FAULT_CATEGORIES[1:])
    expected = {key: np.full(len(data), "none", dtype=object) for key in plan.fault_keys}
    for ev in faults.itertuples():
        end = TICKS + 1 if pd.isna(ev.end_tick) else ev.end_tick
        rows = (data["plant"] == ev.plant) & (data["tick"] >= ev.start_tick) & (data["tick"] < end)
        assert rows.sum() > 0
        expected[key_of[ev.target]][rows.to_numpy()] = ev.fault_kind
    for key in plan.fault_keys:
        got = data[f"fault.{key}"].astype(str).to_numpy()
        assert (got == expected[key]).all(), key
    assert (data["fault_any"] == np.any([expected[k] != "none" for k in plan.fault_keys], axis=0)).all()


def test_faults_show_in_measured_not_true_values(dataset: dict[str, Any]) -> None:
    """A bias fault moves the measured value by its offset and a fail makes it Bad; the true value
    carries neither."""
    data, events, plan = dataset["data"], dataset["events"], dataset["plan"]
    key_of = dict(zip(plan.fault_signals, plan.fault_keys, strict=True))
    checked = 0
    for ev in events[events["kind"] == "fault"].itertuples():
        if ev.fault_kind not in ("bias", "fail"):
            continue
        key = key_of[ev.target]
        rows = data[(data["plant"] == ev.plant) & (data["tick"] >= ev.start_tick) & (data["tick"] < ev.end_tick)]
        if ev.fault_kind == "fail":
            assert ((rows[f"{key}.status"] >> 30) >= 2).all()  # Bad
        else:
            offset = json.loads(ev.detail)["offset"]
            good = rows[rows[f"{key}.status"] == 0]
            err = (good[key] - good[f"{key}.true"]).median()
            assert err == pytest.approx(offset, abs=0.2 * abs(offset)), key
        assert rows[f"{key}.true"].notna().all()
        checked += 1
    assert checked >= 1


def test_stage_health_esd_agree_with_events(dataset: dict[str, Any]) -> None:
    data, events = dataset["data"], dataset["events"]
    deg = events[events["kind"] == "degradation"]
    assert len(deg) >= 1
    for p in range(PLANTS):
        rows = data[data["plant"] == p]
        mine = deg[deg["plant"] == p]
        if mine.empty:
            assert (rows["pump.stage"] == 0).all()
            continue
        ev = mine.iloc[0]
        before, after = rows[rows["tick"] < ev.start_tick], rows[rows["tick"] >= ev.start_tick]
        assert (before["pump.stage"] == 0).all()
        assert (before["pump.health"] == 1.0).all()
        assert (after["pump.stage"] >= 1).all()
        assert after["pump.health"].is_monotonic_decreasing
    esd = events[events["kind"] == "esd"]
    assert list(esd["plant"]) == [1]
    ev = esd.iloc[0]
    rows = data[data["plant"] == 1]
    inside = (rows["tick"] >= ev.start_tick) & (rows["tick"] < ev.end_tick)
    assert ev.start_tick == 720  # a command scheduled at tick 720 is applied in that tick
    assert rows.loc[inside, "esd_active"].all()
    assert not rows.loc[~inside, "esd_active"].any()


def test_polars_reads_the_same_and_row_groups_are_bounded(dataset: dict[str, Any]) -> None:
    paths, summary = dataset["paths"], dataset["summary"]
    frame = pl.read_parquet(paths.data)
    assert frame.height == PLANTS * (TICKS + 1) == summary["rows"]
    assert frame.schema["fault.SEP-V100.inlet_pressure"] == pl.Categorical
    assert frame.schema["time"] == pl.Datetime("ns", "UTC")
    md = pq.ParquetFile(paths.data).metadata
    assert md.num_row_groups == summary["row_groups"] >= 3
    assert max(md.row_group(i).num_rows for i in range(md.num_row_groups)) == summary["rows_per_group"]
    meta = json.loads(paths.metadata.read_text())
    assert meta["tagmap"]["sha256"] == load(DEFAULT_TAGMAP).sha256
    assert meta["seed"] == 3
    assert {c["name"] for c in meta["columns"]} == set(frame.columns)
    assert set(meta["versions"]) == {"plc_emulator", "numpy", "pyarrow", "python"}


def test_cli_csv_dataset_matches_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same run as CSV and as Parquet holds the same values; pandas reads both."""
    common = ["simulate", str(DEFAULT_TAGMAP), "--plants", "2", "--duration", "20min", "--scan-period", "10s",
              "--every", "30s", "--seed", "9", "--faults-per-day", "40"]
    assert main([*common, "--out", str(tmp_path / "a.csv")]) == 0
    assert main([*common, "--out", str(tmp_path / "b")]) == 0
    assert "rows: 82 (2 plants" in capsys.readouterr().out  # ticks 0, 3, .., 120 -> 41 x 2
    csv = pd.read_csv(tmp_path / "a.csv")
    par = pd.read_parquet(tmp_path / "b" / "data.parquet")
    assert csv.shape == par.shape
    np.testing.assert_allclose(csv["SEP-V100.inlet_pressure"], par["SEP-V100.inlet_pressure"], rtol=1e-15)
    assert (csv["fault.SEP-V100.inlet_pressure"] == par["fault.SEP-V100.inlet_pressure"].astype(str)).all()
    assert (tmp_path / "a.events.csv").is_file()
    assert (tmp_path / "a.metadata.json").is_file()
    assert (tmp_path / "b" / "events.parquet").is_file()


def test_cli_bad_dataset_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["simulate", str(DEFAULT_TAGMAP), "--duration", "1min"]
    assert main([*base, "--plants", "0", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "--plants must be >= 1 (got 0)" in capsys.readouterr().err
    assert main([*base, "--plants", "2"]) == 2
    assert "--plants needs --out" in capsys.readouterr().err
    assert main([*base, "--plants", "2", "--out", str(tmp_path / "x.txt")]) == 2
    assert "--out must be a directory, FILE.parquet or FILE.csv" in capsys.readouterr().err
    assert main([*base, "--plants", "2", "--out", str(tmp_path / "x.parquet"), "--faults-per-day", "-1"]) == 2
