"""Centrifugal pump against its system curve, with running status, trips and vibration degradation.

Pump curve dP = r^2 dP0 - a Q^2 (r = speed / rated) against the system curve of the export line
(static back-pressure + k Q^2) and an optional throttling valve in series: the operating point is
closed-form. Vibration: 1x, 2x, vane-pass and bearing tones with beats plus broadband, ISO 10816-3
zones; degradation starts at a Weibull-distributed running time (one draw per row) and grows as
v = v0 + theta (exp(beta t) - 1), reaching the B/C boundary ``pf_interval_days`` after onset.
"""

from __future__ import annotations

from plc_emulator.engine.blocks._build import flag, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["SPEC"]

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
        num("export_static_psig", "psig", 900.0, 0.0, 15000.0, "static back-pressure of the line"),
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
    ),
    ports=(
        inp("suction", Quantity.SOURCE, "suction nozzle"),
        inp("p_down", Quantity.PRESSURE, "pressure at the end of the line", optional=True),
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
