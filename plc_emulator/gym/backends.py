"""Where an environment's plant runs: in this process (:class:`EngineBackend`, a plant file on a
:class:`~plc_emulator.engine.plant.PlantEngine`) or in a live PLC (:class:`ModbusBackend` in
:mod:`plc_emulator.gym.modbus`). Both read published values (measured signals are the transmitter
readings a client sees) and queue writes that apply at the start of the next tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from plc_emulator.commands import Command
from plc_emulator.engine.plant import LoadedPlant, PlantEngine, PlantState, load_plant
from plc_emulator.engine.types import F64
from plc_emulator.gym.points import plant_tags
from plc_emulator.tagmap.model import Tag

__all__ = ["Backend", "EngineBackend"]


class Backend(Protocol):
    @property
    def name(self) -> str: ...  # the plant's name: picks the default task and reward

    @property
    def dt(self) -> float: ...  # seconds per tick

    @property
    def tags(self) -> Mapping[str, Tag]: ...  # every readable signal, by signal name

    @property
    def seeded(self) -> bool: ...  # True when reset(seed) restarts the plant from that seed

    def reset(self, seed: int) -> None: ...

    def write(self, commands: Sequence[Command]) -> None: ...  # applied at the start of the next tick

    def advance(self, ticks: int) -> int: ...  # run ``ticks`` ticks; returns the tick reached

    def read(self, names: Sequence[str]) -> F64: ...  # published values, NaN where not available

    def close(self) -> None: ...


class EngineBackend:
    """A plant file run in process, one plant, deterministic from the reset seed."""

    seeded = True

    def __init__(self, plant: str | Path | LoadedPlant, *, dt: float = 0.1) -> None:
        self.plant = plant if isinstance(plant, LoadedPlant) else load_plant(plant)
        self.engine = PlantEngine(self.plant, dt=dt, seed=0, n=1)
        self.name = self.plant.graph.name
        self.dt = self.engine.dt
        self.tags = plant_tags(self.engine)
        self._state: PlantState = self.engine.initial_state()
        self._queued: list[Command] = []

    def reset(self, seed: int) -> None:
        self.engine = PlantEngine(self.plant, dt=self.dt, seed=seed, n=1)
        self._state = self.engine.initial_state()
        self._queued = []

    def write(self, commands: Sequence[Command]) -> None:
        self._queued += commands

    def advance(self, ticks: int) -> int:
        for _ in range(ticks):
            self._state, _ = self.engine.step(self._state, self._queued)
            self._queued = []
        return self._state.tick

    def read(self, names: Sequence[str]) -> F64:
        cols = [self.engine.column[n] for n in names]
        return np.asarray(self._state.values[0, cols], dtype=np.float64)

    def close(self) -> None:
        self._queued = []
