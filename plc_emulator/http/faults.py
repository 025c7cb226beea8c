"""Fault injection over HTTP: the scenario-file vocabulary, and which faults are active now.

``POST /faults`` takes one scenario event without ``at`` (it applies at the next tick), e.g.
``{"target": "V100.oil_level", "params": {"kind": "freeze"}}`` or
``{"action": "trip_pump"}``, and validates it with the scenario loader itself, so the actions,
targets, fault kinds and parameters accepted are exactly those of scenario files (and a mistake
reads the same: ``target: must be a field instrument ... (got 'V100.oil_levl'); did you mean ...``).

:class:`FaultTracker` follows the engine's ``fault_start`` / ``fault_end`` ground-truth events (from
any source: HTTP, OPC UA methods, scenarios), so ``GET /faults`` lists what is active; a fault's id
is its target (one fault per instrument or valve at a time, as in the engine).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any, Final

from plc_emulator.commands import Command
from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.scenario import ScenarioError, loads_scenario

__all__ = ["FAULT_ACTIONS", "FaultTracker", "parse_fault"]

FAULT_ACTIONS: Final = ("inject_fault", "force_slug", "start_degradation", "trip_pump")
_FIELDS: Final = ("action", "target", "value", "params")
_PREFIX = re.compile(r"^[^:]*:\d+:\d+: (?:events\[0\]\.?)?")


def parse_fault(body: object, source: str, catalogue: Catalogue = LEGACY) -> Command:
    """A request body -> the Command a scenario event would give; ValueError with one line per problem."""
    if not isinstance(body, Mapping):
        raise ValueError("body must be a JSON object like {\"target\": \"V100.oil_level\", "
                         "\"params\": {\"kind\": \"freeze\"}}")
    unknown = sorted(k for k in body if k not in _FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(_FIELDS)}")
    action = body.get("action", "inject_fault")
    if action not in FAULT_ACTIONS:
        raise ValueError(f"action: must be one of {', '.join(FAULT_ACTIONS)} (got {action!r}); "
                         "writes go to PUT /tags/{tag}, clearing to DELETE /faults/{id}")
    event = {"at": 0, **body, "action": action}
    try:
        scenario = loads_scenario(json.dumps({"events": [event]}), 1.0, path="<request>", catalogue=catalogue)
    except ScenarioError as exc:
        raise ValueError("; ".join(_PREFIX.sub("", line) for line in exc.problems)) from None
    except (TypeError, ValueError) as exc:  # not JSON-serialisable input
        raise ValueError(f"invalid fault: {exc}") from None
    cmd = scenario.events[0].command
    return Command(kind=cmd.kind, target=cmd.target, value=cmd.value, params=cmd.params, source=source)


class FaultTracker:
    """Active faults by target, from the engine's ground-truth events (scan-thread callback)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, dict[str, Any]] = {}

    def on_snapshot(self, snap: Snapshot) -> None:
        if not snap.events:
            return
        with self._lock:
            for ev in snap.events:
                if ev.kind == "fault_start":
                    self._active[ev.target] = {"id": ev.target, "target": ev.target, "since_tick": ev.tick,
                                               "params": dict(ev.params)}
                elif ev.kind == "fault_end":
                    self._active.pop(ev.target, None)

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self._active.values()]

    def __contains__(self, target: object) -> bool:
        with self._lock:
            return target in self._active
