"""Interlock / ESD: trip conditions on signals, latching, reset, first-out and bypass with audit.

A trip fires when any condition of the plant file's ``interlocks:`` entry holds (``above`` /
``below`` a value) or the push-button is written; a latching interlock stays tripped until a reset
with every cause gone. ``first_out`` records which condition tripped first (1-based, 0 = manual).
A bypassed condition is ignored; every bypass change is a ground-truth event (the audit trail).
"""

from __future__ import annotations

from plc_emulator.engine.blocks._build import flag, num, out, setting, shown, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["SPEC"]

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
