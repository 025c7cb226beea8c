"""Scenario files: timed events -> ``{tick: [Command]}`` (the same Commands client writes become).

Format (``tag_maps/scenarios/*.yaml``)::

    name: sensor_freeze
    description: V100 oil level transmitter freezes; quality stays Good
    duration: 6h                      # suggested run length (simulate uses it when --duration is absent)
    events:
      - at: 2h                        # simulated time since tick 0: 500ms, 30s, 2h, 7d or seconds
        action: inject_fault          # inject_fault | clear_fault | write | start_degradation
                                      # | force_slug | trip_pump
        target: V100.oil_level
        params: {kind: freeze}
      - at: 4h
        action: write
        target: LIC100.sp
        value: 55

An event at time ``t`` applies at the start of tick ``max(1, ceil(t / dt))``, i.e. in the step that
produces that tick (the key convention of ``Engine.run`` and ``ScanCycle.run``). Problems are
collected and reported together, each as ``FILE:LINE:COL: events[2].target: message (got X)``,
through :class:`ScenarioError` (a :class:`~plc_emulator.errors.TagMapError`, so the CLI exits 2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import Node, SequenceNode

from plc_emulator.commands import Command, CommandKind, ParamValue
from plc_emulator.engine._commands import LINK_FAULTS, SENSOR_FAULTS, VALVE_FAULTS, is_link_target
from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.errors import TagMapError
from plc_emulator.tagmap._reader import Reader, compose, did_you_mean, join, show

__all__ = ["ACTIONS", "Scenario", "ScenarioError", "ScheduledEvent", "load_scenario", "loads_scenario"]

ACTIONS: dict[str, CommandKind] = {
    "inject_fault": CommandKind.INJECT_FAULT,
    "clear_fault": CommandKind.CLEAR_FAULT,
    "write": CommandKind.WRITE,
    "start_degradation": CommandKind.START_DEGRADATION,
    "force_slug": CommandKind.FORCE_SLUG,
    "trip_pump": CommandKind.TRIP_PUMP,
}
_TOP = ("name", "description", "duration", "seed", "events")
_EVENT = ("at", "action", "target", "value", "params")
_FIXED_TARGET = ("start_degradation", "force_slug", "trip_pump")  # equipment actions (a pump, a well)
# parameters each fault / action understands (anything else is a typo worth reporting)
_FAULT_PARAMS: dict[str, tuple[str, ...]] = {
    "freeze": (),
    "drift": ("rate",),
    "bias": ("offset",),
    "spike": ("probability", "amplitude"),
    "noise": ("factor",),
    "fail": (),
    "comm_loss": ("timeout",),
    "stuck": (),
    "stiction": ("S", "J"),
    # link faults (targets modbus.tcp / rtu-tcp / tls / rtu / * / unit.N)
    "delay": ("ms", "min_ms", "max_ms"),
    "drop": ("percent",),
    "exception": ("code",),
    "close": (),
    "stop_listening": (),
    "corrupt_crc": (),
}
_ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "start_degradation": ("beta_per_day", "theta"),
    "force_slug": ("volume_m3", "duration_s", "severe"),
    "trip_pump": (),
    "clear_fault": (),
    "write": (),
}


class ScenarioError(TagMapError):
    """A bad scenario file; ``problems`` are formatted ``FILE:LINE:COL: path: message`` lines."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledEvent:
    at: float  # seconds since tick 0
    tick: int
    command: Command


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    path: str
    name: str
    description: str
    duration: float | None  # suggested run length, seconds
    seed: int | None
    events: tuple[ScheduledEvent, ...]
    schedule: Mapping[int, list[Command]] = field(default_factory=dict)


def load_scenario(path: str | Path, tagmap_or_dt: Any = 0.1) -> Scenario:
    """Read and validate a scenario file for a scan period (a TagMap or a number of seconds)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            [f"{name}:1:1: cannot read the scenario: {getattr(exc, 'strerror', None) or exc}"]
        ) from None
    return loads_scenario(text, tagmap_or_dt, path=name)


def loads_scenario(text: str, tagmap_or_dt: Any = 0.1, *, path: str = "<string>",
                   catalogue: Catalogue | None = None) -> Scenario:
    """Targets are signals of ``catalogue`` (default: the tag map's plant, else the built-in train)."""
    dt = float(getattr(tagmap_or_dt, "scan_period", tagmap_or_dt))
    cat: Catalogue = catalogue if catalogue is not None else getattr(tagmap_or_dt, "catalogue", LEGACY)
    r = Reader(path)
    root = compose(text, r.problems)
    result = None if root is None else _top(r, root, dt, path, cat)
    if r.problems or result is None:
        raise ScenarioError(r.problems.lines() or [f"{path}:1:1: invalid scenario"])
    return result


def _top(r: Reader, root: Node, dt: float, path: str, cat: Catalogue) -> Scenario | None:
    f = r.fields(root, "", allowed=_TOP, required=("events",))
    if not f.ok:
        return None
    name = description = ""
    duration: float | None = None
    seed: int | None = None
    if (n := f.get("name")) is not None:
        name = r.text(n, f.at("name")) or ""
    if (n := f.get("description")) is not None:
        description = r.text(n, f.at("description")) or ""
    if (n := f.get("duration")) is not None:
        duration = r.duration(n, f.at("duration"), positive=True)
    if (n := f.get("seed")) is not None:
        seed = r.integer(n, f.at("seed"), lo=0, hi=2**63 - 1)
    events: list[ScheduledEvent] = []
    ev_node = f.get("events")
    if ev_node is not None:
        if not isinstance(ev_node, SequenceNode):
            r.err(ev_node, "events", f"must be a list of events (got {show(ev_node)})")
        else:
            for i, item in enumerate(ev_node.value):
                ev = _event(r, item, f"events[{i}]", dt, cat)
                if ev is not None:
                    events.append(ev)
    schedule: dict[int, list[Command]] = {}
    ordered = sorted(events, key=lambda e: e.tick)  # stable: same tick keeps file order
    for ev in ordered:
        schedule.setdefault(ev.tick, []).append(ev.command)
    return Scenario(
        path=path,
        name=name,
        description=description,
        duration=duration,
        seed=seed,
        events=tuple(ordered),
        schedule=schedule,
    )


def _event(r: Reader, node: Node, path: str, dt: float, cat: Catalogue) -> ScheduledEvent | None:
    f = r.fields(node, path, allowed=_EVENT, required=("at", "action"))
    if not f.ok:
        return None
    at = r.duration(f.values["at"], f.at("at")) if "at" in f else None
    action: str | None = None
    if (n := f.get("action")) is not None:
        action = r.text(n, f.at("action"))
        if action is not None and action not in ACTIONS:
            r.err(
                n, f.at("action"), f"must be one of {', '.join(ACTIONS)} (got {show(n)}){did_you_mean(action, ACTIONS)}"
            )
            action = None
    params = _params(r, f.get("params"), f.at("params"))
    target = _target(r, f, action, params, cat)
    value = 0.0
    if action == "write":
        vnode = f.get("value")
        if vnode is None:
            r.err(node, path, 'missing required field "value" for action write')
            return None
        spec = None if target is None else cat.inputs.get(target)
        if spec is not None:
            lo, hi = spec.limits if spec.limits is not None else spec.range
            v = r.number(vnode, f.at("value"), lo=lo, hi=hi)
            if v is None:
                return None
            value = v
    elif (vnode := f.get("value")) is not None:
        v = r.number(vnode, f.at("value"))
        value = v if v is not None else 0.0
    if at is None or action is None or target is None or params is None:
        return None
    kind = ACTIONS[action]
    allowed = (
        _FAULT_PARAMS.get(str(params.get("kind")), ()) if action == "inject_fault" else _ACTION_PARAMS.get(action, ())
    )
    pnode = f.get("params")
    for key in params:
        if key not in (*allowed, "kind", "plant"):
            r.err(
                pnode,
                join(f.at("params"), key),
                f"unknown parameter for {action}; valid: {', '.join(allowed) or 'none'} (got {key!r})",
            )
            return None
    tick = max(1, math.ceil(at / dt - 1e-9))
    cmd = Command(kind=kind, target=target, value=value, params=params, source="scenario")
    return ScheduledEvent(at=at, tick=tick, command=cmd)


def _params(r: Reader, node: Node | None, path: str) -> dict[str, ParamValue] | None:
    if node is None:
        return {}
    out: dict[str, ParamValue] = {}
    pairs = r.pairs(node, path)
    if pairs is None:
        return None
    ok = True
    for key, _kn, vn in pairs:
        v = r.scalar(vn, join(path, key), "a number or a string")
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            if not isinstance(v, int | float | str):
                ok = False
                continue
            v = int(v)
        if isinstance(v, float) and not math.isfinite(v):
            r.err(vn, join(path, key), f"must be a finite number (got {show(vn)})")
            ok = False
            continue
        out[key] = v
    return out if ok else None


def _target(r: Reader, f: Any, action: str | None, params: dict[str, ParamValue] | None,
            cat: Catalogue) -> str | None:
    tnode = f.get("target")
    if action in _FIXED_TARGET:
        wants = cat.action_targets.get(action, ())
        if tnode is None and len(wants) == 1:
            return wants[0]
        if tnode is None:
            r.err(f.node, f.path, f'missing required field "target" ({action} on one of: {", ".join(wants)})')
            return None
        t = r.text(tnode, f.at("target"))
        if t is not None and t not in wants:
            r.err(tnode, f.at("target"), f"must be {' or '.join(wants) or 'a unit of the plant'} for {action} "
                  f"(got {show(tnode)})")
            return None
        return t
    if tnode is None:
        r.err(f.node, f.path, 'missing required field "target"')
        return None
    t = r.text(tnode, f.at("target"))
    if t is None or action is None:
        return None
    if action == "write":
        if t not in cat.inputs:
            r.err(
                tnode, f.at("target"),
                f"must be a writable engine signal (got {show(tnode)}){did_you_mean(t, cat.inputs)}"
            )
            return None
        return t
    if action == "clear_fault":
        valid = ("*", *cat.measured, *cat.valves)
        if t not in valid and not is_link_target(t):
            r.err(
                tnode,
                f.at("target"),
                f"must be a field instrument, a LOOP.valve or * (got {show(tnode)}){did_you_mean(t, valid)}",
            )
            return None
        return t
    # inject_fault
    kind = None if params is None else params.get("kind")
    if t in cat.measured:
        faults: tuple[str, ...] = SENSOR_FAULTS
    elif t in cat.valves:
        faults = VALVE_FAULTS
    elif is_link_target(t):
        faults = LINK_FAULTS
    else:
        r.err(
            tnode,
            f.at("target"),
            f"must be a field instrument or a LOOP.valve (got {show(tnode)})"
            f"{did_you_mean(t, (*cat.measured, *cat.valves))}",
        )
        return None
    if kind not in faults:
        where = f.get("params") or tnode
        r.err(where, join(f.at("params"), "kind"), f"must be one of {', '.join(faults)} for {t} (got {kind!r})")
        return None
    return t
