"""Exothermic CSTR (A -> B, first order) with a cooling jacket: Arrhenius kinetics, multiple steady
states, runaway when the cooling is lost.

    k(T)   = k0 exp(-(E/R)/T)
    dCA/dt = q/V (CAf - CA) - k CA
    dT/dt  = q/V (Tf - T) + (-dH)/(rho Cp) k CA + UA/(rho Cp V) (Tj - T)
    dTj/dt = qc/Vc (Tcf - Tj) + UA/(rho Cp Vc) (T - Tj)          (jacket: dynamic)
    Tj     = Tcf                                                  (jacket: fixed, coolant T as input)

Times in minutes, volumes in L, temperatures in K (the ports carry °C). The step is semi-implicit:
CA implicit with k frozen (stays in [0, CAf]), then T and Tj implicit as one linear 2x2 system in
closed form; explicit Euler diverges at 0.1-5 s in a runaway, this step is stable at any dt. The
coolant flow qc = qc_max x valve fraction x pump running, with a coast-down lag; fouling removes a
fraction of UA. Feed cut and full cooling are FLAG inputs for an interlock. The feed flow is a written
setting unless the optional ``feed`` port is connected (a recorded feed from a ``playback`` block).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from plc_emulator.engine.blocks._build import choice, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KELVIN", "KERNEL", "SPEC", "steady_temperatures"]

KELVIN: Final = 273.15

SPEC = BlockSpec(
    kind="cstr",
    category=BlockCategory.VESSEL,
    summary="Exothermic CSTR with cooling jacket: Arrhenius, multiple steady states, runaway; semi-implicit.",
    params=(
        num("volume_l", "L", 100.0, 0.1, 1e7, "reactor volume V"),
        num("k0_per_min", "1/min", 7.2e10, 1e-6, 1e20, "Arrhenius pre-exponential factor k0"),
        num("e_over_r_k", "K", 8750.0, 0.0, 1e5, "activation temperature E/R"),
        num("dh_j_mol", "J/mol", 5.0e4, 0.0, 1e7, "heat of reaction -dH (exothermic > 0)"),
        num("density_g_l", "g/L", 1000.0, 1.0, 1e4, "density rho (reactor and coolant)"),
        num("cp_j_g_k", "J/(g K)", 0.239, 0.01, 100.0, "heat capacity Cp (reactor and coolant)"),
        num("ua_j_min_k", "J/(min K)", 5.0e4, 0.0, 1e12, "clean jacket UA"),
        choice("jacket", ("dynamic", "fixed"), "dynamic",
               "dynamic: jacket energy balance; fixed: jacket at the coolant supply temperature"),
        num("jacket_volume_l", "L", 20.0, 0.01, 1e7, "jacket volume Vc"),
        num("coolant_max_l_min", "L/min", 300.0, 0.0, 1e8, "coolant flow at full valve, pump running"),
        num("coast_s", "s", 3.0, 0.01, 600.0, "coolant pump coast-down / flow lag"),
        num("t_max_k", "K", 600.0, 300.0, 2000.0, "physical guard on the reactor temperature"),
    ),
    initial=(
        num("temperature_k", "K", 350.0, 200.0, 2000.0, "reactor temperature T"),
        num("concentration", "mol/L", 0.5, 0.0, 100.0, "reactor concentration CA"),
        num("jacket_temperature_k", "K", 330.0, 200.0, 2000.0, "jacket temperature Tj"),
        num("feed_l_min", "L/min", 100.0, 0.0, 1e8, "feed flow q"),
        num("feed_temperature_k", "K", 300.0, 200.0, 1000.0, "feed temperature Tf"),
        num("feed_concentration", "mol/L", 1.0, 0.0, 100.0, "feed concentration CAf"),
        num("coolant_temperature_k", "K", 300.0, 200.0, 1000.0, "coolant supply temperature Tcf"),
        num("coolant_l_min", "L/min", 150.0, 0.0, 1e8, "coolant flow qc"),
    ),
    states=(
        state("t", "K", "reactor temperature", init="temperature_k"),
        state("ca", "mol/L", "reactor concentration", init="concentration"),
        state("tj", "K", "jacket temperature", init="jacket_temperature_k"),
        state("qc", "L/min", "coolant flow (lagged)", init="coolant_l_min"),
        state("rate", "K/min", "reactor temperature rate of change"),
        state("feed_flow", "L/min", "feed flow (writable)", init="feed_l_min"),
        state("feed_temperature", "K", "feed temperature (writable)", init="feed_temperature_k"),
        state("feed_concentration", "mol/L", "feed concentration (writable)", init="feed_concentration"),
        state("coolant_temperature", "K", "coolant supply temperature (writable)", init="coolant_temperature_k"),
        state("coolant_pump", "0/1", "coolant pump running (writable)", value=1.0),
        state("fouling", "%", "UA lost to jacket fouling (writable)"),
    ),
    ports=(
        inp("coolant_valve", Quantity.PERCENT, "coolant flow fraction (a valve's flow_fraction)"),
        inp("feed_cut", Quantity.FLAG, "1 = feed stopped (interlock)", optional=True),
        inp("cooling_full", Quantity.FLAG, "1 = coolant valve forced fully open (interlock)", optional=True),
        inp("feed", Quantity.LIQUID_FLOW, "feed flow from another block (e.g. a playback); unconnected: the "
            "written feed_flow", optional=True, idle=-1.0),
        out("temperature", Quantity.TEMPERATURE, "reactor temperature"),
        out("jacket_temperature", Quantity.TEMPERATURE, "jacket temperature"),
    ),
    signals=(
        shown("temperature", "K", (250, 550), "reactor temperature T"),
        shown("jacket_temperature", "K", (250, 450), "jacket (coolant outlet) temperature Tj"),
        shown("concentration", "mol/L", (0, 1), "reactor concentration CA"),
        shown("conversion", "%", (0, 100), "1 - CA/CAf"),
        shown("coolant_flow", "L/min", (0, 300), "coolant flow qc"),
        shown("temperature_rate", "K/min", (-50, 50), "dT/dt"),
        shown("heat_release", "kW", (0, 100), "reaction heat (-dH) k CA V"),
        shown("ua", "kW/K", (0, 1), "jacket UA after fouling (a fouling monitor's input)"),
        setting("feed_flow", "L/min", (0, 150), (0, 150), "feed flow q"),
        setting("feed_temperature", "K", (280, 370), (280, 370), "feed temperature Tf"),
        setting("feed_concentration", "mol/L", (0, 2), (0, 2), "feed concentration CAf"),
        setting("coolant_temperature", "K", (270, 330), (270, 330), "coolant supply temperature Tcf"),
        setting("coolant_pump", "", (0, 1), (0, 1), "coolant pump, 0 = stopped (trip), 1 = running",
                states=("STOPPED", "RUNNING")),
        setting("fouling", "%", (0, 100), (0, 90), "jacket UA lost to fouling"),
    ),
)


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"temperature": s["t"] - KELVIN, "jacket_temperature": s["tj"] - KELVIN}


def _coolant(p: Arrays, s: Arrays, i: Arrays, dt: float) -> F64:
    frac = np.where(i["cooling_full"] > 0.5, 100.0, np.clip(i["coolant_valve"], 0.0, 100.0)) * 0.01
    target = p["coolant_max_l_min"] * frac * (s["coolant_pump"] > 0.5)
    lag = np.exp(-dt / p["coast_s"])
    qc: F64 = target + (s["qc"] - target) * lag
    return qc


def _feed(s: Arrays, i: Arrays) -> F64:
    """L/min: the connected feed port (m3/s; idle -1 when unconnected), else the written setting."""
    q: F64 = np.where(i["feed"] >= 0.0, i["feed"] * 60000.0, s["feed_flow"])
    return q


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    dt = ctx.dt / 60.0  # minutes
    qc = _coolant(p, s, i, ctx.dt)
    q = _feed(s, i) * (i["feed_cut"] < 0.5)
    v, rcp = p["volume_l"], p["density_g_l"] * p["cp_j_g_k"]
    k = p["k0_per_min"] * np.exp(-p["e_over_r_k"] / s["t"])
    ca = (s["ca"] + dt * q / v * s["feed_concentration"]) / (1.0 + dt * (q / v + k))
    ua = p["ua_j_min_k"] * (1.0 - 0.01 * s["fouling"])
    a, b = ua / (rcp * v), ua / (rcp * p["jacket_volume_l"])
    tcf = s["coolant_temperature"]
    r1 = s["t"] + dt * (q / v * s["feed_temperature"] + p["dh_j_mol"] / rcp * k * ca)
    a11, a12 = 1.0 + dt * (q / v + a), -dt * a
    a21, a22 = -dt * b, 1.0 + dt * (qc / p["jacket_volume_l"] + b)
    r2 = s["tj"] + dt * qc / p["jacket_volume_l"] * tcf
    det = a11 * a22 - a12 * a21
    fixed = p["jacket"] > 0.5
    t = np.where(fixed, (r1 + dt * a * tcf) / a11, (r1 * a22 - a12 * r2) / det)
    tj = np.where(fixed, tcf, (a11 * r2 - a21 * r1) / det)
    t = np.minimum(t, p["t_max_k"])
    return {"t": t, "ca": ca, "tj": tj, "qc": qc, "rate": (t - s["t"]) / dt}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    k = p["k0_per_min"] * np.exp(-p["e_over_r_k"] / s["t"])
    caf = np.maximum(s["feed_concentration"], 1e-12)
    return {"temperature": s["t"], "jacket_temperature": s["tj"], "concentration": s["ca"],
            "conversion": 100.0 * (1.0 - s["ca"] / caf), "coolant_flow": s["qc"], "temperature_rate": s["rate"],
            "heat_release": p["dh_j_mol"] * k * s["ca"] * p["volume_l"] / 60000.0,
            "ua": p["ua_j_min_k"] * (1.0 - 0.01 * s["fouling"]) / 60000.0,
            "feed_flow": _feed(s, i), "feed_temperature": s["feed_temperature"],
            "feed_concentration": s["feed_concentration"], "coolant_temperature": s["coolant_temperature"],
            "coolant_pump": s["coolant_pump"], "fouling": s["fouling"]}


def steady_temperatures(*, tc: float, tf: float = 350.0, caf: float = 1.0, q: float = 100.0, v: float = 100.0,
                        k0: float = 7.2e10, e_r: float = 8750.0, dh: float = 5.0e4, rcp: float = 239.0,
                        ua: float = 5.0e4) -> list[float]:
    """Every steady-state reactor temperature [K] with the jacket at ``tc`` (fixed-jacket form):
    the roots of heat generated = heat removed, bracketed on a 0.01 K grid and bisected."""
    grid = np.arange(250.0, 700.0, 0.01)

    def resid(t: F64) -> F64:
        k = k0 * np.exp(-e_r / t)
        ca = q / v * caf / (q / v + k)
        out: F64 = q / v * (tf - t) + dh / rcp * k * ca + ua / (rcp * v) * (tc - t)
        return out

    f = resid(grid)
    roots: list[float] = []
    for j in np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]:
        lo, hi = float(grid[j]), float(grid[j + 1])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if np.sign(resid(np.array(mid))) == np.sign(resid(np.array(lo))):
                lo = mid
            else:
                hi = mid
        roots.append(0.5 * (lo + hi))
    return roots


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
