"""Interlock / ESD: trip conditions on signals, latching, reset, first-out and bypass with audit.

A trip fires when any condition of the plant file's ``interlocks:`` entry holds (``above`` /
``below`` a value) or the push-button is written; a latching interlock stays tripped until a reset
with every cause gone. ``first_out`` records which condition tripped first (1-based, 0 = manual).
A bypassed condition is ignored; every bypass change is a ground-truth event (the audit trail).
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import flag, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="interlock",
    category=BlockCategory.CONTROL,
    summary="Interlock/ESD: trip conditions, latching, reset, first-out, bypass with audit.",
    params=(
        flag("latching", True, "stay tripped until reset"),
        num("delay_s", "s", 0.0, 0.0, 3600.0, "a condition must hold this long to trip"),
    ),
    states=(
        state("active", "0/1", "tripped"),
        state("first_out", "", "first condition to trip (1-based), 0 = manual"),
        state("pending", "s", "time the conditions have held"),
        state("bypass", "0/1", "conditions bypassed"),
        state("trip_cmd", "0/1", "push-button pressed this tick"),
        state("reset_cmd", "0/1", "reset pressed this tick"),
    ),
    ports=(out("trip", Quantity.FLAG, "1 while tripped"),),
    signals=(
        shown("active", "", (0, 1), "trip status", states=("NORMAL", "TRIPPED")),
        shown("first_out", "", (0, 16), "first-out cause (1-based, 0 = manual)"),
        setting("trip", "", (0, 1), (0, 1), "push-button (write 1)", states=("-", "TRIP")),
        setting("reset", "", (0, 1), (0, 1), "reset (write 1)", states=("-", "RESET")),
        setting("bypass", "", (0, 1), (0, 1), "bypass all conditions (audited)", states=("OFF", "ON")),
    ),
)


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"trip": s["active"]}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    """``i["_cause"]``: any trip condition holds; ``i["_first"]``: the first one (1-based), per unit."""
    cause = (i["_cause"] > 0.5) & (s["bypass"] < 0.5)
    pending = np.where(cause, s["pending"] + ctx.dt, 0.0)
    button = s["trip_cmd"] > 0.5
    fire = (cause & (pending >= p["delay_s"])) | button
    active = s["active"] > 0.5
    new = fire & ~active
    if new.any():
        ctx.event("esd_trip", new & button, {"reason": "manual"})
        ctx.event("esd_trip", new & ~button, {"reason": "condition"})
    release = np.where(p["latching"] > 0.5, (s["reset_cmd"] > 0.5) & ~cause, ~fire)
    still = np.where(new, 1.0, np.where(active & release, 0.0, s["active"]))
    zero = np.zeros_like(s["active"])
    return {"active": still, "first_out": np.where(new, np.where(button, 0.0, i["_first"]), s["first_out"]),
            "pending": pending, "trip_cmd": zero, "reset_cmd": zero}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"active": s["active"], "first_out": s["first_out"], "trip": s["trip_cmd"], "reset": s["reset_cmd"],
            "bypass": s["bypass"]}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
