"""Signals a tag may bind to for alarm points and PM flags, so they reach Modbus and OPC UA as tags.

Per alarm (``<id>`` e.g. ``SEP-V100.oil_level.HI``):

* ``alarm.<id>.active``  bool (discrete input): annunciated active (ISA states B, C)
* ``alarm.<id>.unacked`` bool (discrete input): unacknowledged (B, D)
* ``alarm.<id>.state``   enum (register): :class:`~plc_emulator.alarms.states.AlarmState` value
* ``alarm.<id>.ack``     bool input (coil): write 1 to acknowledge

Summary: ``alarms.active_count``, ``alarms.unacked_count``, ``alarms.highest_priority`` (0 none,
1 low .. 4 critical) and ``alarms.ack_all`` (coil, write 1 to acknowledge everything).

PM: ``pm.<equipment>.zone`` (ISO 10816-3 zone, 0=A .. 3=D), ``pm.<equipment>.rul_h`` (hours to the
C/D boundary, 100000 = no prediction), ``pm.<equipment>.vibration_flag``; ``pm.<signal>.flatline`` and
``pm.<signal>.implausible`` per measured signal; ``pm.<signal>.residual`` (either test),
``pm.<signal>.noise``, ``pm.<signal>.cusum`` and ``pm.<signal>.noise_ratio`` for the residual
detectors (alarms/residuals.py); ``pm.<loop>.stiction`` and
``pm.<loop>.stiction_band`` (% OP travel with the stem still); ``pm.<equipment>.fouling`` and
``pm.<equipment>.ua_ratio``.
"""

from __future__ import annotations

import math

from plc_emulator.alarm_points import alarm_signal_spec, is_alarm_signal
from plc_emulator.alarms.pm import PmOutputs
from plc_emulator.tagmap.pm import PmParams

__all__ = ["alarm_signal_spec", "is_alarm_signal", "pm_signal_values"]


def pm_signal_values(params: PmParams, out: PmOutputs, plant: int = 0) -> dict[str, float]:
    """Values of every ``pm.*`` signal for one plant (flags in the order of ``config.pm_alarm_defs``)."""
    v, ins, st, f = params.vibration, params.instruments, params.stiction, params.fouling
    vals: dict[str, float] = {}
    v0 = int(v.enabled)  # the vibration flag comes first, the fouling flag last, each when the plant has it
    if v.enabled:
        vals[f"pm.{v.equipment}.zone"] = float(out.zone[plant])
        vals[f"pm.{v.equipment}.rul_h"] = float(out.rul_h[plant])
        vals[f"pm.{v.equipment}.vibration_flag"] = float(out.flags[plant, 0])
    if f.enabled:
        vals[f"pm.{f.equipment}.fouling"] = float(out.flags[plant, -1])
        ratio = float(out.ua_ratio[plant])
        vals[f"pm.{f.equipment}.ua_ratio"] = 1.0 if math.isnan(ratio) else ratio
    m = len(ins.signals)
    for i, sig in enumerate(ins.signals):
        vals[f"pm.{sig}.flatline"] = float(out.flags[plant, v0 + 2 * i])
        vals[f"pm.{sig}.implausible"] = float(out.flags[plant, v0 + 1 + 2 * i])
    r0 = v0 + 2 * m
    ro, rp = out.residuals, params.residuals
    for j, sig in enumerate(rp.checked):
        vals[f"pm.{sig}.residual"] = float(out.flags[plant, r0 + j])
    for j, (sig, _) in enumerate(rp.models):
        vals[f"pm.{sig}.cusum"] = float(ro.cusum[plant, j])
    for j, sig in enumerate(rp.noise_signals):
        vals[f"pm.{sig}.noise"] = float(ro.noise[plant, j])
        ratio = float(ro.noise_ratio[plant, j])
        vals[f"pm.{sig}.noise_ratio"] = 0.0 if math.isnan(ratio) else ratio
    s0 = out.flags.shape[1] - int(f.enabled) - len(st.loops)
    for j, loop in enumerate(st.loops):
        vals[f"pm.{loop}.stiction"] = float(out.flags[plant, s0 + j])
        vals[f"pm.{loop}.stiction_band"] = float(out.stiction_band[plant, j])
    return vals
