"""Ground-truth labels of a batch run, built only from the engine's events and true values (pure).

Per plant and tick:

* the fault kind active on each labelled signal (``fault_start`` .. ``fault_end``; a second
  ``fault_start`` on the same signal replaces the kind, as the engine does);
* the pump's degradation stage (0 healthy, 1 degrading from ``degradation_onset``, 2 failed from
  ``failure`` = vibration zone D) and a health index in [0, 1];
* whether a slug is arriving and whether the ESD is tripped (true state signals).

Every event also becomes a row of the events table, with a start and an end tick: faults,
degradation (onset to failure), ESD intervals (from the true signal), and the engine's
point events (``pump_trip``, ``esd_trip``, ``slug``, ``severe_slug``, ``write_ignored``,
``failure``) with end = start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms.fleet import SENSOR_KINDS, VALVE_KINDS
from plc_emulator.engine import GroundTruthEvent

__all__ = ["FAULT_CATEGORIES", "EventRow", "LabelTracker", "StageLabels"]

# label vocabulary of the ``fault.<tag>`` columns: code = index (0 = no fault)
FAULT_CATEGORIES: Final = ("none", *SENSOR_KINDS, *VALVE_KINDS)
_CODE: Final = {k: i for i, k in enumerate(FAULT_CATEGORIES)}


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRow:
    """One row of the events table; ``end_tick`` is exclusive (None = still open at the end)."""

    plant: int
    kind: str  # fault, degradation, esd, or an engine point event kind
    target: str
    fault_kind: str  # the fault kind for kind == "fault", else ""
    start_tick: int
    end_tick: int | None
    detail: str  # JSON of the event's parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class StageLabels:
    stage: npt.NDArray[np.int8]  # (n,) 0 healthy, 1 degrading, 2 failed
    health: npt.NDArray[np.float64]  # (n,) 1 = as new .. 0 = zone D


class LabelTracker:
    """Feeds on ``(tick, events, true values)`` every tick; holds the current labels."""

    def __init__(self, n: int, fault_signals: Sequence[str], *, zone_d: float, pump: str | None = "P100") -> None:
        """``pump``: the pump whose degradation is labelled (None: the plant has none, stage stays 0)."""
        self.n = n
        self.pump = pump
        self._col = {s: i for i, s in enumerate(fault_signals)}
        self.codes = np.zeros((n, len(fault_signals)), dtype=np.int8)
        self.stage = np.zeros(n, dtype=np.int8)
        self.health = np.ones(n)
        self._v_onset = np.full(n, np.nan)
        self._zone_d = float(zone_d)
        self._open_faults: dict[tuple[int, str], tuple[str, int, str]] = {}
        self._open_deg: dict[int, tuple[int, str]] = {}
        self._open_flag: dict[tuple[str, int], int] = {}
        self._prev_flags: dict[str, npt.NDArray[np.bool_]] = {}
        self.rows: list[EventRow] = []

    # ------------------------------------------------------------------ events
    def apply(self, tick: int, events: Iterable[GroundTruthEvent]) -> None:
        for ev in events:
            detail = json.dumps(dict(ev.params), sort_keys=True, default=str)
            mine = ev.target == self.pump and 0 <= ev.plant < self.n
            if ev.kind in ("fault_start", "fault_end") and not 0 <= ev.plant < self.n:
                pass  # a fault on every row at once: not a campaign's (labels are per plant)
            elif ev.kind == "fault_start":
                self._fault_start(tick, ev, detail)
            elif ev.kind == "fault_end":
                self._fault_end(tick, ev.plant, ev.target)
            elif ev.kind == "degradation_onset" and mine:
                if ev.plant not in self._open_deg and self.stage[ev.plant] == 0:
                    self._open_deg[ev.plant] = (tick, detail)
                    self.stage[ev.plant] = 1
            else:
                if ev.kind == "failure" and mine:
                    self._failure(tick, ev.plant)
                self.rows.append(EventRow(plant=ev.plant, kind=ev.kind, target=ev.target, fault_kind="",
                                          start_tick=tick, end_tick=tick, detail=detail))

    def _fault_start(self, tick: int, ev: GroundTruthEvent, detail: str) -> None:
        kind = str(ev.params.get("kind", ""))
        if (ev.plant, ev.target) in self._open_faults:  # replaced: the old one ends here
            self._fault_end(tick, ev.plant, ev.target)
        self._open_faults[(ev.plant, ev.target)] = (kind, tick, detail)
        col = self._col.get(ev.target)
        if col is not None:
            self.codes[ev.plant, col] = _CODE.get(kind, 0)

    def _fault_end(self, tick: int, plant: int, target: str) -> None:
        opened = self._open_faults.pop((plant, target), None)
        if opened is None:
            return
        kind, start, detail = opened
        self.rows.append(EventRow(plant=plant, kind="fault", target=target, fault_kind=kind,
                                  start_tick=start, end_tick=tick, detail=detail))
        col = self._col.get(target)
        if col is not None:
            self.codes[plant, col] = 0

    def _failure(self, tick: int, plant: int) -> None:
        start, detail = self._open_deg.pop(plant, (tick, "{}"))
        self.rows.append(EventRow(plant=plant, kind="degradation", target=self.pump or "", fault_kind="",
                                  start_tick=start, end_tick=tick, detail=detail))
        self.stage[plant] = 2
        self.health[plant] = 0.0

    # ------------------------------------------------------------------ true signals
    def observe(self, tick: int, *, vibration: npt.NDArray[np.float64],
                flags: dict[str, npt.NDArray[np.bool_]]) -> None:
        """True pump vibration (health index) and boolean state signals turned into intervals."""
        running = vibration > 0.2
        new = (self.stage == 1) & np.isnan(self._v_onset) & running
        self._v_onset = np.where(new, vibration, self._v_onset)
        span = np.maximum(self._zone_d - self._v_onset, 1e-9)
        inst = np.clip(1.0 - (vibration - self._v_onset) / span, 0.0, 1.0)
        use = (self.stage == 1) & running & ~np.isnan(self._v_onset)
        self.health = np.where(use, np.minimum(self.health, inst), self.health)
        for name, now in flags.items():
            prev = self._prev_flags.get(name)
            self._prev_flags[name] = now.copy()
            if prev is None:
                prev = np.zeros_like(now)
            for p in np.flatnonzero(now & ~prev):
                self._open_flag[(name, int(p))] = tick
            for p in np.flatnonzero(prev & ~now):
                start = self._open_flag.pop((name, int(p)), tick)
                self.rows.append(EventRow(plant=int(p), kind=name, target=name, fault_kind="",
                                          start_tick=start, end_tick=tick, detail="{}"))

    def labels(self) -> StageLabels:
        return StageLabels(stage=self.stage.copy(), health=self.health.copy())

    def close(self) -> list[EventRow]:
        """Every event row, with intervals still open at the end (end_tick None), in start order."""
        rows = list(self.rows)
        for (plant, target), (kind, start, detail) in self._open_faults.items():
            rows.append(EventRow(plant=plant, kind="fault", target=target, fault_kind=kind,
                                 start_tick=start, end_tick=None, detail=detail))
        for plant, (start, detail) in self._open_deg.items():
            rows.append(EventRow(plant=plant, kind="degradation", target=self.pump or "", fault_kind="",
                                 start_tick=start, end_tick=None, detail=detail))
        for (name, plant), start in self._open_flag.items():
            rows.append(EventRow(plant=plant, kind=name, target=name, fault_kind="",
                                 start_tick=start, end_tick=None, detail="{}"))
        rows.sort(key=lambda r: (r.start_tick, r.plant, r.kind, r.target))
        return rows
