"""Cascade controller: a master PID whose output is the setpoint of a slave PID (one block, so the
slave setpoint needs no port). Modes: 0 MAN (output written), 1 AUTO (slave on its own written
setpoint; the master tracks it), 2 CASCADE (master sets the slave setpoint). Both PIDs are the ISA
form of the ``pid`` block (anti-windup, bumpless mode changes and return from a Bad PV).
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine._control import pid_step
from plc_emulator.engine.blocks._build import choice, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Param, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]


def _tuning(prefix: str, what: str) -> tuple[Param, ...]:
    return (
        num(f"{prefix}_kc", "", 1.0, 0.0, 100.0, f"{what} gain Kc"),
        num(f"{prefix}_ti", "s", 120.0, 1.0, 1e6, f"{what} integral time"),
        num(f"{prefix}_td", "s", 0.0, 0.0, 1e5, f"{what} derivative time"),
        choice(f"{prefix}_action", ("direct", "reverse"), "direct", f"{what} action"),
        num(f"{prefix}_lo", "EU", 0.0, -1e9, 1e9, f"{what} PV range low"),
        num(f"{prefix}_hi", "EU", 100.0, -1e9, 1e9, f"{what} PV range high"),
    )


SPEC = BlockSpec(
    kind="cascade",
    category=BlockCategory.CONTROL,
    summary="Cascade control: master PID -> slave setpoint -> slave PID -> output; MAN/AUTO/CAS.",
    params=(
        *_tuning("master", "master"),
        *_tuning("slave", "slave"),
        num("slave_sp_lo", "EU", 0.0, -1e9, 1e9, "slave setpoint at master output 0 %"),
        num("slave_sp_hi", "EU", 100.0, -1e9, 1e9, "slave setpoint at master output 100 %"),
    ),
    initial=(
        num("sp", "EU", 50.0, -1e9, 1e9, "master setpoint"),
        num("slave_sp", "EU", 50.0, -1e9, 1e9, "slave setpoint"),
        choice("mode", ("MAN", "AUTO", "CAS"), "CAS", "mode"),
        num("out", "%", 50.0, 0.0, 100.0, "output"),
    ),
    states=(
        state("sp", "EU", "master setpoint (writable)", init="sp"),
        state("slave_sp", "EU", "slave setpoint (writable in AUTO)", init="slave_sp"),
        state("mode", "", "0 MAN, 1 AUTO, 2 CAS (writable)", init="mode"),
        state("out", "%", "output", init="out"),
        state("manual", "%", "manual output (written as out)", init="out"),
        state("m_integral", "%", "master integral"), state("m_derivative", "%", "master derivative"),
        state("m_pv_prev", "%", "master last PV"), state("m_held", "0/1", "master PV was Bad", value=1.0),
        state("s_integral", "%", "slave integral", init="out"), state("s_derivative", "%", "slave derivative"),
        state("s_pv_prev", "%", "slave last PV"), state("s_held", "0/1", "slave PV was Bad", value=1.0),
    ),
    ports=(
        inp("master_pv", Quantity.PERCENT, "master PV, % of range (a transmitter's pct)"),
        inp("slave_pv", Quantity.PERCENT, "slave PV, % of range"),
        inp("master_bad", Quantity.FLAG, "1 = master PV Bad", optional=True),
        inp("slave_bad", Quantity.FLAG, "1 = slave PV Bad", optional=True),
        out("out", Quantity.PERCENT, "output to the final element",
            depends=("master_pv", "slave_pv", "master_bad", "slave_bad")),
    ),
    signals=(
        setting("sp", "EU", (0, 100), (-1e9, 1e9), "master setpoint"),
        setting("slave_sp", "EU", (0, 100), (-1e9, 1e9), "slave setpoint (written in AUTO; set by the master in CAS)"),
        setting("mode", "", (0, 2), (0, 2), "mode", states=("MAN", "AUTO", "CAS")),
        setting("out", "%", (0, 100), (0, 100), "output (writes take effect in MAN)"),
        shown("master_pv", "EU", (0, 100), "master PV"),
        shown("slave_pv", "EU", (0, 100), "slave PV"),
    ),
)


def _pct(x: F64, lo: F64, hi: F64) -> F64:
    out: F64 = (x - lo) / (hi - lo) * 100.0
    return out


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    mode = np.rint(s["mode"])
    sp_span = p["slave_sp_hi"] - p["slave_sp_lo"]
    track = np.clip((s["slave_sp"] - p["slave_sp_lo"]) / sp_span * 100.0, 0.0, 100.0)
    m = pid_step(sp=_pct(s["sp"], p["master_lo"], p["master_hi"]), pv=i["master_pv"], pv_prev=s["m_pv_prev"],
                 integ=s["m_integral"], deriv=s["m_derivative"], kc=p["master_kc"], ti=p["master_ti"],
                 td=p["master_td"], action=np.where(p["master_action"] < 0.5, -1.0, 1.0),
                 auto=(mode > 1.5).astype(np.float64), manual_out=track,
                 hold=(i["master_bad"] > 0.5).astype(np.float64), held_prev=s["m_held"], dt=ctx.dt)
    slave_sp = np.where(mode > 1.5, p["slave_sp_lo"] + m.out * 0.01 * sp_span, s["slave_sp"])
    sl = pid_step(sp=_pct(slave_sp, p["slave_lo"], p["slave_hi"]), pv=i["slave_pv"], pv_prev=s["s_pv_prev"],
                  integ=s["s_integral"], deriv=s["s_derivative"], kc=p["slave_kc"], ti=p["slave_ti"],
                  td=p["slave_td"], action=np.where(p["slave_action"] < 0.5, -1.0, 1.0),
                  auto=(mode > 0.5).astype(np.float64), manual_out=np.where(mode > 0.5, s["out"], s["manual"]),
                  hold=(i["slave_bad"] > 0.5).astype(np.float64), held_prev=s["s_held"], dt=ctx.dt)
    return {"out": sl.out, "_slave_sp": slave_sp, "_mi": m.integ, "_md": m.deriv, "_mh": m.held,
            "_si": sl.integ, "_sd": sl.deriv, "_sh": sl.held}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"out": i["out"], "slave_sp": i["_slave_sp"], "m_integral": i["_mi"], "m_derivative": i["_md"],
            "m_held": i["_mh"], "m_pv_prev": i["master_pv"], "s_integral": i["_si"], "s_derivative": i["_sd"],
            "s_held": i["_sh"], "s_pv_prev": i["slave_pv"]}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"sp": s["sp"], "slave_sp": s["slave_sp"], "mode": s["mode"], "out": i["out"],
            "master_pv": p["master_lo"] + i["master_pv"] * 0.01 * (p["master_hi"] - p["master_lo"]),
            "slave_pv": p["slave_lo"] + i["slave_pv"] * 0.01 * (p["slave_hi"] - p["slave_lo"])}


KERNEL = Kernel(feed=_feed, update=_update, signals=_signals)
