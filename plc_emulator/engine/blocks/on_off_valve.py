"""On/off valve (a loading arm or block valve with its pump): open/close command, stroke time,
a fixed flow when open, a stop input for interlocks (overfill, low level, low temperature).

Its ``position`` output lets it act as the arm in series with a ``vsd_pump``: the pump then sets
the flow and the valve only opens and closes the path (``flow_m3h`` is then unused)."""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import flag, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="on_off_valve",
    category=BlockCategory.VALVE,
    summary="On/off valve: open/close command, stroke time, fixed flow when open, interlock stop.",
    params=(
        num("flow_m3h", "m3/h", 114.0, 0.0, 100000.0, "flow when fully open (500 gpm = 114 m3/h)"),
        num("stroke_s", "s", 10.0, 0.01, 3600.0, "full stroke time"),
    ),
    initial=(flag("open", False, "commanded open"),),
    states=(
        state("open", "0/1", "open command (writable)", init="open"),
        state("position", "%", "stem position"),
    ),
    ports=(
        inp("stop", Quantity.FLAG, "1 = forced closed (interlock)", optional=True),
        out("flow", Quantity.LIQUID_FLOW, "flow through the valve"),
        out("position", Quantity.PERCENT, "stem position (a loading arm in series with a vsd_pump)"),
    ),
    signals=(
        setting("open", "", (0, 1), (0, 1), "command", states=("CLOSE", "OPEN")),
        shown("position", "%", (0, 100), "stem position"),
        shown("flow", "m3/h", (0, 200), "flow"),
    ),
    start=lambda p, init, n: {"position": init["open"] * 100.0},
)


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"flow": p["flow_m3h"] / 3600.0 * s["position"] * 0.01, "position": s["position"]}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    target = np.where((s["open"] > 0.5) & (i["stop"] < 0.5), 100.0, 0.0)
    step = 100.0 * ctx.dt / p["stroke_s"]
    return {"position": s["position"] + np.clip(target - s["position"], -step, step)}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"open": s["open"], "position": s["position"], "flow": p["flow_m3h"] * s["position"] * 0.01}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
