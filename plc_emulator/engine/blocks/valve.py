"""Control valve: Cv, inherent characteristic, actuator lag and two-parameter (S, J) stiction.

Liquid service: Q = Cv f(x) sqrt(dP / SG) (ISA-75.01, non-choked). Gas service: 963 Cv f(x)
sqrt(dP (P1 + P2) / (G T)), choked below P2 = P1 / 2 (absolute). f(x) is linear or equal-% R^(x-1)
blended to close at x = 0. The stem follows the stiction model's output through a first-order
actuator lag, so the flow does not depend on the opening command in the same tick.
"""

from __future__ import annotations

from plc_emulator.engine.blocks._build import choice, inp, num, out, shown
from plc_emulator.engine.blocks._build import state as st
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["SPEC"]

SPEC = BlockSpec(
    kind="control_valve",
    category=BlockCategory.VALVE,
    summary="Control valve: Cv, linear/equal-% characteristic, actuator lag, S/J stiction.",
    params=(
        choice("service", ("liquid", "gas"), "liquid", "fluid through the valve"),
        num("cv", "gpm/psi^0.5", 100.0, 0.001, 100000.0, "flow coefficient at full opening"),
        choice("characteristic", ("equal", "linear"), "equal", "inherent characteristic"),
        num("rangeability", "", 30.0, 2.0, 200.0, "equal-% rangeability R"),
        num("tau_s", "s", 2.0, 0.01, 600.0, "actuator first-order lag"),
        num("stiction_s", "%", 0.3, 0.0, 100.0, "deadband + stickband S, % of span"),
        num("stiction_j", "%", 0.1, 0.0, 100.0, "slip jump J, % of span"),
        num("sg", "", 0.85, 0.3, 2.0, "liquid specific gravity (liquid service)"),
    ),
    initial=(num("opening_pct", "%", 50.0, 0.0, 100.0, "stem position"),),
    states=(
        st("stem", "%", "stem position", init="opening_pct"),
        st("stick_y", "%", "stiction model output", init="opening_pct"),
        st("stick_u", "%", "last input to the stiction model", init="opening_pct"),
        st("stick_du", "%", "last input change"),
        st("stick_us", "%", "input when the valve last stuck", init="opening_pct"),
        st("stuck", "0/1", "the stiction model holds the stem"),
        st("direction", "", "direction of the last move", value=-1.0),
        st("fault_stuck", "0/1", "stuck-valve fault injected"),
    ),
    ports=(
        inp("opening", Quantity.PERCENT, "opening command (controller output)"),
        inp("source", Quantity.SOURCE, "upstream nozzle", optional=True),
        inp("p_down", Quantity.PRESSURE, "downstream pressure", optional=True),
        out("outlet", Quantity.STREAM, "flow through the valve", depends=("source", "p_down")),
        out("flow_fraction", Quantity.PERCENT, "f(stem) x 100: fraction of full flow (utility valves)"),
        out("resistance", Quantity.RESISTANCE, "SG / (Cv f)^2, for a valve in series with a pump"),
    ),
    signals=(
        shown("position", "%", (0, 100), "stem position"),
        shown("flow", "m3/s", (0, 1), "liquid flow (liquid service)"),
        shown("gas_flow", "MMSCFD", (0, 100), "gas flow (gas service)"),
    ),
)
