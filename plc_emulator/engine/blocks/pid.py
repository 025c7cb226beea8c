"""PID controller, ISA positional form, on % of the PV range.

u = Kc (e + 1/Ti integral(e) - Td dPV/dt (filtered, Td/10)), P on error, D on the PV, back-calculation
anti-windup (tracking time sqrt(Ti Td), or Ti without D). Bumpless in three ways: manual -> auto
(the integral tracks the manual output), and back from a Bad PV: while the PV is Bad the output is
held and the integral tracks it; on the first Good tick the integral is re-initialised so that the
output continues from the held value, and the derivative restarts from the new PV (no kick).
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine._control import pid_step
from plc_emulator.engine.blocks._build import choice, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="pid",
    category=BlockCategory.CONTROL,
    summary="PID, ISA form, anti-windup, bumpless manual/auto and bumpless return from a Bad PV.",
    params=(
        num("kc", "", 1.0, 0.0, 100.0, "proportional gain Kc"),
        num("ti", "s", 120.0, 1.0, 1e6, "integral time Ti"),
        num("td", "s", 0.0, 0.0, 1e5, "derivative time Td"),
        choice("action", ("direct", "reverse"), "direct", "direct: output rises with the PV"),
        num("pv_lo", "EU", 0.0, -1e9, 1e9, "PV range low (0 %)"),
        num("pv_hi", "EU", 100.0, -1e9, 1e9, "PV range high (100 %)"),
        num("sp_lo", "EU", 0.0, -1e9, 1e9, "lowest setpoint an operator may write"),
        num("sp_hi", "EU", 100.0, -1e9, 1e9, "highest setpoint an operator may write"),
    ),
    initial=(
        num("sp", "EU", 50.0, -1e9, 1e9, "setpoint"),
        choice("mode", ("MAN", "AUTO"), "AUTO", "mode"),
        num("out", "%", 50.0, 0.0, 100.0, "output"),
    ),
    steady=False,
    states=(
        state("sp", "EU", "setpoint", init="sp"),
        state("mode", "", "0 MAN, 1 AUTO", init="mode"),
        state("out", "%", "output", init="out"),
        state("manual", "%", "manual output", init="out"),
        state("kc", "", "gain (writable)"),
        state("ti", "s", "integral time (writable)"),
        state("td", "s", "derivative time"),
        state("integral", "%", "integral term", init="out"),
        state("derivative", "%", "filtered derivative term"),
        state("pv_prev", "%", "last PV"),
        state("held", "0/1", "the PV was Bad last tick"),
    ),
    ports=(
        inp("pv", Quantity.PERCENT, "process variable, % of range (a transmitter's pct)"),
        inp("pv_bad", Quantity.FLAG, "1 = PV quality Bad", optional=True),
        out("out", Quantity.PERCENT, "controller output", depends=("pv", "pv_bad")),
    ),
    signals=(
        setting("sp", "EU", (0, 100), (0, 100), "setpoint (range and limits from pv_lo/pv_hi, sp_lo/sp_hi)"),
        setting("mode", "", (0, 1), (0, 1), "mode, 0 = manual, 1 = auto", states=("MAN", "AUTO")),
        setting("out", "%", (0, 100), (0, 100), "output; writes take effect in manual only"),
        setting("kc", "", (0, 100), (0.01, 50), "proportional gain Kc"),
        setting("ti", "s", (0, 20000), (1, 20000), "integral time Ti"),
        shown("pv", "EU", (0, 100), "PV as the controller sees it"),
    ),
)


def _init(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    # tuning starts from the parameters; the first tick re-initialises like a return from a Bad PV
    return {"kc": p["kc"].copy(), "ti": p["ti"].copy(), "td": p["td"].copy(), "held": np.ones_like(p["kc"])}


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    span = p["pv_hi"] - p["pv_lo"]
    auto = s["mode"]
    hold_val = np.where(auto > 0.5, s["out"], s["manual"])
    res = pid_step(sp=(s["sp"] - p["pv_lo"]) / span * 100.0, pv=i["pv"], pv_prev=s["pv_prev"],
                   integ=s["integral"], deriv=s["derivative"], kc=s["kc"], ti=s["ti"], td=s["td"],
                   action=np.where(p["action"] < 0.5, -1.0, 1.0), auto=auto, manual_out=hold_val,
                   hold=(i["pv_bad"] > 0.5).astype(np.float64), held_prev=s["held"], dt=ctx.dt)
    return {"out": res.out, "_integral": res.integ, "_derivative": res.deriv, "_held": res.held}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"out": i["out"], "integral": i["_integral"], "derivative": i["_derivative"], "held": i["_held"],
            "pv_prev": i["pv"]}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"sp": s["sp"], "mode": s["mode"], "out": i["out"], "kc": s["kc"], "ti": s["ti"],
            "pv": p["pv_lo"] + i["pv"] * 0.01 * (p["pv_hi"] - p["pv_lo"])}


KERNEL = Kernel(init=_init, feed=_feed, update=_update, signals=_signals)
