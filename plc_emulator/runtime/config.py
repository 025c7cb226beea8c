"""Runtime configuration: pacing, journal, scenario schedule, health thresholds, injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plc_emulator.commands import Command

__all__ = ["RuntimeConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeConfig:
    speed: float = 1.0  # x real time; 0 = as fast as possible
    paused: bool = False  # start paused (lockstep: advance with step(n))
    seed: int | None = None  # None -> tag map seed
    journal: str | Path | None = None  # write the command journal here
    schedule: Mapping[int, Sequence[Command]] = field(default_factory=dict)  # scenario: tick -> commands
    stop_at_tick: int | None = None  # stop (cleanly) after this tick: --duration
    max_queue: int = 10_000  # pending client commands; submit() refuses beyond this
    max_lag: float = 1.0  # s behind plan before pacing re-anchors instead of catching up
    health_late_periods: float = 5.0  # /health: last scan must have started within this many periods
    health_min_late: float = 0.5  # ... or this many seconds, whichever is longer
    health_window: float = 10.0  # /health: overruns must not have increased over this window (s)
    clock: Callable[[], float] = time.perf_counter  # monotonic seconds
