"""Typed, frozen settings of one running PLC, parsed once by the CLI (or a fleet file).

:class:`RuntimeConfig`: pacing, journal, scenario schedule, health thresholds, clocks, restart.
:class:`HistorianOptions` and :class:`OpcUaOptions`: the historian and OPC UA parts of
:class:`~plc_emulator.runtime.app.AppConfig` (Modbus: :class:`~plc_emulator.modbus.config.ModbusConfig`,
MQTT: :class:`~plc_emulator.runtime.upstream.UpstreamOptions`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from plc_emulator.commands import Command
from plc_emulator.runtime.checkpoint import Checkpoint, StartMode
from plc_emulator.runtime.epoch import EpochPlan

if TYPE_CHECKING:  # the OPC UA package imports asyncua; only its settings type is needed here
    from plc_emulator.opcua.security import SecurityConfig

__all__ = ["HistorianOptions", "OpcUaOptions", "RuntimeConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorianOptions:
    """The store-and-forward historian under ``DATA_DIR`` (``--cleanup-hours``, ``--repair``)."""

    enabled: bool = True
    retention_hours: float | None = None  # None: the tag map's
    repair: bool = False  # move a damaged database aside and start a new one
    db_name: str = "historian.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class OpcUaOptions:
    """The OPC UA server (``--opcua-*``): its port and who may do what."""

    port: int
    security: SecurityConfig


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
    # simulated time: None keeps the tag map's epoch (tests, lockstep); ``run`` passes a plan (wall
    # clock at the first scan unless pinned), see runtime/epoch.py
    epoch: EpochPlan | None = None
    wall_clock: Callable[[], float] = time.time  # Unix seconds, for the wall-clock epoch
    restore: Checkpoint | None = None  # continue the plant from this checkpoint
    start_mode: StartMode = StartMode.WARM  # what PLC memory keeps when restoring
    checkpoint_path: Path | None = None  # write checkpoints here (None: never)
    checkpoint_interval: float = 10.0  # wall seconds between checkpoints (and one on stop)
