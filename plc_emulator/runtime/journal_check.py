"""Journal commands are checked exactly as live input is, before a replay applies any of them.

* writes to a point a client can write go through :func:`plc_emulator.image.writes.validate_write`
  (access, type, write limits; the same function Modbus and OPC UA use); writes from a scenario or a
  restart to an engine input with no rw tag are checked against the signal's limits;
* faults, degradation, slugs and trips against the scenario file's tables (target, fault kind, the
  parameters each understands, finite numbers);
* alarm operator actions against the tag map's alarm ids.

:func:`check_journal` returns ``None`` or ``(line, message)`` for the first bad command.
"""

from __future__ import annotations

import math

from plc_emulator.alarms import AlarmSystem, is_alarm_signal
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine._commands import SENSOR_FAULTS, VALVE_FAULTS
from plc_emulator.errors import WriteRejected
from plc_emulator.image.writes import validate_write
from plc_emulator.runtime.journal import Journal
from plc_emulator.scenario import _ACTION_PARAMS, _FAULT_PARAMS
from plc_emulator.tagmap.model import Access, Tag, TagMap

__all__ = ["CommandChecker", "check_journal"]

_FIXED = {CommandKind.START_DEGRADATION: "start_degradation", CommandKind.FORCE_SLUG: "force_slug",
          CommandKind.TRIP_PUMP: "trip_pump"}
_ALARM_KINDS = frozenset(k for k in CommandKind if k.value.startswith("alarm_"))


class CommandChecker:
    """Validates commands against one tag map."""

    def __init__(self, tagmap: TagMap) -> None:
        self.rw: dict[str, Tag] = {t.signal: t for t in tagmap.tags if t.access is Access.RW}
        cat = tagmap.catalogue
        self.inputs = cat.inputs
        self.measured = frozenset(cat.measured)
        self.valves = frozenset(cat.valves)
        self.targets = cat.action_targets
        self.alarm_ids = frozenset(AlarmSystem(tagmap).block.ids)

    def check(self, cmd: Command) -> str | None:
        if cmd.target.startswith("runtime."):
            return f"{cmd.target} is pacing, never journaled"
        if cmd.kind is CommandKind.WRITE:
            return self._write(cmd)
        if cmd.kind in _ALARM_KINDS:
            if cmd.target != "*" and cmd.target not in self.alarm_ids:
                return f"unknown alarm {cmd.target!r}"
            return None
        if cmd.kind in _FIXED:
            action = _FIXED[cmd.kind]
            want = self.targets.get(action, ())
            return self._params(cmd, _ACTION_PARAMS[action]) if cmd.target in want else (
                f"{cmd.kind.value} target must be {' or '.join(want) or 'a unit of the plant'} (got {cmd.target!r})")
        if cmd.kind is CommandKind.CLEAR_FAULT:
            if cmd.target != "*" and cmd.target not in self.measured and cmd.target not in self.valves:
                return f"clear_fault target must be a field instrument, a LOOP.valve or * (got {cmd.target!r})"
            return self._params(cmd, ())
        return self._fault(cmd)

    def _write(self, cmd: Command) -> str | None:
        tag = self.rw.get(cmd.target)
        if tag is not None:
            try:
                validate_write(tag, cmd.value, source=cmd.source)
            except WriteRejected as exc:
                return f"write to {cmd.target} refused as a live write would be: {exc}"
            return None
        if is_alarm_signal(cmd.target):
            return f"{cmd.target} is not a writable point of this tag map"
        spec = self.inputs.get(cmd.target)
        if spec is None:
            return f"unknown write target {cmd.target!r}"
        lo, hi = spec.limits if spec.limits is not None else spec.range
        if not (math.isfinite(cmd.value) and lo <= cmd.value <= hi):
            return f"write to {cmd.target} outside its limits {lo:g}..{hi:g} (got {cmd.value!r})"
        return None

    def _fault(self, cmd: Command) -> str | None:
        kind = cmd.params.get("kind")
        if cmd.target in self.measured:
            faults: tuple[str, ...] = SENSOR_FAULTS
        elif cmd.target in self.valves:
            faults = VALVE_FAULTS
        else:
            return f"inject_fault target must be a field instrument or a LOOP.valve (got {cmd.target!r})"
        if not isinstance(kind, str) or kind not in faults:
            return f"fault kind for {cmd.target} must be one of {', '.join(faults)} (got {kind!r})"
        return self._params(cmd, _FAULT_PARAMS[kind])

    @staticmethod
    def _params(cmd: Command, allowed: tuple[str, ...]) -> str | None:
        for key, value in cmd.params.items():
            if key in ("kind",) and cmd.kind is CommandKind.INJECT_FAULT:
                continue
            if key not in (*allowed, "plant"):
                return f"unknown parameter {key!r} for {cmd.kind.value}; valid: {', '.join(allowed) or 'none'}"
            if isinstance(value, str) or not math.isfinite(float(value)):
                return f"parameter {key} must be a finite number (got {value!r})"
        return None


def check_journal(journal: Journal, tagmap: TagMap) -> tuple[int, str] | None:
    """First bad command as ``(line number in the file, message)``, or None."""
    checker = CommandChecker(tagmap)
    for entry, line in zip(journal.entries, journal.lines, strict=True):
        msg = checker.check(entry.command)
        if msg is not None:
            return line, msg
    return None
