"""Sampling analyser: takes a sample every ``cycle_s``, reports it ``dead_time_s`` later (transport
plus analysis, rounded to whole cycles, at most 15), and holds the reading between updates."""

from __future__ import annotations

from typing import Final

import numpy as np

from plc_emulator.engine.blocks._build import inp, num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SLOTS: Final = 16

SPEC = BlockSpec(
    kind="analyser",
    category=BlockCategory.INSTRUMENT,
    summary="Sampling analyser: cycle time, dead time in whole cycles, reading held between updates.",
    params=(
        num("cycle_s", "s", 120.0, 0.01, 1e6, "analysis cycle"),
        num("dead_time_s", "s", 240.0, 0.0, 1e7, "transport + analysis delay (rounded to cycles, <= 15)"),
        num("lo", "EU", 0.0, -1e9, 1e9, "EU at 0 % of the input"),
        num("hi", "EU", 100.0, -1e9, 1e9, "EU at 100 % of the input"),
    ),
    initial=(num("reading", "%", 0.0, 0.0, 100.0, "reading before the first result"),),
    states=(
        state("samples", "%", "sampled values, newest first", init="reading", extra=(SLOTS,)),
        state("age", "s", "time since the last result"),
    ),
    ports=(
        inp("value", Quantity.PERCENT, "the analysed quantity, % of range"),
        out("reading", Quantity.PERCENT, "the delayed, held reading"),
    ),
    signals=(
        shown("reading", "EU", (0, 100), "analyser reading"),
        shown("age", "s", (0, 3600), "time since the last result"),
    ),
)


def _delay(p: Arrays) -> F64:
    out: F64 = np.clip(np.rint(p["dead_time_s"] / p["cycle_s"]), 0, SLOTS - 1)
    return out


def _reading(p: Arrays, s: Arrays) -> F64:
    idx = _delay(p).astype(np.intp)[..., None]
    out: F64 = np.take_along_axis(s["samples"], idx, axis=-1)[..., 0]
    return out


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"reading": _reading(p, s)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    due = (s["age"] + ctx.dt) >= p["cycle_s"] - 1e-9
    shifted = np.concatenate((i["value"][..., None], s["samples"][..., :-1]), axis=-1)
    return {"samples": np.where(due[..., None], shifted, s["samples"]),
            "age": np.where(due, 0.0, s["age"] + ctx.dt)}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"reading": p["lo"] + _reading(p, s) * 0.01 * (p["hi"] - p["lo"]), "age": s["age"]}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
