"""The block engine runs plant files: the separation train and a user's plant hold their setpoints,
runs are deterministic, states are never mutated, and a PID returns from a Bad PV bumplessly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import status as st
from plc_emulator.engine.plant import PlantEngine, load_plant

ROOT = Path(__file__).resolve().parents[2]
TRAIN = load_plant(ROOT / "tag_maps" / "plants" / "separation_train.yaml")
TWIN = load_plant(ROOT / "tests" / "user_plants" / "twin_hp.yaml")
EPOCH = 1767225600.0


def _value(eng: PlantEngine, s: object, name: str, *, truth: bool = True) -> float:
    out = eng.outputs(s)  # type: ignore[arg-type]
    return float((out.truth if truth else out.values)[0, eng.column[name]])


def test_separation_train_holds_its_setpoints() -> None:
    eng = PlantEngine(TRAIN, dt=5.0, seed=1, epoch=EPOCH)
    s = eng.initial_state()
    hold0 = _holdup(s)
    inflow = outflow = 0.0
    for _ in range(1440):  # 2 h; liquid in (well) and out (export, water dumps), m3
        inflow += float(np.sum(s.inputs[eng.where["well"][0]]["outlet"][0, :, :2])) * 5.0
        outflow += sum(float(s.truth[0, eng.column[f"{u}.flow"]]) for u in ("EXPORT", "LV101", "LV301")) * 5.0
        s, _ = eng.step(s)
    assert abs(inflow - outflow - (_holdup(s) - hold0)) / inflow < 0.005  # mass balance closes
    assert np.all(np.isfinite(s.truth))
    assert _value(eng, s, "V100.pressure") == pytest.approx(1000.0, abs=30.0)
    assert _value(eng, s, "V200.pressure") == pytest.approx(200.0, abs=15.0)
    assert _value(eng, s, "V300.pressure") == pytest.approx(50.0, abs=5.0)
    for name, sp in (("V100.oil_level", 50.0), ("V200.oil_level", 50.0), ("V300.water_level", 30.0),
                     ("E100.outlet_temperature", 42.0)):
        assert _value(eng, s, name) == pytest.approx(sp, abs=6.0), name
    assert _value(eng, s, "P100.status") == 1.0
    assert 14000.0 < _value(eng, s, "P100.oil_flow") < 26000.0


def _holdup(s: object) -> float:
    return sum(float(np.sum(g["oil"] + g["water"])) for g in s.groups if "oil" in g)  # type: ignore[attr-defined]


def test_user_plant_runs_and_holds_its_setpoints() -> None:
    eng = PlantEngine(TWIN, dt=5.0, seed=2, epoch=EPOCH, n=2)
    s, _ = eng.run(eng.initial_state(), 1440)
    assert np.all(np.isfinite(s.truth))
    for row in range(2):
        for name, sp in (("HP-A.pressure", 900.0), ("HP-B.pressure", 900.0), ("LP.pressure", 120.0)):
            assert float(s.truth[row, eng.column[name]]) == pytest.approx(sp, rel=0.05), name
        assert float(s.truth[row, eng.column["LP.oil_level"]]) == pytest.approx(50.0, abs=8.0)
    assert _value(eng, s, "ESD.active") == 0.0


def test_deterministic_and_pure() -> None:
    eng = PlantEngine(TRAIN, dt=1.0, seed=7, epoch=EPOCH)
    s0 = eng.initial_state()
    snap = [{k: v.copy() for k, v in g.items()} for g in s0.groups]
    a, _ = eng.run(s0, 200)
    b, _ = eng.run(s0, 200)
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.status, b.status)
    assert all(np.array_equal(v, sn[k]) for g, sn in zip(s0.groups, snap, strict=True) for k, v in g.items())
    other = PlantEngine(TRAIN, dt=1.0, seed=8, epoch=EPOCH)
    c, _ = other.run(other.initial_state(), 200)
    assert not np.array_equal(a.values, c.values)  # the seed matters (transmitter noise)


def test_pid_returns_from_a_bad_pv_without_a_bump() -> None:
    eng = PlantEngine(TRAIN, dt=0.5, seed=3, epoch=EPOCH)
    s, _ = eng.run(eng.initial_state(), 20)
    s, ev = eng.step(s, [Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "fail"})])
    assert ev[0].kind == "fault_start"
    s, _ = eng.run(s, 120)  # 60 s Bad: the output is held
    assert s.status[0, eng.column["V100.pressure"]] == st.BAD_SENSOR_FAILURE
    held = _value(eng, s, "PIC100.out")
    s, _ = eng.step(s, [Command(kind=CommandKind.CLEAR_FAULT, target="V100.pressure")])
    outs = []
    for _ in range(4):  # two seconds back on a Good PV
        s, _ = eng.step(s)
        outs.append(_value(eng, s, "PIC100.out"))
    assert s.status[0, eng.column["V100.pressure"]] == st.GOOD
    assert max(abs(o - held) for o in outs) < 2.0


def test_commands_write_limit_and_refuse() -> None:
    eng = PlantEngine(TRAIN, dt=1.0, seed=1, epoch=EPOCH)
    s = eng.initial_state()
    s, ev = eng.step(s, [Command(kind=CommandKind.WRITE, target="PIC100.sp", value=5000.0),
                         Command(kind=CommandKind.WRITE, target="PIC100.out", value=10.0),
                         Command(kind=CommandKind.WRITE, target="nope.x", value=1.0)])
    assert _value(eng, s, "PIC100.sp") == 1300.0  # clamped to sp_limits
    assert [e.kind for e in ev] == ["write_ignored", "write_ignored"]  # out in AUTO, unknown target
    s, _ = eng.step(s, [Command(kind=CommandKind.WRITE, target="PIC100.mode", value=0.0),
                        Command(kind=CommandKind.WRITE, target="PIC100.out", value=10.0)])
    s, _ = eng.step(s)
    assert _value(eng, s, "PIC100.out") == 10.0
    s, ev = eng.step(s, [Command(kind=CommandKind.WRITE, target="ESD.trip", value=1.0)])
    s, _ = eng.step(s)
    assert _value(eng, s, "ESD.active") == 1.0
    assert any(e.kind == "esd_trip" for e in ev)


def test_freeze_is_flat_with_good_quality() -> None:
    eng = PlantEngine(TRAIN, dt=1.0, seed=4, epoch=EPOCH)
    s, _ = eng.run(eng.initial_state(), 10)
    s, _ = eng.step(s, [Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "freeze"})])
    vals, truth = [], []
    for _ in range(120):
        s, _ = eng.step(s)
        vals.append(_value(eng, s, "V100.pressure", truth=False))
        truth.append(_value(eng, s, "V100.pressure"))
        assert s.status[0, eng.column["V100.pressure"]] == st.GOOD
    assert len(set(vals)) == 1
    assert max(truth) - min(truth) > 0.05
