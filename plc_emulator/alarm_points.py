"""Signals a tag may bind to for alarm points and PM flags, so they reach Modbus and OPC UA as tags.

The specs only (the values come from :mod:`plc_emulator.alarms`); a leaf module, so the tag map
checks these names without importing the alarm block.

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

from typing import Final

from plc_emulator.engine.catalogue import LEGACY, Catalogue, SignalKind, SignalSpec, ValueType

__all__ = ["RUL_CAP_H", "STATE_NAMES", "alarm_signal_spec", "is_alarm_signal"]

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
# the names of plc_emulator.alarms.states.AlarmState by value (tests/alarms keeps them equal): the
# alarm package builds on the tag map, so the tag map's signal table cannot import it
STATE_NAMES: Final = ("NORMAL", "UNACKED", "ACKED", "RTN_UNACKED", "SHELVED", "SUPPRESSED", "OUT_OF_SERVICE")
RUL_CAP_H: Final = 100_000.0  # what "no prediction" of the vibration rule reads as on the wire (h)


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
            range=(0, len(STATE_NAMES) - 1),
            states=STATE_NAMES,
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


def _pm_field(subject: str, field: str, cat: Catalogue) -> SignalSpec | None:
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
        return flag if subject in cat.measured else None
    if field in ("cusum", "noise_ratio"):
        what = "residual CUSUM statistic (bias / drift test; flag at pm.residuals.h)" if field == "cusum" else (
            "noise variance over the learned one (flag above pm.residuals.noise_ratio; 0 = not yet learned)")
        return SignalSpec(name=name, unit="", kind=S, range=(0, 1000), description=f"{subject} {what}") if (
            subject in cat.measured) else None
    if field == "stiction":
        return flag if subject in cat.loop_ids else None
    if field == "stiction_band":
        return (
            SignalSpec(
                name=name,
                unit="%",
                kind=S,
                range=(0, 100),
                description=f"{subject} OP travel since the valve stem last moved",
            )
            if subject in cat.loop_ids
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


def alarm_signal_spec(name: str, catalogue: Catalogue = LEGACY) -> SignalSpec | None:
    """The spec of an ``alarm.*``, ``alarms.*`` or ``pm.*`` signal name, or None if it is not one
    (``pm.<signal>.*`` and ``pm.<loop>.*`` name a measured signal / loop of ``catalogue``'s plant).

    Only the shape is checked here; whether ``<id>`` is an alarm of the tag map is checked by
    :func:`plc_emulator.tagmap.alarm_defs.check_tagmap`.
    """
    if name in _SUMMARY:
        return _SUMMARY[name]
    if name.startswith("alarm.") and name.count(".") >= 2:
        alarm, field = name[len("alarm.") :].rsplit(".", 1)
        return _alarm_field(alarm, field)
    if name.startswith("pm.") and name.count(".") >= 2:
        subject, field = name[len("pm.") :].rsplit(".", 1)
        return _pm_field(subject, field, catalogue)
    return None
