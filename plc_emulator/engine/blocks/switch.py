"""Selector switch: passes input ``a`` or ``b`` (written ``select``, or forced to b by a FLAG)."""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import flag, inp, out, setting, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="switch",
    category=BlockCategory.CONTROL,
    summary="Selector switch: input a or b, by a written selection or a FLAG input.",
    initial=(flag("select", False, "start on b"),),
    states=(state("select", "0/1", "0 = a, 1 = b (writable)", init="select"),),
    holds_state=False,
    ports=(
        inp("a", Quantity.PERCENT, "first input"),
        inp("b", Quantity.PERCENT, "second input"),
        inp("force_b", Quantity.FLAG, "1 = take b regardless of the selection", optional=True),
        out("out", Quantity.PERCENT, "selected input", depends=("a", "b", "force_b")),
    ),
    signals=(setting("select", "", (0, 1), (0, 1), "selection", states=("A", "B")),),
)


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"out": np.where((s["select"] > 0.5) | (i["force_b"] > 0.5), i["b"], i["a"])}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"select": s["select"]}


KERNEL = Kernel(feed=_feed, update=_update, signals=_signals)
