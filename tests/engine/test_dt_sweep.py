"""For dt in {0.1, 1, 10, 60} s each block's step response stays finite and within 2 % of span of a
dt = 0.01 s reference (live scans and ``evaluate``'s steps use these dts)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from plc_emulator.engine.blocks import KERNELS, LIBRARY, Context, Direction, initial_state, resolve_params
from plc_emulator.engine.playback import RECORDINGS, Recording
from plc_emulator.engine.types import F64

DTS = (0.1, 1.0, 10.0, 60.0)
T_END = 600.0
SAMPLES = np.arange(60.0, T_END + 1e-9, 60.0)
STREAM = (0.02, 0.005, 30.0, 60.0)  # oil m3/s, water m3/s, gas scf/s, °C
Inputs = Callable[[float], dict[str, F64]]


def _v(*x: float) -> F64:
    return np.array(x, dtype=np.float64).reshape(1, 1, -1) if len(x) > 1 else np.full((1, 1), x[0])


def _drive(kind: str, params: dict[str, float], initial: dict[str, float], inputs: Inputs, signal: str, *,
           dt: float) -> F64:
    """Step one unit of ``kind`` (N = 1) with ``inputs(t)``; ``signal`` at every sample time."""
    spec, kern = LIBRARY[kind], KERNELS[kind]
    p = {k: v[:, None] for k, v in resolve_params(spec.params, params, 1).items()}
    init = resolve_params(spec.initial, initial, 1)
    s = {k: v[:, None, ...] for k, v in initial_state(spec, resolve_params(spec.params, params, 1), init, 1).items()}
    rng = np.random.Generator(np.random.PCG64(1))
    if kern.init is not None:
        s.update(kern.init(p, s, Context(tick=0, dt=dt, t=1767225600.0, sim_s=0.0, rng=rng)))
    idle = {q.name: (np.zeros((1, 1, 4)) if q.quantity.value in ("stream", "source") else _v(q.idle))
            for q in spec.ports if q.direction is Direction.IN}
    out: list[float] = []
    steps = round(T_END / dt)
    every = round(60.0 / dt)
    i = _ports(kern, p, s, {**idle, **inputs(0.0)}, Context(tick=0, dt=dt, t=1767225600.0, sim_s=0.0, rng=rng))
    for k in range(1, steps + 1):
        t = k * dt
        ctx = Context(tick=k, dt=dt, t=1767225600.0 + t, sim_s=t, rng=rng, units=("U",))
        i = {**i, **inputs(t)}  # inputs held over the tick, then the new state's outputs (as the engine does)
        s = {**s, **kern.update(p, s, i, ctx)}
        i = _ports(kern, p, s, {**idle, **inputs(t)}, ctx)
        if k % every == 0:
            out.append(float({**i, **kern.signals(p, s, i, ctx)}[signal][0, 0]))
    return np.array(out)


def _ports(kern: object, p: dict[str, F64], s: dict[str, F64], i: dict[str, F64], ctx: Context) -> dict[str, F64]:
    k = kern  # a Kernel
    i = {**i, **k.out(p, s, ctx)}  # type: ignore[attr-defined]
    if k.feed is not None:  # type: ignore[attr-defined]
        i.update(k.feed(p, s, i, ctx))  # type: ignore[attr-defined]
    return i


def _after(t: float, before: dict[str, F64], after: dict[str, F64]) -> dict[str, F64]:
    return after if t > 30.0 else before


_REC_T = np.arange(0.0, T_END + 100.0, 45.0)  # rows 45 s apart: samples fall between them
PLAYBACK = float(RECORDINGS.add(Recording(times=_REC_T, columns=("x",),
                                          values=(50.0 + 40.0 * np.sin(_REC_T / 100.0))[:, None])))
QUIET_WELL = {"hydrodynamic": False, "severe_rate_per_day": 0.0, "gas_drift_sigma": 0.0}
CASES: dict[str, tuple[str, dict[str, float], dict[str, float], Inputs, str, float]] = {
    "ambient": ("ambient", {"weather_sigma_c": 0.0, "sea_weather_sigma_c": 0.0}, {}, lambda t: {},
                "air_temperature", 30.0),
    "pressure_boundary": ("pressure_boundary", {"pressure_psig": 100.0}, {},
                          lambda t: _after(t, {}, {"inlet": _v(*STREAM)}), "flow", 1.0),
    "control_valve": ("control_valve", {"cv": 100.0}, {"opening_pct": 30.0},
                      lambda t: {"opening": _v(30.0 if t <= 30.0 else 70.0), "source": _v(200.0, 0.1, 10.0, 50.0),
                                 "p_down": _v(100.0)}, "position", 100.0),
    "pid": ("pid", {"kc": 1.0, "ti": 300.0}, {"sp": 50.0, "out": 50.0},
            lambda t: {"pv": _v(50.0 if t <= 30.0 else 55.0)}, "out", 100.0),
    "transmitter": ("transmitter", {"lo": 0.0, "hi": 100.0, "accuracy_pct": 0.0}, {},
                    lambda t: {"_truth": _v(20.0 if t <= 30.0 else 80.0)}, "pct", 100.0),
    "heat_exchanger": ("heat_exchanger", {}, {"outlet_temperature_c": 40.0},
                       lambda t: {"hot_in": _v(0.03 if t <= 30.0 else 0.045, 0.0, 0.0, 60.0), "coolant": _v(12.0),
                                  "coolant_valve": _v(50.0)}, "outlet_temperature", 100.0),
    "header": ("header", {"tau_s": 20.0}, {"pressure_psig": 100.0},
               lambda t: {"inlet_1": _v(0.02 if t <= 30.0 else 0.04, 0.0, 0.0, 50.0), "p_down": _v(100.0)},
               "pressure", 1500.0),
    "separator": ("separator", {"diameter_m": 3.0, "length_m": 12.0}, {"pressure_psig": 1000.0, "temperature_c": 60.0},
                  lambda t: {"inlet": _v(0.03 if t <= 30.0 else 0.04, 0.01, 80.0, 70.0),
                             "oil_draw": _v(0.03, 0.0015, 0.0, 0.0), "water_draw": _v(0.0, 0.0085, 0.0, 0.0),
                             "gas_draw": _v(0.0, 0.0, 55.0, 0.0), "air": _v(12.0)}, "oil_level", 100.0),
    "separator_pressure": ("separator", {"diameter_m": 3.0, "length_m": 12.0}, {"pressure_psig": 1000.0},
                           lambda t: {"inlet": _v(0.03, 0.01, 80.0 if t <= 30.0 else 90.0, 70.0),
                                      "oil_draw": _v(0.03, 0.0015, 0.0, 0.0), "water_draw": _v(0.0, 0.0085, 0.0, 0.0),
                                      "gas_draw": _v(0.0, 0.0, 55.0, 0.0)}, "pressure", 1500.0),
    "pump": ("pump", {}, {"speed_rpm": 2400.0},
             lambda t: {"suction": _v(60.0, 0.0, 0.0, 50.0), "p_down": _v(900.0), "suction_level": _v(50.0)},
             "oil_flow", 30000.0),
    "well": ("well", QUIET_WELL, {}, lambda t: {"shut_in": _v(0.0 if t <= 30.0 else 1.0)}, "oil_rate", 40000.0),
    "interlock": ("interlock", {}, {}, lambda t: {"_cause": _v(0.0 if t <= 30.0 else 1.0), "_first": _v(1.0)},
                  "active", 1.0),
    # issue 10 blocks: the CSTR on its upper steady state, coolant valve 100 -> 85 %
    "cstr": ("cstr", {}, {"temperature_k": 384.913, "concentration": 0.09385, "jacket_temperature_k": 334.886,
                          "coolant_l_min": 300.0},
             lambda t: {"coolant_valve": _v(100.0 if t <= 30.0 else 85.0)}, "temperature", 300.0),
    "storage_tank": ("storage_tank", {"layers": 1.0}, {"level_m": 1.5, "receipt_c": 200.0},
                     lambda t: {"oil_supply": _v(280.0), "coil_valve": _v(0.0 if t <= 30.0 else 100.0),
                                "circulation": _v(1.0), "air": _v(10.0), "receipt": _v(0.0 if t <= 30.0 else 0.01)},
                     "temperature_top", 250.0),
    "hot_oil_heater": ("hot_oil_heater", {}, {"supply_c": 260.0},
                       lambda t: {"firing": _v(30.0 if t <= 30.0 else 60.0), "return_1": _v(0.003, 0.0, 0.0, 250.0)},
                       "supply_temperature", 350.0),
    "kalman": ("kalman", {"q_per_s": 1.0}, {"estimate": 20.0},
               lambda t: {"measurement": _v(20.0 if t <= 30.0 else 80.0)}, "estimate", 100.0),
    "signal_generator": ("signal_generator", {"shape": 0.0, "period_s": 300.0}, {}, lambda t: {}, "value", 100.0),
    "analyser": ("analyser", {"cycle_s": 60.0, "dead_time_s": 120.0}, {},
                 lambda t: {"value": _v(20.0 if t <= 30.0 else 80.0)}, "reading", 100.0),
    "switch": ("switch", {}, {}, lambda t: {"a": _v(20.0 if t <= 30.0 else 80.0), "b": _v(0.0)}, "out", 100.0),
    "split_range": ("split_range", {}, {}, lambda t: {"in": _v(20.0 if t <= 30.0 else 80.0)}, "out_b", 100.0),
    "cascade": ("cascade", {"master_kc": 1.0, "master_ti": 600.0, "slave_kc": 1.0, "slave_ti": 600.0},
                {"sp": 50.0, "slave_sp": 50.0, "out": 50.0},
                lambda t: {"master_pv": _v(50.0 if t <= 30.0 else 55.0), "slave_pv": _v(50.0)}, "out", 100.0),
    "on_off_valve": ("on_off_valve", {}, {"open": 1.0}, lambda t: {"stop": _v(0.0 if t <= 30.0 else 1.0)},
                     "position", 100.0),
    "vsd_pump": ("vsd_pump", {"ramp_rpm_s": 10.0, "static_head_m": 5.0}, {"speed_rpm": 1480.0},
                 lambda t: {"arm": _v(100.0 if t <= 30.0 else 50.0), "trip": _v(0.0)}, "flow", 200.0),
    "playback": ("playback", {"file": PLAYBACK, "speed": 1.5, "loop": 1.0}, {}, lambda t: {}, "value", 100.0),
}


def test_every_block_kind_has_a_case() -> None:
    assert {c[0] for c in CASES.values()} == set(LIBRARY)


def _check(case: str, ref_dt: float, dts: tuple[float, ...]) -> None:
    kind, params, initial, inputs, signal, span = CASES[case]
    ref = _drive(kind, params, initial, inputs, signal, dt=ref_dt)
    for dt in dts:
        got = _drive(kind, params, initial, inputs, signal, dt=dt)
        assert np.all(np.isfinite(got)), (case, dt)
        err = np.max(np.abs(got - ref)) / span * 100.0
        assert err < 2.0, f"{case}: dt={dt}: {err:.2f} % of span off the dt={ref_dt} reference"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_step_response_independent_of_dt(case: str) -> None:
    """The goal as stated: dt = 0.1, 1, 10, 60 s against dt = 0.01 s (about 80 s in all)."""
    _check(case, 0.01, DTS)


@pytest.mark.parametrize("case", list(CASES))
def test_step_response_independent_of_dt_quick(case: str) -> None:
    """The default-suite guard: dt = 1, 10, 60 s against dt = 0.1 s."""
    _check(case, 0.1, DTS[1:])
