"""Centrifugal pump against its system curve, with running status, trips and vibration degradation.

Pump curve dP = r^2 dP0 - a Q^2 (r = speed / rated) against the system curve of the export line
(static back-pressure + k Q^2) and an optional throttling valve in series: the operating point is
closed-form. Vibration: 1x, 2x, vane-pass and bearing tones with beats plus broadband, ISO 10816-3
zones; degradation starts at a Weibull-distributed running time (one draw per row) and grows as
v = v0 + theta (exp(beta t) - 1), reaching the B/C boundary ``pf_interval_days`` after onset.
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine import _physics as ph
from plc_emulator.engine.blocks._build import flag, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

_VIB = ("vib_1x", "vib_2x", "vib_vane", "vib_bearing")

SPEC = BlockSpec(
    kind="pump",
    category=BlockCategory.MOVER,
    summary="Centrifugal pump: curve vs system curve, trips, vibration with Weibull-onset degradation.",
    params=(
        num("rated_speed_rpm", "rpm", 3000.0, 100.0, 20000.0, "rated speed"),
        num("rated_flow_bpd", "bbl/day", 20000.0, 1.0, 1e6, "rated flow"),
        num("rated_dp_psi", "psi", 1240.0, 1.0, 10000.0, "differential at rated flow and speed"),
        num("shutoff_ratio", "", 1.2, 1.01, 3.0, "shut-off head / rated head"),
        num("oil_sg", "", 0.85, 0.3, 2.0, "specific gravity of the pumped liquid"),
        num("export_line_dp_psi", "psi", 250.0, 0.0, 10000.0, "line friction drop at rated flow"),
        num("suction_static_psi", "psi", 7.0, 0.0, 1000.0, "static head to the suction"),
        num("low_level_trip_pct", "%", 5.0, 0.0, 100.0, "suction level below which it trips"),
        num("speed_tau_s", "s", 5.0, 0.01, 600.0, "speed lag"),
        flag("trip_on_vibration", False, "trip at vibration_trip_mm_s"),
        num("vibration_trip_mm_s", "mm/s", 8.9, 0.1, 100.0, "vibration trip level"),
        num("vane_count", "", 6, 1, 20, "impeller vanes", integer=True),
        num("amp_1x_mm_s", "mm/s", 1.2, 0.0, 50.0, "1x peak amplitude at rated speed"),
        num("amp_2x_mm_s", "mm/s", 0.9, 0.0, 50.0, "2x peak amplitude"),
        num("amp_vane_mm_s", "mm/s", 0.8, 0.0, 50.0, "vane-pass peak amplitude"),
        num("amp_bearing_mm_s", "mm/s", 0.3, 0.0, 50.0, "bearing-tone peak amplitude (healthy)"),
        num("broadband_mm_s", "mm/s", 0.3, 0.0, 50.0, "broadband RMS"),
        num("beat_depth", "fraction", 0.10, 0.0, 1.0, "1x/2x modulation depth"),
        num("beat_period_s", "s", 37.0, 0.1, 3600.0, "beat period"),
        num("weibull_shape", "", 1.3, 0.1, 20.0, "onset time Weibull shape"),
        num("weibull_scale_days", "days", 365.0, 0.01, 36500.0, "onset time Weibull scale (running days)"),
        num("pf_interval_days", "days", 21.0, 0.01, 3650.0, "onset -> zone B/C boundary"),
        num("theta_mm_s", "mm/s", 0.2, 0.001, 50.0, "exponential growth scale"),
        num("zone_ab", "mm/s", 2.3, 0.01, 100.0, "ISO 10816-3 A/B boundary"),
        num("zone_bc", "mm/s", 4.5, 0.01, 100.0, "ISO 10816-3 B/C boundary"),
        num("zone_cd", "mm/s", 7.1, 0.01, 100.0, "ISO 10816-3 C/D boundary"),
    ),
    initial=(
        flag("running", True, "start running"),
        num("speed_rpm", "rpm", 3000.0, 0.0, 20000.0, "initial speed and speed setpoint"),
    ),
    states=(
        state("status", "", "0 stopped, 1 running, 2 tripped", init="running"),
        state("run_cmd", "0/1", "run command", init="running"),
        state("speed_sp", "rpm", "speed setpoint", init="speed_rpm"),
        state("speed", "rpm", "actual speed", init="speed_rpm"),
        state("hours", "h", "running hours"),
        state("onset_s", "s", "running time of degradation onset (Weibull draw)"),
        state("degrading", "0/1", "degradation has started"),
        state("degr_t", "s", "running time since onset"),
        state("theta", "mm/s", "growth scale of this row"),
        state("beta", "1/s", "growth rate of this row (0 = from pf_interval_days)"),
        state("zone", "", "ISO zone reached (0 A .. 3 D)"),
        state("failed", "0/1", "zone D reached"),
        state("reset_cmd", "0/1", "trip reset written this tick"),
    ),
    ports=(
        inp("suction", Quantity.SOURCE, "suction nozzle"),
        inp("p_down", Quantity.PRESSURE, "static back-pressure at the end of the line"),
        inp("resistance", Quantity.RESISTANCE, "throttling valve in series", optional=True),
        inp("suction_level", Quantity.LEVEL, "suction vessel level (low-level trip)", optional=True, idle=50.0),
        inp("trip", Quantity.FLAG, "external trip (ESD)", optional=True),
        out("outlet", Quantity.STREAM, "pumped stream", depends=("suction", "p_down", "resistance")),
        out("discharge", Quantity.PRESSURE, "discharge pressure", depends=("suction", "p_down", "resistance")),
    ),
    signals=(
        shown("discharge_pressure", "PSI", (0, 2000), "discharge pressure"),
        shown("suction_pressure", "PSI", (0, 200), "suction pressure"),
        shown("oil_flow", "bbl/day", (0, 30000), "flow"),
        shown("vibration", "mm/s", (0, 20), "bearing housing vibration, velocity RMS 10-1000 Hz"),
        *(shown(v, "mm/s", (0, 20), f"{v[4:]} component, peak") for v in _VIB),
        shown("speed", "rpm", (0, 3600), "actual speed"),
        shown("status", "", (0, 2), "status", states=("STOPPED", "RUNNING", "TRIPPED")),
        shown("running_hours", "h", (0, 100000), "running hours"),
        setting("run_cmd", "", (0, 1), (0, 1), "run command", states=("STOP", "RUN")),
        setting("speed_sp", "rpm", (0, 3600), (1500, 3600), "speed setpoint (VSD)"),
        setting("trip_reset", "", (0, 1), (0, 1), "trip reset (write 1)", states=("-", "RESET")),
    ),
)


def _init(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    """Degradation onset: one Weibull draw per row and pump, in seconds of running."""
    u = ctx.uniform(0, p["weibull_shape"].shape)
    days = p["weibull_scale_days"] * (-np.log(1.0 - u)) ** (1.0 / p["weibull_shape"])
    return {"onset_s": days * 86400.0, "theta": p["theta_mm_s"].copy()}


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    """Closed-form operating point: pump curve = static + line friction + series valve."""
    src = i["suction"]
    q_rated = p["rated_flow_bpd"] * ph.BBL_M3 / ph.DAY_S
    dp0 = p["shutoff_ratio"] * p["rated_dp_psi"]
    a = (p["shutoff_ratio"] - 1.0) * p["rated_dp_psi"] / q_rated**2
    line_k = p["export_line_dp_psi"] / q_rated**2
    r = s["speed"] / p["rated_speed_rpm"]
    p_suc = src[..., 0] + p["suction_static_psi"]
    num = p_suc + r * r * dp0 - i["p_down"]
    spinning = (s["status"] == 1.0) | (s["speed"] > 1.0)
    q = np.where(spinning, np.sqrt(np.maximum(num, 0.0) / (a + line_k + i["resistance"])), 0.0)
    wf = src[..., 1]
    oil = q * (1.0 - wf)
    stream = np.stack((oil, q * wf, oil * src[..., 2], src[..., 3]), axis=-1)
    dis = np.where(s["speed"] > 1.0, p_suc + r * r * dp0 - a * q * q, p_suc)
    return {"outlet": stream, "discharge": dis, "_suction": p_suc}


def _vibration(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    """Spectrum peaks and overall RMS (ISO 10816 velocity) of the current degradation state."""
    v0_sq = (p["amp_1x_mm_s"] ** 2 + p["amp_2x_mm_s"] ** 2 + p["amp_vane_mm_s"] ** 2
             + p["amp_bearing_mm_s"] ** 2) / 2.0 + p["broadband_mm_s"] ** 2
    v0 = np.sqrt(v0_sq)
    target = v0 + s["theta"] * np.expm1(np.minimum(_beta(p, s, v0) * s["degr_t"], 50.0))
    extra = np.maximum(target * target - v0_sq, 0.0)
    share = np.clip(0.85 - 0.25 * (target - p["zone_bc"]) / (p["zone_cd"] - p["zone_bc"]), 0.6, 0.85)
    rr = s["speed"] / p["rated_speed_rpm"]
    beat1 = 1.0 + p["beat_depth"] * np.sin(2.0 * np.pi * ctx.sim_s / p["beat_period_s"])
    beat2 = 1.0 + p["beat_depth"] * np.sin(2.0 * np.pi * ctx.sim_s / (1.37 * p["beat_period_s"]) + 1.0)
    a1, a2 = p["amp_1x_mm_s"] * beat1 * rr, p["amp_2x_mm_s"] * beat2 * rr
    av = p["amp_vane_mm_s"] * rr
    ab = np.sqrt(p["amp_bearing_mm_s"] ** 2 + 2.0 * share * extra) * rr
    bb = (p["broadband_mm_s"] ** 2 + (1.0 - share) * extra) * rr * rr
    rms = np.sqrt((a1 * a1 + a2 * a2 + av * av + ab * ab) / 2.0 + bb) + 0.05
    return {"vib_1x": a1, "vib_2x": a2, "vib_vane": av, "vib_bearing": ab, "vibration": rms, "_target": target}


def _beta(p: Arrays, s: Arrays, v0: F64) -> F64:
    default = np.log1p((p["zone_bc"] - v0) / np.maximum(s["theta"], 1e-6)) / (p["pf_interval_days"] * 86400.0)
    out: F64 = np.where(s["beta"] > 0.0, s["beta"], default)
    return out


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    running = s["status"] == 1.0
    vib = _vibration(p, s, ctx)
    low = i["suction_level"] < p["low_level_trip_pct"]
    trip = running & (low | (i["trip"] > 0.5) | ((p["trip_on_vibration"] > 0.5)
                                                  & (vib["vibration"] > p["vibration_trip_mm_s"])))
    ctx.event("pump_trip", trip)
    reset = (s["reset_cmd"] > 0.5) & (s["status"] == 2.0)
    want = (s["run_cmd"] > 0.5) & (s["status"] != 2.0)
    status = np.where(trip, 2.0, np.where(reset, np.where(s["run_cmd"] > 0.5, 1.0, 0.0),
                                          np.where(want, 1.0, np.where(s["status"] == 2.0, 2.0, 0.0))))
    target_speed = np.where(status == 1.0, s["speed_sp"], 0.0)
    speed = s["speed"] + (1.0 - np.exp(-ctx.dt / p["speed_tau_s"])) * (target_speed - s["speed"])
    hours = s["hours"] + np.where(running, ctx.dt / 3600.0, 0.0)
    onset = (s["degrading"] < 0.5) & (hours * 3600.0 >= s["onset_s"])
    ctx.event("degradation_onset", onset)
    degrading = np.where(onset, 1.0, s["degrading"])
    degr_t = np.where(degrading > 0.5, s["degr_t"] + np.where(running, ctx.dt, 0.0), 0.0)
    edges = np.stack((p["zone_ab"], p["zone_bc"], p["zone_cd"]), axis=-1)
    zone = np.where(degrading > 0.5, (vib["_target"][..., None] > edges).sum(axis=-1).astype(np.float64), 0.0)
    failed = (zone >= 3.0) & (s["failed"] < 0.5)
    ctx.event("failure", failed, {"zone": "D"})
    return {"status": status, "speed": speed, "hours": hours, "degrading": degrading, "degr_t": degr_t,
            "zone": np.maximum(s["zone"], zone), "failed": np.where(failed, 1.0, s["failed"]),
            "reset_cmd": np.zeros_like(speed)}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    vib = _vibration(p, s, ctx)
    o = i["outlet"]
    return {"discharge_pressure": i["discharge"], "suction_pressure": i["_suction"],
            "oil_flow": (o[..., 0] + o[..., 1]) * ph.DAY_S / ph.BBL_M3, "speed": s["speed"],
            "status": s["status"], "running_hours": s["hours"], "run_cmd": s["run_cmd"], "speed_sp": s["speed_sp"],
            "trip_reset": s["reset_cmd"], **{k: v for k, v in vib.items() if not k.startswith("_")}}


KERNEL = Kernel(init=_init, feed=_feed, update=_update, signals=_signals)
