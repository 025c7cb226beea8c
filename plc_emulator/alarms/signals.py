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
from typing import Final

from plc_emulator.alarms.config import LOOP_IDS, MEASURED, PmParams
from plc_emulator.alarms.pm import RUL_CAP_H, PmOutputs
from plc_emulator.alarms.states import AlarmState
from plc_emulator.engine.catalogue import SignalKind, SignalSpec, ValueType

__all__ = ["alarm_signal_spec", "is_alarm_signal", "pm_signal_values"]

IN, S = SignalKind.INPUT, SignalKind.STATE
B, E, N = ValueType.BOOL, ValueType.ENUM, ValueType.INT

_SUMMARY: Final = {
    "alarms.active_count": SignalSpec(
        name="alarms.active_count",
        unit="",
        kind=S,
        vtype=N,
        range=(0, 65535),
        description="Alarms annunciated active (ISA states B and C)",
    ),
    "alarms.unacked_count": SignalSpec(
        name="alarms.unacked_count",
        unit="",
        kind=S,
        vtype=N,
        range=(0, 65535),
        description="Alarms awaiting acknowledgement (ISA states B and D)",
    ),
    "alarms.highest_priority": SignalSpec(
        name="alarms.highest_priority",
        unit="",
        kind=S,
        vtype=N,
        range=(0, 4),
        description="Highest priority among shown alarms (0 none, 4 critical)",
    ),
    "alarms.ack_all": SignalSpec(
        name="alarms.ack_all",
        unit="",
        kind=IN,
        vtype=B,
        range=(0, 1),
        limits=(0, 1),
        states=("-", "ACK"),
        description="Write 1 to acknowledge every alarm",
    ),
}
_STATES: Final = tuple(s.name for s in AlarmState)


def is_alarm_signal(name: str) -> bool:
    return name.startswith(("alarm.", "alarms.", "pm."))


def _alarm_field(alarm: str, field: str) -> SignalSpec | None:
    name = f"alarm.{alarm}.{field}"
    if field == "active":
        return SignalSpec(
            name=name,
            unit="",
            kind=S,
            vtype=B,
            range=(0, 1),
            states=("NORMAL", "ACTIVE"),
            description=f"Alarm {alarm} active",
        )
    if field == "unacked":
        return SignalSpec(
            name=name,
            unit="",
            kind=S,
            vtype=B,
            range=(0, 1),
            states=("ACKED", "UNACKED"),
            description=f"Alarm {alarm} unacknowledged",
        )
    if field == "state":
        return SignalSpec(
            name=name,
            unit="",
            kind=S,
            vtype=E,
            range=(0, len(_STATES) - 1),
            states=_STATES,
            description=f"Alarm {alarm} ISA-18.2 state",
        )
    if field == "ack":
        return SignalSpec(
            name=name,
            unit="",
            kind=IN,
            vtype=B,
            range=(0, 1),
            limits=(0, 1),
            states=("-", "ACK"),
            description=f"Write 1 to acknowledge alarm {alarm}",
        )
    return None


def _pm_field(subject: str, field: str) -> SignalSpec | None:
    name = f"pm.{subject}.{field}"
    flag = SignalSpec(
        name=name,
        unit="",
        kind=S,
        vtype=B,
        range=(0, 1),
        states=("OK", "FLAG"),
        description=f"PM flag: {subject} {field}",
    )
    if field in ("flatline", "implausible", "residual", "noise"):
        return flag if subject in MEASURED else None
    if field in ("cusum", "noise_ratio"):
        what = "residual CUSUM statistic (bias / drift test; flag at pm.residuals.h)" if field == "cusum" else (
            "noise variance over the learned one (flag above pm.residuals.noise_ratio; 0 = not yet learned)")
        return SignalSpec(name=name, unit="", kind=S, range=(0, 1000), description=f"{subject} {what}") if (
            subject in MEASURED) else None
    if field == "stiction":
        return flag if subject in LOOP_IDS else None
    if field == "stiction_band":
        return (
            SignalSpec(
                name=name,
                unit="%",
                kind=S,
                range=(0, 100),
                description=f"{subject} OP travel since the valve stem last moved",
            )
            if subject in LOOP_IDS
            else None
        )
    if field in ("vibration_flag", "fouling"):
        return flag
    if field == "zone":
        return SignalSpec(
            name=name,
            unit="",
            kind=S,
            vtype=E,
            range=(0, 3),
            states=("A", "B", "C", "D"),
            description=f"{subject} ISO 10816-3 vibration zone",
        )
    if field == "rul_h":
        return SignalSpec(
            name=name,
            unit="h",
            kind=S,
            range=(0, RUL_CAP_H),
            description=f"{subject} predicted hours to vibration zone D ({RUL_CAP_H:g} = none)",
        )
    if field == "ua_ratio":
        return SignalSpec(
            name=name, unit="", kind=S, range=(0, 2), description=f"{subject} UA relative to its clean value"
        )
    return None


def alarm_signal_spec(name: str) -> SignalSpec | None:
    """The spec of an ``alarm.*``, ``alarms.*`` or ``pm.*`` signal name, or None if it is not one.

    Only the shape is checked here; whether ``<id>`` is an alarm of the tag map is checked by
    :func:`plc_emulator.alarms.check_tagmap`.
    """
    if name in _SUMMARY:
        return _SUMMARY[name]
    if name.startswith("alarm.") and name.count(".") >= 2:
        alarm, field = name[len("alarm.") :].rsplit(".", 1)
        return _alarm_field(alarm, field)
    if name.startswith("pm.") and name.count(".") >= 2:
        subject, field = name[len("pm.") :].rsplit(".", 1)
        return _pm_field(subject, field)
    return None


def pm_signal_values(params: PmParams, out: PmOutputs, plant: int = 0) -> dict[str, float]:
    """Values of every ``pm.*`` signal for one plant."""
    v, ins, st, f = params.vibration, params.instruments, params.stiction, params.fouling
    vals: dict[str, float] = {
        f"pm.{v.equipment}.zone": float(out.zone[plant]),
        f"pm.{v.equipment}.rul_h": float(out.rul_h[plant]),
        f"pm.{v.equipment}.vibration_flag": float(out.flags[plant, 0]),
        f"pm.{f.equipment}.fouling": float(out.flags[plant, -1]),
        f"pm.{f.equipment}.ua_ratio": float(out.ua_ratio[plant])
        if out.ua_ratio[plant] == out.ua_ratio[plant]
        else 1.0,
    }
    m = len(ins.signals)
    for i, sig in enumerate(ins.signals):
        vals[f"pm.{sig}.flatline"] = float(out.flags[plant, 1 + 2 * i])
        vals[f"pm.{sig}.implausible"] = float(out.flags[plant, 2 + 2 * i])
    r0 = 1 + 2 * m
    ro, rp = out.residuals, params.residuals
    for j, sig in enumerate(rp.checked):
        vals[f"pm.{sig}.residual"] = float(out.flags[plant, r0 + j])
    for j, (sig, _) in enumerate(rp.models):
        vals[f"pm.{sig}.cusum"] = float(ro.cusum[plant, j])
    for j, sig in enumerate(rp.noise_signals):
        vals[f"pm.{sig}.noise"] = float(ro.noise[plant, j])
        ratio = float(ro.noise_ratio[plant, j])
        vals[f"pm.{sig}.noise_ratio"] = 0.0 if math.isnan(ratio) else ratio
    s0 = out.flags.shape[1] - 1 - len(st.loops)
    for j, loop in enumerate(st.loops):
        vals[f"pm.{loop}.stiction"] = float(out.flags[plant, s0 + j])
        vals[f"pm.{loop}.stiction_band"] = float(out.stiction_band[plant, j])
    return vals
