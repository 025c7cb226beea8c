"""Today's engine behaviours, reproduced by the block engine on plant files (issue #9 switch-over)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import curve_fit

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import _physics as ph
from plc_emulator.engine.plant import PlantEngine, loads_plant
from plc_emulator.engine.types import F64

ROOT = Path(__file__).resolve().parents[2]
TRAIN_TEXT = (ROOT / "tag_maps" / "plants" / "separation_train.yaml").read_text(encoding="utf-8")
QUIET = "hydrodynamic: false, severe_rate_per_day: 0.0, gas_drift_sigma: 0.0"

WELL_ONLY = f"""
plant: well_only
units:
  well: {{block: well, params: {{decline_time_factor: 3652.5, water_cut_growth_per_mmbbl: 0.0, {QUIET}}}}}
  SINK: {{block: pressure_boundary}}
connections:
  - well.outlet -> SINK.inlet
"""

PUMP_ONLY = """
plant: pump_only
units:
  TANK: {block: pressure_boundary, params: {pressure_psig: 50, temperature_c: 50}}
  EXPORT: {block: pressure_boundary, params: {pressure_psig: 900}}
  P100: {block: pump}
connections:
  - TANK.source -> P100.suction
  - EXPORT.pressure -> P100.p_down
  - P100.outlet -> EXPORT.inlet
"""


def test_arps_fit_recovers_di() -> None:
    eng = PlantEngine(loads_plant(WELL_ONLY), dt=60.0, seed=2)
    s = eng.initial_state()
    rates = []
    for _ in range(144):
        s, _ = eng.run(s, 10)
        rates.append(s.truth[0, eng.column["well.oil_rate"]])
    rate = np.array(rates)
    t_years = np.arange(1, len(rate) + 1) * 600.0 * 3652.5 / ph.YEAR_S

    def arps(t: F64, qi: float, di: float, b: float) -> F64:
        out: F64 = qi / np.power(1.0 + b * di * t, 1.0 / b)
        return out

    (_qi, di, b), _ = curve_fit(arps, t_years, rate, p0=(15000.0, 0.5, 0.8),
                                bounds=([1.0, 1e-3, 0.05], [1e6, 5.0, 0.99]))
    assert abs(di - 0.2) / 0.2 < 0.10
    assert abs(b - 0.5) < 0.1
    assert rate[-1] < 0.5 * rate[0]


def test_vibration_grows_exponentially_through_the_iso_zones() -> None:
    eng = PlantEngine(loads_plant(PUMP_ONLY), dt=10.0, seed=4)
    s, _ = eng.run(eng.initial_state(), 5)
    s, ev0 = eng.step(s, [Command(kind=CommandKind.START_DEGRADATION, target="P100",
                                  params={"beta_per_day": 8.0})])
    rows, events = [], list(ev0)
    for _ in range(0, 8640 // 2, 6):
        s, ev = eng.run(s, 6)
        events += ev
        rows.append([s.tick * 10.0, s.truth[0, eng.column["P100.vibration"]]])
    r = np.array(rows)
    t = (r[:, 0] - r[0, 0]) / 86400.0
    v = r[:, 1]
    crossings = [float(t[np.argmax(v > z)]) for z in (2.3, 4.5, 7.1)]
    assert all(v.max() > z for z in (2.3, 4.5, 7.1))
    assert crossings[0] < crossings[1] < crossings[2]

    def model(tt: F64, phi: float, theta: float, beta: float) -> F64:
        out: F64 = phi + theta * np.exp(beta * tt)
        return out

    (_phi, _theta, beta), _ = curve_fit(model, t, v, p0=(1.0, 0.2, 5.0))
    assert abs(beta - 8.0) / 8.0 < 0.15
    kinds = [e.kind for e in events]
    assert kinds.count("degradation_onset") == 1
    assert kinds.count("failure") == 1


def test_forced_slug_raises_level_by_geometry() -> None:
    """15 m3 into V100 (D 3 m, L 12 m, from 50 %) with LIC100 in manual and a dry well: the level rise
    matches the horizontal-cylinder inverse within 10 % (a twin run without the slug is subtracted)."""
    text = (TRAIN_TEXT.replace("decline_time_factor: 52.18}", f"decline_time_factor: 52.18, {QUIET}}}")
            .replace("water_cut_initial: 0.30", "water_cut_initial: 0.01, water_cut_max: 0.5"))
    eng = PlantEngine(loads_plant(text), dt=1.0, seed=5)
    manual = [Command(kind=CommandKind.WRITE, target=t, value=0.0) for t in ("LIC100.mode", "LIC101.mode")]
    s0, _ = eng.step(eng.initial_state(), manual)
    slug = Command(kind=CommandKind.FORCE_SLUG, target="well", params={"volume_m3": 15.0, "duration_s": 60.0})
    with_slug, _ = eng.run(eng.step(s0, [slug])[0], 299)
    without, _ = eng.run(eng.step(s0)[0], 299)
    col = eng.column["V100.oil_level"]
    rise = with_slug.truth[0, col] - without.truth[0, col]
    vol = np.pi * 1.5**2 * 12.0
    base = float(ph.volume_fraction(np.array(0.5))) * vol
    expected = float(ph.level_fraction(np.array((base + 15.0) / vol))) * 100.0 - 50.0
    assert rise == pytest.approx(expected, rel=0.10)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_week_mass_balance_and_diurnal_cycle() -> None:
    """A healthy week at dt = 20 s: liquid in = liquid out + holdup change within 0.5 %, and the V100
    temperature carries a 24-hour cycle."""
    text = TRAIN_TEXT.replace("decline_time_factor: 52.18}", "decline_time_factor: 52.18, severe_rate_per_day: 0.0}")
    eng = PlantEngine(loads_plant(text), dt=20.0, seed=11, epoch=1767225600.0)
    s = eng.initial_state()
    hold0 = sum(float(np.sum(g["oil"] + g["water"])) for g in s.groups if "oil" in g and "water" in g)
    inflow = outflow = 0.0
    temps = []
    for k in range(7 * 86400 // 20):
        s, _ = eng.step(s)
        inflow += _flow(eng, s, "well") * 20.0
        outflow += sum(_flow(eng, s, u) for u in ("EXPORT", "LV101", "LV301")) * 20.0
        if k % 6 == 0:
            temps.append(s.truth[0, eng.column["V100.temperature"]])
    hold1 = sum(float(np.sum(g["oil"] + g["water"])) for g in s.groups if "oil" in g and "water" in g)
    err = abs(inflow - outflow - (hold1 - hold0)) / inflow
    assert err < 0.005, err
    x = np.array(temps) - np.mean(temps)
    spec = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), d=120.0)
    assert abs(1.0 / freqs[1:][np.argmax(spec[1:])] - 86400.0) < 0.1 * 86400.0


def _flow(eng: PlantEngine, s: object, unit: str) -> float:
    if unit == "well":
        st = s  # the well's outlet stream: liquid into V100
        g = eng.where["well"][0]
        return float(np.sum(st.inputs[g]["outlet"][0, :, :2]))  # type: ignore[attr-defined]
    return float(s.truth[0, eng.column[f"{unit}.flow"]])  # type: ignore[attr-defined]


def _stiction_cycle(cmds: list[Command]) -> tuple[F64, F64]:
    text = TRAIN_TEXT.replace("decline_time_factor: 52.18}", f"decline_time_factor: 52.18, {QUIET}}}")
    eng = PlantEngine(loads_plant(text), dt=2.0, seed=1)
    s = eng.initial_state()
    rows = []
    for k in range(3 * 1800):
        s, _ = eng.step(s, cmds if k == 299 else ())
        if k % 3 == 2:
            rows.append((s.values[0, eng.column["LIC300.pv"]], s.values[0, eng.column["LIC300.out"]]))
    r = np.array(rows)[600:]
    return r[:, 1], r[:, 0]


@pytest.mark.slow
def test_stiction_is_odd_tuning_is_even() -> None:
    """LIC300: a stick-slip limit cycle and an aggressively tuned loop both oscillate; the OP / dPV
    cross-correlation tells them apart (odd for stiction, even for tuning), as on the built-in engine."""
    from tests.engine.test_behaviours import _ccf_zero_ratio

    sticky = [Command(kind=CommandKind.INJECT_FAULT, target="LIC300.valve",
                      params={"kind": "stiction", "S": 8.0, "J": 4.0}),
              Command(kind=CommandKind.WRITE, target="LIC300.kc", value=1.0)]
    tuned = [Command(kind=CommandKind.INJECT_FAULT, target="LIC300.valve",
                     params={"kind": "stiction", "S": 0.0, "J": 0.0}),
             Command(kind=CommandKind.WRITE, target="LIC300.kc", value=0.3),
             Command(kind=CommandKind.WRITE, target="LIC300.ti", value=20.0),
             Command(kind=CommandKind.WRITE, target="LIC300.sp", value=55.0)]
    op_s, pv_s = _stiction_cycle(sticky)
    op_t, pv_t = _stiction_cycle(tuned)
    assert np.ptp(pv_s) > 3.0
    assert np.ptp(pv_t) > 3.0
    assert _ccf_zero_ratio(op_s, pv_s) < 0.9
    assert _ccf_zero_ratio(op_t, pv_t) > 0.97
