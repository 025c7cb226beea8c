"""Test-point signal: sine, ramp, random walk, step, square or counter, on the simulation clock.

    sine         offset + amplitude sin(2 pi t / period)
    ramp         offset + rate t, clamped to [lo, hi]
    random_walk  x + sigma sqrt(dt) N(0, 1), clamped to [lo, hi]     (sigma per sqrt(second))
    step         offset, then offset + amplitude from step_time_s
    square       offset +/- amplitude, period ``period_s`` (high first)
    counter      offset + rate per second, integer counts, wrapping at hi back to lo
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import choice, num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SHAPES", "SPEC"]

SHAPES = ("sine", "ramp", "random_walk", "step", "square", "counter")

SPEC = BlockSpec(
    kind="signal_generator",
    category=BlockCategory.SOURCE,
    summary="Test signal: sine, ramp, random walk, step, square or counter.",
    params=(
        choice("shape", SHAPES, "sine", "waveform"),
        num("offset", "EU", 50.0, -1e12, 1e12, "base value"),
        num("amplitude", "EU", 10.0, -1e12, 1e12, "sine/square amplitude, step height"),
        num("period_s", "s", 60.0, 1e-3, 1e9, "sine/square period"),
        num("rate", "EU/s", 1.0, -1e12, 1e12, "ramp slope, counter counts per second"),
        num("sigma", "EU/s^0.5", 1.0, 0.0, 1e12, "random-walk step size"),
        num("step_time_s", "s", 60.0, 0.0, 1e12, "time of the step"),
        num("lo", "EU", -1e12, -1e12, 1e12, "lower clamp (counter: wraps to)"),
        num("hi", "EU", 1e12, -1e12, 1e12, "upper clamp (counter: wraps at)"),
    ),
    states=(state("x", "EU", "random-walk value / counter accumulator"),),
    start=lambda p, init, n: {"x": p["offset"].copy()},
    ports=(out("value", Quantity.PERCENT, "the signal (as a block input; scaled as written)"),),
    signals=(shown("value", "EU", (0, 100), "the signal"),),
)


def _value(p: Arrays, s: Arrays, t: float) -> F64:
    shape = np.rint(p["shape"])
    phase = 2.0 * np.pi * t / p["period_s"]
    sine = p["offset"] + p["amplitude"] * np.sin(phase)
    ramp = np.clip(p["offset"] + p["rate"] * t, p["lo"], p["hi"])
    step = p["offset"] + np.where(t >= p["step_time_s"], p["amplitude"], 0.0)
    high = np.mod(t, p["period_s"]) < 0.5 * p["period_s"]
    square = p["offset"] + np.where(high, p["amplitude"], -p["amplitude"])
    counter = np.floor(s["x"])
    out: F64 = np.select([shape == 0, shape == 1, shape == 2, shape == 3, shape == 4],
                         [sine, ramp, s["x"], step, square], counter)
    return out


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"value": _value(p, s, ctx.sim_s)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    shape = np.rint(p["shape"])
    walk = np.clip(s["x"] + p["sigma"] * np.sqrt(ctx.dt) * ctx.normal(0, s["x"].shape), p["lo"], p["hi"])
    count = s["x"] + p["rate"] * ctx.dt
    span = np.maximum(p["hi"] - p["lo"], 1e-12)
    count = np.where(count >= p["hi"], p["lo"] + np.mod(count - p["lo"], span), count)
    return {"x": np.where(shape == 2, walk, np.where(shape == 5, count, s["x"]))}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"value": _value(p, s, ctx.sim_s)}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
