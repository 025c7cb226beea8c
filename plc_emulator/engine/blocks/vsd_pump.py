"""Centrifugal pump on a variable-speed drive (a loading or circulation pump) against its station's
system curve: speed command with a ramp-rate-limited drive, run/stop, latched trip, motor power.

    pump curve    H = r^2 H0 - a Q^2          (r = speed / rated speed; affinity laws)
    system curve  H = Hs + k Q^2              (through the duty point: Hr = Hs + k Qr^2)
    operating point  Q = sqrt(max(r^2 H0 - Hs, 0) / (a + k)) x arm opening

With no static head (Hs = 0) the flow is exactly proportional to speed, the head to its square and
the power to its cube; a static head bends the flow below the affinity line and stops it below
r = sqrt(Hs / H0). The ``arm`` input (an on/off valve's position, %) opens and closes the path;
a partly stroked arm scales the flow linearly.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from plc_emulator.engine.blocks._build import flag, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

G: Final = 9.80665  # m/s2

SPEC = BlockSpec(
    kind="vsd_pump",
    category=BlockCategory.MOVER,
    summary="Pump on a VSD: ramped speed, affinity laws against a system curve, run/stop/trip, motor power.",
    params=(
        num("rated_speed_rpm", "rpm", 1480.0, 100.0, 20000.0, "rated (100 %) speed"),
        num("rated_flow_m3h", "m3/h", 114.0, 0.1, 100000.0, "flow at the duty point (rated speed, arm open)"),
        num("rated_head_m", "m", 40.0, 0.1, 2000.0, "head at the duty point"),
        num("shutoff_ratio", "", 1.25, 1.01, 3.0, "shut-off head / rated head"),
        num("static_head_m", "m", 0.0, 0.0, 2000.0, "static part of the system curve (below rated_head_m)"),
        num("density_kg_m3", "kg/m3", 1000.0, 100.0, 3000.0, "density of the pumped liquid"),
        num("efficiency", "", 0.65, 0.05, 1.0, "pump x motor x drive efficiency"),
        num("no_flow_power_kw", "kW", 3.0, 0.0, 10000.0, "power at rated speed with the arm shut"),
        num("ramp_rpm_s", "rpm/s", 50.0, 0.1, 20000.0, "drive acceleration/deceleration limit"),
        num("max_speed_rpm", "rpm", 1480.0, 100.0, 20000.0, "highest speed the drive accepts"),
    ),
    initial=(
        flag("running", True, "start running"),
        num("speed_rpm", "rpm", 1480.0, 0.0, 20000.0, "initial speed and speed setpoint"),
    ),
    states=(
        state("status", "", "0 stopped, 1 running, 2 tripped", init="running"),
        state("run_cmd", "0/1", "run command (writable)", init="running"),
        state("speed_sp", "rpm", "speed setpoint (writable)", init="speed_rpm"),
        state("speed", "rpm", "actual speed", init="speed_rpm"),
        state("reset", "0/1", "trip reset written this tick"),
    ),
    ports=(
        inp("arm", Quantity.PERCENT, "loading arm / block valve opening in series", optional=True, idle=100.0),
        inp("trip", Quantity.FLAG, "external trip (latched until a reset)", optional=True),
        out("flow", Quantity.LIQUID_FLOW, "pumped flow", depends=("arm",)),
    ),
    signals=(
        shown("flow", "m3/h", (0, 200), "pumped flow"),
        shown("speed", "rpm", (0, 1800), "actual speed"),
        shown("head", "m", (0, 100), "pump head"),
        shown("power", "kW", (0, 50), "motor power"),
        shown("status", "", (0, 2), "status", states=("STOPPED", "RUNNING", "TRIPPED")),
        setting("run_cmd", "", (0, 1), (0, 1), "run command", states=("STOP", "RUN")),
        setting("speed_sp", "rpm", (0, 1800), (300, 1480), "speed setpoint (VSD)"),
        setting("reset", "", (0, 1), (0, 1), "trip reset (write 1)", states=("-", "RESET")),
    ),
    start=lambda p, init, n: {"speed": init["speed_rpm"] * init["running"]},
)


def _curves(p: Arrays) -> tuple[F64, F64, F64]:
    """Shut-off head H0, pump-curve coefficient a and system-curve coefficient k (m per (m3/s)^2)."""
    q_r = p["rated_flow_m3h"] / 3600.0
    h0 = p["shutoff_ratio"] * p["rated_head_m"]
    a = (h0 - p["rated_head_m"]) / q_r**2
    k = np.maximum(p["rated_head_m"] - p["static_head_m"], 1e-3 * p["rated_head_m"]) / q_r**2
    return h0, a, k


def _point(p: Arrays, s: Arrays, i: Arrays) -> tuple[F64, F64, F64]:
    """Flow [m3/s], head [m] and power [kW] at the present speed and arm opening."""
    h0, a, k = _curves(p)
    r = np.maximum(s["speed"], 0.0) / p["rated_speed_rpm"]
    q = np.sqrt(np.maximum(r * r * h0 - p["static_head_m"], 0.0) / (a + k))
    q = q * np.clip(i["arm"], 0.0, 100.0) * 0.01
    head = np.maximum(r * r * h0 - a * q * q, 0.0)
    power = p["density_kg_m3"] * G * q * head / p["efficiency"] / 1000.0 + p["no_flow_power_kw"] * r**3
    return q, head, power


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"flow": _point(p, s, i)[0]}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    running = s["status"] == 1.0
    trip = running & (i["trip"] > 0.5)
    ctx.event("pump_trip", trip)
    reset = (s["reset"] > 0.5) & (s["status"] == 2.0) & (i["trip"] < 0.5)
    tripped = trip | ((s["status"] == 2.0) & ~reset)
    status = np.where(tripped, 2.0, np.where(s["run_cmd"] > 0.5, 1.0, 0.0))
    sp = np.clip(s["speed_sp"], 0.0, p["max_speed_rpm"])
    target = np.where(status == 1.0, sp, 0.0)
    step = p["ramp_rpm_s"] * ctx.dt
    speed = s["speed"] + np.clip(target - s["speed"], -step, step)
    return {"status": status, "speed": speed, "reset": np.zeros_like(speed)}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    q, head, power = _point(p, s, i)
    return {"flow": q * 3600.0, "speed": s["speed"], "head": head, "power": power, "status": s["status"],
            "run_cmd": s["run_cmd"], "speed_sp": s["speed_sp"], "reset": s["reset"]}


KERNEL = Kernel(feed=_feed, update=_update, signals=_signals)
