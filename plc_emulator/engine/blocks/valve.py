"""Control valve: Cv, inherent characteristic, actuator lag and two-parameter (S, J) stiction.

Liquid service: Q = Cv f(x) sqrt(dP / SG) (ISA-75.01, non-choked). Gas service: 963 Cv f(x)
sqrt(dP (P1 + P2) / (G T)), choked below P2 = P1 / 2 (absolute). f(x) is linear or equal-% R^(x-1)
blended to close at x = 0. The stem follows the stiction model's output through a first-order
actuator lag, so the flow does not depend on the opening command in the same tick.
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine import _physics as ph
from plc_emulator.engine._control import stiction_step
from plc_emulator.engine.blocks._build import choice, inp, num, out, shown
from plc_emulator.engine.blocks._build import state as st
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

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
        st("s_now", "%", "stiction S in force (a stiction fault overrides stiction_s)"),
        st("j_now", "%", "stiction J in force"),
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


def _char(p: Arrays, stem: F64) -> F64:
    x = np.clip(stem * 0.01, 0.0, 1.0)
    r = p["rangeability"]
    out: F64 = np.where(p["characteristic"] < 0.5, r ** (x - 1.0) - (1.0 - x) / r, x)
    return out


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    f = _char(p, s["stem"])
    return {"flow_fraction": f * 100.0,
            "resistance": p["sg"] / np.maximum(p["cv"] * f * ph.GPM_TO_M3S, 1e-12) ** 2}


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    src = i["source"]
    p_up, wf, gor, temp = src[..., 0], src[..., 1], src[..., 2], src[..., 3]
    cvf = p["cv"] * i["flow_fraction"] * 0.01
    q = ph.liquid_flow(cvf, p_up - i["p_down"], p["sg"])
    gas_svc = p["service"] > 0.5
    g = ph.gas_flow(cvf, p_up, i["p_down"], ph.celsius_to_rankine(temp))
    oil = np.where(gas_svc, 0.0, q * (1.0 - wf))
    water = np.where(gas_svc, 0.0, q * wf)
    gas = np.where(gas_svc, g, oil * gor)
    return {"outlet": np.stack((oil, water, gas, temp), axis=-1)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    r = stiction_step(u=i["opening"], s=s["s_now"], j=s["j_now"], u_prev=s["stick_u"],
                      du_prev=s["stick_du"], y_prev=s["stick_y"], u_s=s["stick_us"], stuck=s["stuck"],
                      d=s["direction"])
    held = s["fault_stuck"] > 0.5
    lag = 1.0 - np.exp(-ctx.dt / p["tau_s"])
    return {"stick_y": np.where(held, s["stick_y"], r.y), "stick_u": r.u_prev, "stick_du": r.du_prev,
            "stick_us": r.u_s, "stuck": r.stuck, "direction": r.d,
            "stem": np.where(held, s["stem"], s["stem"] + lag * (r.y - s["stem"]))}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    o = i["outlet"]
    return {"position": s["stem"], "flow": o[..., 0] + o[..., 1], "gas_flow": o[..., 2] * 86400.0 / 1e6}


def _init(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    s_, j_ = p["stiction_s"].copy(), p["stiction_j"].copy()
    return {"s_now": s_, "j_now": j_, "stick_us": s["stick_us"] + (s_ - j_) / 2.0}


KERNEL = Kernel(init=_init, out=_out, feed=_feed, update=_update, signals=_signals)
