"""Labelled datasets on plant files (the block engine): the campaign targets the plant's own tags,
and the labels agree with the engine's ground-truth events."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from plc_emulator.datasets import (
    FAULT_CATEGORIES,
    DatasetConfig,
    FaultCampaign,
    build_dataset,
    column_plan,
    dataset_paths,
)
from plc_emulator.tagmap import load

ROOT = Path(__file__).resolve().parents[2]
PLANTS, DT, TICKS = 3, 10.0, 2160  # 6 h


def _map(tmp: Path, which: str) -> Path:
    if which == "twin_hp":
        text = (ROOT / "tests" / "user_plants" / "twin_hp_tagmap.yaml").read_text(encoding="utf-8")
        text = text.replace("model: twin_hp.yaml", f"model: {ROOT / 'tests' / 'user_plants' / 'twin_hp.yaml'}")
    else:  # the default tag map on the block engine
        text = (ROOT / "tag_maps" / "separation_train.yaml").read_text(encoding="utf-8")
        text += f"\nmodel: {ROOT / 'tag_maps' / 'plants' / 'separation_train.yaml'}\n"
    path = tmp / f"{which}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=["twin_hp", "separation_train"])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("plant_ds")
    tagmap = replace(load(_map(tmp, request.param)), scan_period=DT)
    assert tagmap.plant_model is not None
    cfg = DatasetConfig(plants=PLANTS, ticks=TICKS, dt=DT, seed=4,
                        campaign=FaultCampaign(rate_per_day=24.0, min_hours=0.3, max_hours=1.0),
                        weibull_scale_days=0.05, max_cells=150_000)
    paths = dataset_paths(tmp / "run.parquet")
    summary = build_dataset(tagmap, cfg, paths)
    return {"summary": summary, "plan": column_plan(tagmap), "tagmap": tagmap,
            "data": pd.read_parquet(paths.data), "events": pd.read_parquet(paths.events)}


def test_fault_labels_agree_with_ground_truth_events(dataset: dict[str, Any]) -> None:
    data, events, plan = dataset["data"], dataset["events"], dataset["plan"]
    key_of = dict(zip(plan.fault_signals, plan.fault_keys, strict=True))
    faults = events[events["kind"] == "fault"]
    assert len(faults) >= 6, faults  # the campaign really injected faults on the plant's own signals
    assert set(faults["fault_kind"]) <= set(FAULT_CATEGORIES[1:])
    assert set(faults["target"]) <= set(plan.fault_signals)
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


def test_pump_stage_agrees_with_degradation_events(dataset: dict[str, Any]) -> None:
    data, events, summary = dataset["data"], dataset["events"], dataset["summary"]
    assert summary["pump"] in dataset["tagmap"].catalogue.action_targets["start_degradation"]
    deg = events[events["kind"] == "degradation"]
    assert len(deg) >= 1
    assert set(deg["target"]) == {summary["pump"]}
    for p in range(PLANTS):
        rows = data[data["plant"] == p]
        mine = deg[deg["plant"] == p]
        if mine.empty:
            assert (rows["pump.stage"] == 0).all()
            continue
        ev = mine.iloc[0]
        before, after = rows[rows["tick"] < ev.start_tick], rows[rows["tick"] >= ev.start_tick]
        assert (before["pump.stage"] == 0).all()
        assert (after["pump.stage"] >= 1).all()
        assert after["pump.health"].is_monotonic_decreasing
