"""How a block kind steps: three pure, vectorised functions over one plan group.

Arrays carry the batch axis N and the group's unit axis U: parameters ``(N, U)``, states
``(N, U, *extra)``, scalar ports ``(N, U)``, stream/source ports ``(N, U, 4)``. Each tick the plan
calls, for every group:

1. ``out(p, s, ctx)``       -> the outputs computed from state only (ports without ``depends``);
2. ``feed(p, s, i, ctx)``   -> the direct-feedthrough outputs, in feedthrough order, from inputs
                               (keys starting with ``_`` are private results handed on to ``update``);
3. ``update(p, s, i, ctx)`` -> the new state (new arrays; the old ones are never written);

and ``signals(p, s, i, ctx)`` gives the values the block exposes (``UNIT.signal``). ``i`` holds the
block's inputs and, under their own names, its outputs of this tick. ``init(p, s, ctx)`` (optional)
draws per-row random initial states (a pump's Weibull onset). Events go to ``ctx.events``.

Random numbers come from ``ctx.uniform(stream)`` / ``ctx.normal(k)``: counter-based draws keyed by
(row seed, unit, tick, stream), see ``_rng``; without keys (a kernel called on its own, outside
an engine) they come from ``ctx.rng``. Kinds listed in ``plc_emulator.engine.fast`` also have a
compiled kernel that the engine runs instead when every kind of a plant has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from plc_emulator.engine.blocks import _rng
from plc_emulator.engine.types import F64, GroundTruthEvent

__all__ = ["Arrays", "Bools", "Context", "Kernel"]

Bools = npt.NDArray[np.bool_]

Arrays = Mapping[str, F64]


@dataclass(slots=True, kw_only=True)
class Context:
    """What a tick knows besides the block's own arrays."""

    tick: int
    dt: float
    t: float  # Unix seconds of this tick (epoch + tick * dt)
    sim_s: float  # seconds since tick 0
    rng: np.random.Generator
    units: tuple[str, ...] = ()  # the group's unit names (for events)
    events: list[GroundTruthEvent] = field(default_factory=list)
    base: _rng.U64 | None = None  # (N, U) counter-RNG keys of the group (None: draw from ``rng``)

    def uniform(self, stream: int, shape: tuple[int, ...]) -> F64:
        """(N, U) uniform [0, 1) draws of ``stream`` (``shape`` is used without keys only)."""
        if self.base is None:
            return self.rng.random(shape)
        return _rng.uniform(self.base, self.tick, stream)

    def normal(self, k: int, shape: tuple[int, ...]) -> F64:
        """(N, U) standard normal draws (streams 2k, 2k + 1)."""
        if self.base is None:
            return self.rng.standard_normal(shape)
        return _rng.normal(self.base, self.tick, k)

    def event(self, kind: str, rows: Bools, params: Mapping[str, float | int | str] | None = None) -> None:
        """One ground-truth event per (plant, unit) where ``rows`` (N, U) is true."""
        for i, u in zip(*np.nonzero(rows), strict=True):
            self.events.append(GroundTruthEvent(tick=self.tick, plant=int(i), kind=kind, target=self.units[u],
                                                params=dict(params or {})))


def _none(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Kernel:
    update: Callable[[Arrays, Arrays, Arrays, Context], dict[str, F64]]
    signals: Callable[[Arrays, Arrays, Arrays, Context], dict[str, F64]]
    out: Callable[[Arrays, Arrays, Context], dict[str, F64]] = _none
    feed: Callable[[Arrays, Arrays, Arrays, Context], dict[str, F64]] | None = None
    init: Callable[[Arrays, Arrays, Context], dict[str, F64]] | None = None
