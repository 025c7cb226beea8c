"""Alarm definitions built from the tag map, and the checks that need them when the map loads.

Alarm ids are ``<DEVICE>.<tag>.<KIND>`` for tag alarms (``SEP-V100.oil_level.HI``,
``PMP-P100.status.TRIPPED`` for a discrete alarm named after its abnormal state) and
``PM.<subject>.<rule>`` for predictive-maintenance flags (``PM.P100.vibration``,
``PM.V100.pressure.flatline``, ``PM.LIC100.stiction``, ``PM.E100.fouling``). The alarm block
(:mod:`plc_emulator.alarms`) evaluates them; it builds on this module, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from plc_emulator.alarm_points import alarm_signal_spec
from plc_emulator.engine.catalogue import Catalogue, SignalKind
from plc_emulator.memory import is_memory_signal
from plc_emulator.tagmap.model import Tag, TagKind, TagMap
from plc_emulator.tagmap.pm import PmParams

__all__ = ["AlarmDef", "AlarmKind", "alarm_defs", "check_tagmap", "pm_alarm_defs", "severity_of"]


class AlarmKind(Enum):
    HIHI = "HIHI"
    HI = "HI"
    LO = "LO"
    LOLO = "LOLO"
    ROC = "ROC"  # rate of change
    BAD = "BAD"  # bad quality
    DISCRETE = "DISCRETE"  # off-normal discrete state (pump trip, ESD)
    PM = "PM"  # predictive-maintenance flag (advisory)

    @property
    def is_limit(self) -> bool:
        return self in (AlarmKind.HIHI, AlarmKind.HI, AlarmKind.LO, AlarmKind.LOLO)

    @property
    def is_high(self) -> bool:
        return self in (AlarmKind.HIHI, AlarmKind.HI)


_SEVERITY: Final = {1: 200, 2: 500, 3: 700, 4: 900}


def severity_of(priority: int) -> int:
    """OPC UA Severity (1-1000) for an ISA priority 1 low .. 4 critical (bands in docs/alarms.md)."""
    return _SEVERITY.get(priority, 500)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmDef:
    id: str
    kind: AlarmKind
    tag: str  # DEVICE.tag key, "" for PM flags that have no tag of their own
    signal: str  # engine or PLC memory signal the alarm watches ("" for PM flags: fed by the PM rules)
    limit: float = 0.0  # EU limit; for DISCRETE the abnormal state value; for ROC EU/s
    deadband: float = 0.0
    on_delay: float = 0.0  # s
    off_delay: float = 0.0  # s
    roc_window: float = 10.0  # s (ROC only)
    priority: int = 2
    message: str = ""

    @property
    def severity(self) -> int:
        return severity_of(self.priority)


def _tag_alarms(tag: Tag, catalogue: Catalogue) -> list[AlarmDef]:
    lim = tag.alarms
    spec = catalogue.get(tag.signal)
    sig_kind = None if spec is None else spec.kind
    # engine signals, and PLC memory signals (watchdog expired, handshake status ...) fed by the scan
    if lim is None or (sig_kind is None and not is_memory_signal(tag.signal)):
        return []
    out: list[AlarmDef] = []
    common: dict[str, Any] = {
        "tag": tag.key,
        "signal": tag.signal,
        "on_delay": lim.on_delay,
        "off_delay": lim.off_delay,
    }
    if lim.discrete_alarm_state is not None:
        state = int(lim.discrete_alarm_state)
        name = tag.states[state] if 0 <= state < len(tag.states) else f"STATE{state}"
        out.append(
            AlarmDef(
                id=f"{tag.key}.{name}",
                kind=AlarmKind.DISCRETE,
                limit=float(state),
                priority=lim.priorities.get("discrete", lim.priority),
                message=f"{tag.description} {name}",
                **common,
            )
        )
    for kind, value in (
        (AlarmKind.HIHI, lim.hihi),
        (AlarmKind.HI, lim.hi),
        (AlarmKind.LO, lim.lo),
        (AlarmKind.LOLO, lim.lolo),
    ):
        if value is None:
            continue
        word = {"HIHI": "very high", "HI": "high", "LO": "low", "LOLO": "very low"}[kind.value]
        out.append(
            AlarmDef(
                id=f"{tag.key}.{kind.value}",
                kind=kind,
                limit=float(value),
                deadband=lim.deadband,
                priority=lim.priorities.get(kind.value.lower(), lim.priority),
                message=f"{tag.description} {word} ({value:g} {tag.unit})".strip(),
                **common,
            )
        )
    if lim.roc_limit is not None:
        out.append(
            AlarmDef(
                id=f"{tag.key}.ROC",
                kind=AlarmKind.ROC,
                limit=float(lim.roc_limit),
                roc_window=lim.roc_window,
                priority=lim.priorities.get("roc", lim.priority),
                message=f"{tag.description} changing fast (> {lim.roc_limit:g} {tag.unit}/s)",
                **common,
            )
        )
    if lim.bad_quality and tag.kind is TagKind.ANALOG and sig_kind is SignalKind.MEASURED:
        out.append(
            AlarmDef(
                id=f"{tag.key}.BAD",
                kind=AlarmKind.BAD,
                priority=lim.priorities.get("bad", 2),
                message=f"{tag.description} bad quality",
                **common,
            )
        )
    return out


def pm_alarm_defs(pm: PmParams) -> list[AlarmDef]:
    """Advisory alarms (priority 1) for every PM flag the parameters enable."""

    def advisory(alarm_id: str, message: str) -> AlarmDef:
        return AlarmDef(id=alarm_id, kind=AlarmKind.PM, tag="", signal="", priority=1, message=message)

    out = [
        advisory(f"PM.{pm.vibration.equipment}.vibration",
                 "Pump vibration: zone C entered or predicted time to zone D under the horizon"),
    ] if pm.vibration.enabled else []
    for sig in pm.instruments.signals:
        out.append(advisory(f"PM.{sig}.flatline", f"{sig} frozen (flatline with Good quality)"))
        out.append(advisory(f"PM.{sig}.implausible", f"{sig} implausible (rate of change / spike / range)"))
    out += [advisory(f"PM.{sig}.residual", f"{sig} disagrees with its model or is noisier than learned")
            for sig in pm.residuals.checked]
    out += [advisory(f"PM.{loop}.stiction", f"{loop} valve stiction suspected") for loop in pm.stiction.loops]
    if pm.fouling.enabled:
        out.append(advisory(f"PM.{pm.fouling.equipment}.fouling", "Heat exchanger fouling: UA below its clean value"))
    return out


def alarm_defs(tagmap: TagMap, pm: PmParams | None = None) -> tuple[AlarmDef, ...]:
    """Every alarm of the tag map, in tag-map order, then the PM advisories."""
    out: list[AlarmDef] = []
    for tag in tagmap.tags:
        out += _tag_alarms(tag, tagmap.catalogue)
    out += pm_alarm_defs(pm if pm is not None else tagmap.pm_params)
    return tuple(out)


def check_tagmap(tagmap: TagMap) -> list[tuple[str, str]]:
    """Cross-checks that need the whole tag map: tags bound to alarm signals name real alarms, and the
    suppression rules name real alarms. ``(dotted path, message)`` pairs."""
    problems: list[tuple[str, str]] = []
    params = tagmap.pm_params  # parsed (and its problems reported) when the tag map loaded
    ids = {d.id for d in alarm_defs(tagmap, params)}
    for n, rule in enumerate(params.suppression):
        for i, a in enumerate(rule.alarms):
            if a not in ids:
                problems.append((f"pm.suppression[{n}].alarms[{i}]", f"no such alarm (got {a!r})"))
    for tag in tagmap.tags:
        if not tag.signal.startswith("alarm."):
            continue
        spec = alarm_signal_spec(tag.signal, tagmap.catalogue)
        alarm = tag.signal[len("alarm.") :].rsplit(".", 1)[0]
        if spec is None or alarm not in ids:
            problems.append(
                (
                    f"devices.{tag.device}.tags.{tag.name}.signal",
                    f"no such alarm signal (alarm ids look like SEP-V100.oil_level.HI) (got {tag.signal!r})",
                )
            )
    return problems
