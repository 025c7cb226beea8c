"""Generic signal blocks: test-point generator shapes, analyser dead time and hold, switch,
split-range / ratio / feed-forward; and a plant file that wires them (generator -> analyser)."""

from __future__ import annotations

import numpy as np
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.blocks import KERNELS, LIBRARY, Context, initial_state, resolve_params
from plc_emulator.engine.plant import PlantEngine, loads_plant
from plc_emulator.engine.types import F64


def _unit(kind: str, params: dict[str, float], init: dict[str, float] | None = None
          ) -> tuple[dict[str, F64], dict[str, F64]]:
    spec = LIBRARY[kind]
    p = resolve_params(spec.params, params, 1)
    s = initial_state(spec, p, resolve_params(spec.initial, init or {}, 1), 1)
    return {k: v[:, None] for k, v in p.items()}, {k: v[:, None, ...] for k, v in s.items()}


def _generate(params: dict[str, float], seconds: float, dt: float = 1.0) -> F64:
    p, s = _unit("signal_generator", params)
    kern, rng = KERNELS["signal_generator"], np.random.default_rng(1)
    out = []
    for k in range(1, round(seconds / dt) + 1):
        ctx = Context(tick=k, dt=dt, t=0.0, sim_s=k * dt, rng=rng)
        s = {**s, **kern.update(p, s, {}, ctx)}
        out.append(float(kern.signals(p, s, {}, ctx)["value"][0, 0]))
    return np.array(out)


def test_sine_ramp_step_square() -> None:
    t = np.arange(1, 121, dtype=float)
    sine = _generate({"shape": 0, "offset": 5, "amplitude": 2, "period_s": 40}, 120)
    assert np.allclose(sine, 5 + 2 * np.sin(2 * np.pi * t / 40))
    ramp = _generate({"shape": 1, "offset": 0, "rate": 0.5, "hi": 30}, 120)
    assert np.allclose(ramp, np.minimum(0.5 * t, 30))
    step = _generate({"shape": 3, "offset": 1, "amplitude": 4, "step_time_s": 60}, 120)
    assert np.allclose(step, np.where(t >= 60, 5, 1))
    square = _generate({"shape": 4, "offset": 0, "amplitude": 1, "period_s": 20}, 120)
    assert np.allclose(square, np.where(np.mod(t, 20) < 10, 1, -1))


def test_counter_counts_and_wraps() -> None:
    c = _generate({"shape": 5, "offset": 0, "rate": 1, "lo": 0, "hi": 50}, 120)
    assert np.allclose(c[:49], np.arange(1, 50))
    assert c.max() < 50
    assert c[-1] == 120 % 50


def test_random_walk_variance_grows_with_time() -> None:
    p, s = _unit("signal_generator", {"shape": 2, "offset": 0, "sigma": 0.5})
    p = {k: np.repeat(v, 2000, axis=0) for k, v in p.items()}
    s = {k: np.repeat(v, 2000, axis=0) for k, v in s.items()}
    kern, rng = KERNELS["signal_generator"], np.random.default_rng(2)
    for k in range(100):
        s = {**s, **kern.update(p, s, {}, Context(tick=k, dt=1.0, t=0.0, sim_s=float(k), rng=rng))}
    assert abs(np.var(s["x"]) / (0.25 * 100) - 1.0) < 0.1  # sigma^2 t


def test_analyser_dead_time_and_hold() -> None:
    """Input steps 0 -> 100 % at t = 0; cycle 60 s, dead time 180 s: the reading changes once,
    between 180 and 240 s, and holds between results."""
    p, s = _unit("analyser", {"cycle_s": 60, "dead_time_s": 180})
    kern, rng = KERNELS["analyser"], np.random.default_rng(0)
    seen = []
    for k in range(1, 401):
        ctx = Context(tick=k, dt=1.0, t=0.0, sim_s=float(k), rng=rng)
        s = {**s, **kern.update(p, s, {"value": np.full((1, 1), 100.0)}, ctx)}
        seen.append(float(kern.out(p, s, ctx)["reading"][0, 0]))
    change = [k + 1 for k in range(1, 400) if seen[k] != seen[k - 1]]
    assert len(change) == 1
    assert 180 <= change[0] <= 240


def test_switch_split_range_ratio_feed_forward() -> None:
    p, s = _unit("switch", {})
    out = KERNELS["switch"].feed(p, s, {"a": np.full((1, 1), 10.0), "b": np.full((1, 1), 90.0),  # type: ignore[misc]
                                       "force_b": np.zeros((1, 1))}, Context(tick=0, dt=1.0, t=0.0, sim_s=0.0,
                                                                             rng=np.random.default_rng(0)))
    assert out["out"][0, 0] == 10.0
    p, s = _unit("split_range", {"split": 50, "direction_b": 1})
    ctx = Context(tick=0, dt=1.0, t=0.0, sim_s=0.0, rng=np.random.default_rng(0))
    feed = KERNELS["split_range"].feed
    assert feed is not None
    legs = [feed(p, s, {"in": np.full((1, 1), u), "feedforward": np.zeros((1, 1))}, ctx) for u in (0.0, 25.0, 75.0)]
    assert [float(x["out_a"][0, 0]) for x in legs] == [0.0, 50.0, 100.0]
    assert [float(x["out_b"][0, 0]) for x in legs] == [100.0, 100.0, 50.0]
    p, s = _unit("split_range", {"split": 99, "gain_ff": 0.5, "bias": 5}, {"ratio": 2.0})
    got = feed(p, s, {"in": np.full((1, 1), 20.0), "feedforward": np.full((1, 1), 10.0)}, ctx)
    assert got["out_a"][0, 0] == pytest.approx((2 * 20 + 0.5 * 10 + 5) / 99 * 100)


GEN_PLANT = """
plant: test_points
units:
  SIG: {block: signal_generator, params: {shape: step, offset: 10, amplitude: 60, step_time_s: 30}}
  RAMP: {block: signal_generator, params: {shape: ramp, offset: 0, rate: 1}}
  AN: {block: analyser, params: {cycle_s: 10, dead_time_s: 20, lo: 0, hi: 1}}
  SW: {block: switch}
connections:
  - SIG.value -> SW.a
  - RAMP.value -> SW.b
  - SW.out -> AN.value
"""


def test_plant_file_with_test_points_and_a_written_switch() -> None:
    eng = PlantEngine(loads_plant(GEN_PLANT), dt=1.0)
    s, _ = eng.run(eng.initial_state(), 100)
    c = eng.column
    assert s.truth[0, c["SIG.value"]] == 70.0
    assert s.truth[0, c["AN.reading"]] == pytest.approx(0.7)
    s, _ = eng.step(s, [Command(kind=CommandKind.WRITE, target="SW.select", value=1.0)])
    s, _ = eng.run(s, 40)
    assert 0.95 < s.truth[0, c["AN.reading"]] <= 1.41  # the ramp (ramp % -> 0..1 EU), 20-30 s old

