"""One interface over the two process engines, so the scan, checkpoints and replay need not know which
one a tag map runs: the built-in separation train (:class:`~plc_emulator.engine.core.Engine`) or a
plant file's block engine (:class:`~plc_emulator.engine.plant.PlantEngine`, ``model:`` in the tag map).

Both are pure, fixed-step functions of (state, commands) whose ``outputs`` columns are in the order
of the plant's :class:`~plc_emulator.engine.catalogue.Catalogue`. A state serialises to a flat dict of
named arrays (checkpoints, ``np.savez``-ready, no pickles) plus its tick and RNG state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from plc_emulator.commands import Command
from plc_emulator.engine.core import Engine
from plc_emulator.engine.params import PlantParams
from plc_emulator.engine.plant import LoadedPlant, PlantEngine, PlantState
from plc_emulator.engine.types import EngineState, GroundTruthEvent, Outputs, copy_rng

__all__ = ["AnyState", "ProcessEngine", "make_engine", "state_arrays", "state_from_arrays", "state_rng"]

AnyState = EngineState | PlantState
Arrays = dict[str, np.ndarray[Any, Any]]


class ProcessEngine(Protocol):
    """What the scan needs of an engine (batch N, time step ``dt``, tick 0 at ``epoch``)."""

    dt: float
    epoch: float
    n: int

    def initial_state(self) -> Any: ...

    def step(self, state: Any, commands: Sequence[Command] = ()) -> tuple[Any, list[GroundTruthEvent]]: ...

    def run(self, state: Any, ticks: int,
            schedule: dict[int, list[Command]] | None = None) -> tuple[Any, list[GroundTruthEvent]]: ...

    def outputs(self, state: Any) -> Outputs: ...


def make_engine(plant: LoadedPlant | None, params: PlantParams, *, dt: float, seed: int, n: int = 1,
                epoch: float = 0.0) -> ProcessEngine:
    """The block engine of ``plant`` or, without one, the built-in engine with ``params``."""
    if plant is not None:
        return PlantEngine(plant, dt=dt, seed=seed, n=n, epoch=epoch)
    return Engine(params, dt=dt, seed=seed, n=n, epoch=epoch)


def state_arrays(engine: ProcessEngine, state: AnyState) -> Arrays:
    """Every array of ``state`` by a stable name (the tick, and the built-in engine's RNG, travel
    separately: :func:`state_rng`)."""
    if isinstance(state, EngineState):  # names of checkpoint format 1
        out: Arrays = {f"engine/{k}": v.copy() for k, v in state.arrays.items()}
        out["engine.status"] = state.status.copy()
        return out
    assert isinstance(engine, PlantEngine)
    return {f"plant/{k}": v for k, v in engine.saved(state).items()}


def state_rng(state: AnyState) -> dict[str, Any] | None:
    """The built-in engine's generator state; None for the block engine (counter-based draws)."""
    return dict(state.rng.bit_generator.state) if isinstance(state, EngineState) else None


def state_from_arrays(engine: ProcessEngine, template: AnyState, arrays: Mapping[str, np.ndarray[Any, Any]], *,
                      tick: int, rng: Mapping[str, Any] | None) -> AnyState:
    """The state ``state_arrays`` was taken from; ``template`` (an initial state of ``engine``) gives
    the layout. KeyError when an array is missing or has another shape or type."""
    want = state_arrays(engine, template)
    for name, ref in want.items():
        got = arrays.get(name)
        if got is None or got.shape != ref.shape or got.dtype != ref.dtype:
            raise KeyError(name)
    if isinstance(template, EngineState):
        gen = copy_rng(template.rng)
        if rng is None:
            raise KeyError("rng")
        gen.bit_generator.state = dict(rng)
        eng = {k.removeprefix("engine/"): arrays[k].copy() for k in want if k.startswith("engine/")}
        return EngineState(tick=tick, rng=gen, arrays=eng, status=arrays["engine.status"].copy())
    assert isinstance(engine, PlantEngine)
    return engine.restored(tick, {k.removeprefix("plant/"): arrays[k] for k in want})
