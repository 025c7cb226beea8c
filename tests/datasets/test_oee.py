"""OEE: hand-computed figures for a scripted outage match the module within 0.1 percentage point."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.datasets import DatasetConfig, FaultCampaign, build_dataset, dataset_paths
from plc_emulator.engine.catalogue import CATALOGUE, index_of
from plc_emulator.oee import TRAIN_UNITS, OeeAccumulator, OeeSpec, separation_train_inputs
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP

PP = 0.001  # 0.1 percentage point


def _frame(flow: float, *, esd: bool = False, status: float = 1.0, run_cmd: float = 1.0,
           temp: float = 40.0) -> np.ndarray:
    v = np.zeros((1, len(CATALOGUE)))
    v[0, index_of("P100.oil_flow")] = flow
    v[0, index_of("ESD.active")] = float(esd)
    v[0, index_of("P100.status")] = status
    v[0, index_of("P100.run_cmd")] = run_cmd
    v[0, index_of("E100.outlet_temperature")] = temp
    v[0, index_of("TIC100.sp")] = 40.0
    return v


def test_scripted_day_by_hand() -> None:
    """24 h at 10 min steps: 16 000 bbl/d; an ESD from 6:00 to 9:00 (no flow); the pump stopped on
    purpose 20:00-22:00 (planned, no demand); the export 8 C too warm 12:00-13:00 (off-spec).

    By hand: PPT = 24 - 2 = 22 h; run = 22 - 3 = 19 h; A = 19/22; P = 16 000/20 000 = 0.8;
    Q = 18/19; OEE = 18 h x 16 000 / (20 000 x 22 h) = 0.654545..."""
    spec = OeeSpec()
    acc = OeeAccumulator(1, TRAIN_UNITS, nameplate=[spec.nameplate_bpd / 86400.0] * 2)
    idx = {s.name: i for i, s in enumerate(CATALOGUE)}
    dt = 600.0
    for k in range(144):
        h = k * dt / 3600.0
        if 6 <= h < 9:
            v = _frame(0.0, esd=True, status=2.0)
        elif 20 <= h < 22:
            v = _frame(0.0, status=0.0, run_cmd=0.0)
        else:
            v = _frame(16_000.0, temp=48.0 if 12 <= h < 13 else 40.0)
        acc.add(dt, **separation_train_inputs(v, idx, spec))
    pump = acc.figures()["P100"]
    assert pump["availability"] == pytest.approx(19 / 22, abs=PP)
    assert pump["performance"] == pytest.approx(0.8, abs=PP)
    assert pump["quality"] == pytest.approx(18 / 19, abs=PP)
    assert pump["oee"] == pytest.approx(18 * 16_000 / (20_000 * 22), abs=PP)
    assert pump["oee"] == pytest.approx(pump["availability"] * pump["performance"] * pump["quality"], abs=1e-12)
    train = acc.figures()["train"]  # the train has no planned downtime: the pump's stop is a loss
    assert train["availability"] == pytest.approx(19 / 24, abs=PP)
    assert train["oee"] == pytest.approx(18 * 16_000 / (20_000 * 24), abs=PP)


def test_no_running_time_is_none_not_zero_division() -> None:
    acc = OeeAccumulator(1, ("x",), nameplate=[1.0])
    acc.add(10.0, running=np.array([[False]]), planned_down=np.array([[True]]), rate=np.array([[0.0]]),
            on_spec=np.array([[True]]))
    f = acc.figures()["x"]
    assert (f["availability"], f["performance"], f["quality"], f["oee"]) == (None, None, None, None)


def test_engine_outage_matches_the_dataset_by_hand(tmp_path: Path) -> None:
    """A real plant with a manual ESD just after 2 h, reset by the hourly operator round at 3 h: the OEE the
    dataset reports equals the one computed by hand from the dataset's own true-value columns."""
    tagmap = replace(load(DEFAULT_TAGMAP), scan_period=10.0)
    trip = {730: [Command(kind=CommandKind.WRITE, target="ESD.trip", value=1.0)]}
    cfg = DatasetConfig(plants=1, ticks=2160, dt=10.0, seed=4, campaign=FaultCampaign(rate_per_day=0.0),
                        operator_round=3600.0)
    summary = build_dataset(tagmap, cfg, dataset_paths(tmp_path / "o.parquet"), schedule=trip)
    df = pd.read_parquet(tmp_path / "o.parquet")
    df = df[df["tick"] > 0]  # the accumulator integrates ticks 1..N
    flow = df["PMP-P100.oil_flow.true"]
    producing = (flow > 200.0) & ~df["esd_active"]
    on_spec = (df["HX-E100.outlet_temperature.true"] - df["HX-E100.TIC100_SP"]).abs() <= 5.0
    hours = len(df) * 10.0 / 3600.0
    v_on = float((flow * (producing & on_spec)).sum()) * 10.0 / 86400.0  # bbl
    oee_hand = v_on / (20_000.0 / 24.0 * hours)
    a_hand = producing.sum() * 10.0 / 3600.0 / hours
    train = summary["oee"]["train"]
    assert df["esd_active"].sum() == 1081 - 730  # tripped at tick 730, reset by the round at tick 1080
    assert train["availability"] == pytest.approx(a_hand, abs=PP)
    assert train["availability"] < 0.96
    assert train["oee"] == pytest.approx(oee_hand, abs=PP)
