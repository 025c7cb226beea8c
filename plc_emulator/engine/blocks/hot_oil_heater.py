"""Hot-oil heater (fired or electric) with its circulation pump on a VSD and a minimum-flow bypass.

    M cp dTsup/dt = m_tot cp (Tret - Tsup) + eta Q,    Q = firing % x max duty (0 when tripped)
    Tret = (sum q_i T_i + q_bypass Tsup) / q_tot,      q_bypass = max(0, f q_min - sum q_i)
    f = pump speed / 100 % while running (else 0),      P_pump = rated kW x f^3

The circulation pump runs on a variable-speed drive: the actual speed follows the written setpoint
at ``ramp_pct_s``. The hot-oil loop is friction-dominated (no static head), so by the affinity laws
every flow in it is proportional to the speed and the pump power to its cube: ``flow_fraction``
(speed %, 0 when stopped) scales each coil's oil flow, and the bypass keeps f x ``min_flow_m3h``.

Up to ten returns (coil outlets) come in as streams (hot-oil m3/s in the first column, °C last).
Stepped implicitly in Tsup (exact for held inputs). A trip (written, or a heater flow below
``low_flow_m3h``: the circulation pump stopped, or slowed until the bypass alone falls short) cuts
the duty and latches until a reset. A stopped pump's drive ramps down to 0 and starts again from there.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from plc_emulator.engine.blocks._build import inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

RETURNS: Final = 10
OIL_DENSITY: Final = 825.0  # kg/m3 at 280 °C
OIL_CP: Final = 2490.0  # J/(kg K)

SPEC = BlockSpec(
    kind="hot_oil_heater",
    category=BlockCategory.HEAT,
    summary="Hot-oil heater: supply/return temperatures, duty, min-flow bypass, circulation pump, latched trip.",
    params=(
        num("max_duty_kw", "kW", 1500.0, 1.0, 1e6, "heater duty at 100 % firing"),
        num("efficiency", "", 0.85, 0.1, 1.0, "firing efficiency (1 for electric)"),
        num("oil_volume_m3", "m3", 10.0, 0.1, 1000.0, "oil in the heater and loop"),
        num("min_flow_m3h", "m3/h", 60.0, 0.0, 10000.0, "minimum heater flow kept by the bypass"),
        num("low_flow_m3h", "m3/h", 30.0, 0.0, 10000.0, "low-flow trip"),
        num("pump_kw", "kW", 22.0, 0.0, 10000.0, "circulation pump power at 100 % speed"),
        num("ramp_pct_s", "%/s", 5.0, 0.1, 100.0, "drive acceleration/deceleration limit"),
    ),
    initial=(num("supply_c", "°C", 280.0, 0.0, 400.0, "supply temperature"),),
    states=(
        state("tsup", "°C", "supply temperature", init="supply_c"),
        state("circulation", "0/1", "circulation pump running (writable)", value=1.0),
        state("speed_sp", "%", "circulation pump speed setpoint (writable)", value=100.0),
        state("speed", "%", "circulation pump actual speed", value=100.0),
        state("tripped", "0/1", "heater tripped (latched)"),
        state("trip", "0/1", "trip push-button (writable)"),
        state("reset", "0/1", "reset push-button (writable)"),
        state("duty", "kW", "duty of the last tick"),
    ),
    ports=(
        inp("firing", Quantity.PERCENT, "firing demand (supply temperature controller output)"),
        *(inp(f"return_{k}", Quantity.STREAM, f"coil return {k}", optional=True) for k in range(1, RETURNS + 1)),
        out("supply", Quantity.TEMPERATURE, "hot-oil supply temperature"),
        out("circulating", Quantity.FLAG, "1 while the circulation pump runs"),
        out("flow_fraction", Quantity.PERCENT, "circulation pump speed while it runs, else 0 (flow ~ speed)"),
    ),
    signals=(
        shown("supply_temperature", "°C", (0, 350), "hot-oil supply temperature"),
        shown("return_temperature", "°C", (0, 350), "mixed return temperature"),
        shown("flow", "m3/h", (0, 200), "heater flow (coils + bypass)"),
        shown("duty", "kW", (0, 2000), "heat into the oil"),
        shown("status", "", (0, 1), "heater", states=("RUNNING", "TRIPPED")),
        shown("speed", "%", (0, 100), "circulation pump actual speed"),
        shown("pump_power", "kW", (0, 50), "circulation pump power (affinity law)"),
        setting("speed_sp", "%", (0, 100), (20, 100), "circulation pump speed setpoint (VSD)"),
        setting("circulation", "", (0, 1), (0, 1), "circulation pump", states=("STOPPED", "RUNNING")),
        setting("trip", "", (0, 1), (0, 1), "trip (write 1)", states=("-", "TRIP")),
        setting("reset", "", (0, 1), (0, 1), "reset (write 1)", states=("-", "RESET")),
    ),
)


def _fraction(s: Arrays) -> F64:
    """Circulation pump speed / 100 while it runs, else 0."""
    out: F64 = np.clip(s["speed"], 0.0, 100.0) * 0.01 * (s["circulation"] > 0.5)
    return out


def _mix(p: Arrays, s: Arrays, i: Arrays) -> tuple[F64, F64]:
    """Heater flow [m3/s] and mixed return temperature."""
    rets = np.stack([i[f"return_{k}"] for k in range(1, RETURNS + 1)], axis=-2)  # (..., R, 4)
    q = rets[..., 0].sum(axis=-1)
    qt = (rets[..., 0] * rets[..., 3]).sum(axis=-1)
    run = s["circulation"] > 0.5
    bypass = np.maximum(p["min_flow_m3h"] / 3600.0 * _fraction(s) - q, 0.0) * run
    total = np.where(run, q + bypass, 0.0)
    tret = np.where(total > 1e-9, (qt * run + bypass * s["tsup"]) / np.maximum(total, 1e-9), s["tsup"])
    return total, tret


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"supply": s["tsup"], "circulating": (s["circulation"] > 0.5).astype(np.float64),
            "flow_fraction": _fraction(s) * 100.0}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    total, tret = _mix(p, s, i)
    low = total * 3600.0 < p["low_flow_m3h"]
    new_trip = ((s["trip"] > 0.5) | low) & (s["tripped"] < 0.5)
    if new_trip.any():
        ctx.event("heater_trip", new_trip, {"reason": "trip"})
    tripped = np.where(new_trip, 1.0, np.where((s["reset"] > 0.5) & ~low, 0.0, s["tripped"]))
    duty = p["max_duty_kw"] * 1000.0 * np.clip(i["firing"], 0.0, 100.0) * 0.01 * (tripped < 0.5)
    mcp = p["oil_volume_m3"] * OIL_DENSITY * OIL_CP
    rate = total * OIL_DENSITY * OIL_CP / mcp
    heat = p["efficiency"] * duty / mcp
    decay = np.exp(-rate * ctx.dt)
    steady_gain = np.where(rate > 1e-12, (1.0 - decay) / np.maximum(rate, 1e-12), ctx.dt)
    tsup = s["tsup"] * decay + (rate * tret + heat) * steady_gain
    zero = np.zeros_like(tsup)
    target = np.where(s["circulation"] > 0.5, np.clip(s["speed_sp"], 0.0, 100.0), 0.0)
    step = p["ramp_pct_s"] * ctx.dt
    speed = s["speed"] + np.clip(target - s["speed"], -step, step)
    return {"tsup": tsup, "tripped": tripped, "trip": zero, "reset": zero, "duty": duty / 1000.0, "speed": speed}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    total, tret = _mix(p, s, i)
    return {"supply_temperature": s["tsup"], "return_temperature": tret, "flow": total * 3600.0,
            "duty": s["duty"], "status": s["tripped"], "circulation": s["circulation"], "trip": s["trip"],
            "reset": s["reset"], "speed": s["speed"], "pump_power": p["pump_kw"] * _fraction(s) ** 3,
            "speed_sp": s["speed_sp"]}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
