"""Commands: the one way anything changes the plant.

Client writes (Modbus, OPC UA), scenario events, CLI actions and alarm operator actions all become a
:class:`Command`. They are validated when received, queued, applied at the start of the next tick in
arrival order, and journaled with that tick, so a journal replays a run bit for bit.

Journal format (JSON Lines, one object per line):
    {"journal": "plc-emulator", "version": 1, "tagmap_sha256": "...", "seed": 42, "dt": 0.1}
    {"tick": 120, "kind": "write", "target": "LIC100.sp", "value": 55.0, "params": {}, "source": "modbus"}
    ...
    {"end_tick": 6000}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Command", "CommandKind", "JournalEntry", "command_from_json", "command_to_json"]


class CommandKind(StrEnum):
    WRITE = "write"  # target = signal name, value = new value (EU, or 0/1, or enum index)
    INJECT_FAULT = "inject_fault"  # target = signal, params["kind"] = fault kind + its parameters
    CLEAR_FAULT = "clear_fault"  # target = signal ("*" clears all)
    START_DEGRADATION = "start_degradation"  # target = "P100"; params: optional beta_per_day, theta
    FORCE_SLUG = "force_slug"  # target = "well"; params: volume_m3 (hydrodynamic) or severe=1
    TRIP_PUMP = "trip_pump"  # target = "P100"
    ALARM_ACK = "alarm_ack"  # target = alarm id, or "*" for all
    ALARM_SHELVE = "alarm_shelve"  # target = alarm id; value = shelve duration, seconds
    ALARM_UNSHELVE = "alarm_unshelve"
    ALARM_OUT_OF_SERVICE = "alarm_out_of_service"
    ALARM_RETURN_TO_SERVICE = "alarm_return_to_service"
    ALARM_CONFIRM = "alarm_confirm"


ParamValue = float | int | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    kind: CommandKind
    target: str
    value: float = 0.0
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    source: str = "cli"

    def param(self, name: str, default: float) -> float:
        v = self.params.get(name, default)
        return float(v)


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    tick: int
    command: Command


def command_to_json(tick: int, cmd: Command) -> str:
    obj: dict[str, Any] = {
        "tick": tick,
        "kind": cmd.kind.value,
        "target": cmd.target,
        "value": cmd.value,
        "params": dict(sorted(cmd.params.items())),
        "source": cmd.source,
    }
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def command_from_json(line: str) -> JournalEntry:
    obj = json.loads(line)
    cmd = Command(
        kind=CommandKind(obj["kind"]),
        target=str(obj["target"]),
        value=float(obj.get("value", 0.0)),
        params=dict(obj.get("params", {})),
        source=str(obj.get("source", "journal")),
    )
    return JournalEntry(tick=int(obj["tick"]), command=cmd)
