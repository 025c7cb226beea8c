"""Split-range (and ratio / feed-forward) element between a controller and two final elements.

    out_a = clip((u - 0) / split x 100),      out_b = clip((u - split) / (100 - split) x 100)
    with u = ratio x in + gain_ff x feedforward + bias   (ratio control and feed-forward)

``direction_b`` reverses the second leg (heating/cooling: a opens as b closes).
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import choice, inp, num, out, setting, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="split_range",
    category=BlockCategory.CONTROL,
    summary="Split-range / ratio / feed-forward: one controller output to two final elements.",
    params=(
        num("split", "%", 50.0, 1.0, 99.0, "input at which leg a is full and leg b starts"),
        choice("direction_b", ("same", "reverse"), "same", "leg b rises (same) or falls (reverse) with the input"),
        num("gain_ff", "", 0.0, -100.0, 100.0, "feed-forward gain on the feedforward input"),
        num("bias", "%", 0.0, -100.0, 100.0, "bias added to the input"),
    ),
    initial=(num("ratio", "", 1.0, 0.0, 100.0, "ratio applied to the input"),),
    states=(state("ratio", "", "ratio (writable)", init="ratio"),),
    holds_state=False,
    ports=(
        inp("in", Quantity.PERCENT, "controller output (or the wild flow for ratio control)"),
        inp("feedforward", Quantity.PERCENT, "measured disturbance, % of its range", optional=True),
        out("out_a", Quantity.PERCENT, "first leg", depends=("in", "feedforward")),
        out("out_b", Quantity.PERCENT, "second leg", depends=("in", "feedforward")),
    ),
    signals=(setting("ratio", "", (0, 10), (0, 100), "ratio"),),
)


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    u = np.clip(s["ratio"] * i["in"] + p["gain_ff"] * i["feedforward"] + p["bias"], 0.0, 100.0)
    a = np.clip(u / p["split"] * 100.0, 0.0, 100.0)
    b = np.clip((u - p["split"]) / (100.0 - p["split"]) * 100.0, 0.0, 100.0)
    return {"out_a": a, "out_b": np.where(p["direction_b"] > 0.5, 100.0 - b, b)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"ratio": s["ratio"]}


KERNEL = Kernel(feed=_feed, update=_update, signals=_signals)
