"""The numpy path of ``PlantEngine``: each group's ``Kernel`` in turn, over dict views of the state.

Used when a plant has a block kind without a compiled kernel (user-written kinds need no compiler).
The order of evaluation and the random draws are those of the compiled path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from plc_emulator.engine.blocks import Context, Direction
from plc_emulator.engine.plant._plan import VECTOR_QUANTITIES, Group
from plc_emulator.engine.types import F64, GroundTruthEvent

if TYPE_CHECKING:
    from plc_emulator.engine.plant._run import PlantEngine, PlantState

__all__ = ["NumpyTick"]


class NumpyTick:
    def __init__(self, eng: PlantEngine, cols: Sequence[Mapping[str, Mapping[int, Sequence[int]]]],
                 tx_truth: Mapping[tuple[int, int], int],
                 conditions: Mapping[tuple[int, int], Sequence[tuple[int, float | None, float | None]]]) -> None:
        self.eng = eng
        # (group, block signal) -> truth columns and units: one fancy-indexed copy per pair
        self._sources = [(gi, source, np.array([c for cs in m.values() for c in cs], dtype=np.intp),
                          np.array([u for u, cs in m.items() for _ in cs], dtype=np.intp))
                         for gi, per in enumerate(cols) for source, m in per.items()]
        self._tx_truth = tx_truth
        self._conditions = conditions

    def ports(self, tick: int, flat: F64) -> PlantState:
        from plc_emulator.engine.plant._run import PlantState

        eng = self.eng
        groups = eng.layout.views(flat)
        inputs, scal, vec, truth = self._ports(groups, tick, self._rng(tick, 1))
        values, status = self._publish(groups, truth)
        return PlantState(tick=tick, flat=flat, scal=scal, vec=vec, truth=truth, values=values, status=status,
                          layout=eng.layout, private=tuple(inputs))

    def step(self, start: PlantState, flat: F64, tick: int, truth_prev: F64
             ) -> tuple[PlantState, list[GroundTruthEvent]]:
        eng = self.eng
        groups = eng.layout.views(flat)
        events: list[GroundTruthEvent] = []
        inputs = start.inputs
        rng = self._rng(tick, 2)
        for gi, (g, k, st) in enumerate(zip(eng.plan.groups, eng.kernels, groups, strict=True)):
            ctx = self._ctx(tick, gi, rng)
            extra = self._special(gi, g.kind, truth_prev)
            new = k.update(g.params, st, {**inputs[gi], **extra}, ctx)
            for name, arr in new.items():
                st[name][...] = arr
            events += ctx.events
        return self.ports(tick, flat), events

    # --- helpers ---------------------------------------------------------------------------------
    def _rng(self, tick: int, phase: int) -> np.random.Generator:
        """One generator per tick and pass for kinds that draw from ``ctx.rng`` directly."""
        return np.random.default_rng([self.eng.seed % 2**32, tick, phase])

    def _ctx(self, tick: int, gi: int, rng: np.random.Generator) -> Context:
        return self.eng._context(tick, base=self.eng.bases[gi], units=self.eng.plan.groups[gi].units, rng=rng)

    def _ports(self, groups: list[dict[str, F64]], tick: int, rng: np.random.Generator
               ) -> tuple[list[dict[str, F64]], F64, F64, F64]:
        """Every group's port values (inputs and own outputs) of ``groups``' state, and the signals."""
        eng = self.eng
        scal = np.tile(eng.plan.idle_scalar, (eng.n, 1))
        vec = np.zeros((eng.n, eng.plan.n_vector, 4))
        own: list[dict[str, F64]] = []
        for gi, (g, k, st) in enumerate(zip(eng.plan.groups, eng.kernels, groups, strict=True)):
            o = k.out(g.params, st, self._ctx(tick, gi, rng))
            _write(g, o, scal, vec)
            own.append(dict(o))
        for gi, (g, k, st) in enumerate(zip(eng.plan.groups, eng.kernels, groups, strict=True)):
            if k.feed is not None:
                f = k.feed(g.params, st, {**_gather(g, scal, vec), **own[gi]}, self._ctx(tick, gi, rng))
                _write(g, f, scal, vec)
                own[gi].update(f)
        inputs = [{**_gather(g, scal, vec), **own[gi]} for gi, g in enumerate(eng.plan.groups)]
        per = [k.signals(g.params, st, i, self._ctx(tick, gi, rng)) for gi, (g, k, st, i) in
               enumerate(zip(eng.plan.groups, eng.kernels, groups, inputs, strict=True))]
        truth = np.zeros((eng.n, len(eng.names)))
        for gi, source, cols, uis in self._sources:
            if source in per[gi]:
                truth[:, cols] = per[gi][source][:, uis]
        return inputs, scal, vec, truth

    def _special(self, gi: int, kind: str, truth: F64) -> dict[str, F64]:
        """Transmitters read their true value; interlocks their trip conditions."""
        g, n = self.eng.plan.groups[gi], self.eng.n
        if kind == "transmitter":
            cols = [self._tx_truth.get((gi, ui), 0) for ui in range(len(g.units))]
            return {"_truth": truth[:, cols]}
        if kind == "interlock":
            cause = np.zeros((n, len(g.units)))
            first = np.zeros((n, len(g.units)))
            for ui in range(len(g.units)):
                for c, (col, above, below) in enumerate(self._conditions.get((gi, ui), [])):
                    hit = np.zeros(n, dtype=bool)
                    if above is not None:
                        hit |= truth[:, col] > above
                    if below is not None:
                        hit |= truth[:, col] < below
                    first[:, ui] = np.where(hit & (cause[:, ui] < 0.5), c + 1.0, first[:, ui])
                    cause[:, ui] = np.maximum(cause[:, ui], hit)
            return {"_cause": cause, "_first": first}
        return {}

    def _publish(self, groups: list[dict[str, F64]], truth: F64) -> tuple[F64, np.ndarray]:
        values = truth.copy()
        status = np.zeros(truth.shape, dtype=np.uint32)
        for col, (gi, ui) in self.eng._measured:
            values[:, col] = groups[gi]["value"][:, ui]
            status[:, col] = groups[gi]["status"][:, ui].astype(np.uint32)
        return values, status


def _write(g: Group, outs: Mapping[str, F64], scal: F64, vec: F64) -> None:
    for port, slots in g.outputs.items():
        if port in outs:
            if slots.size and outs[port].ndim == 3:
                vec[:, slots, :] = outs[port]
            else:
                scal[:, slots] = outs[port]


def _gather(g: Group, scal: F64, vec: F64) -> dict[str, F64]:
    out: dict[str, F64] = {}
    for p in g.spec.ports:
        if p.direction is Direction.IN:
            slots = g.inputs[p.name]
            out[p.name] = vec[:, slots, :] if p.quantity in VECTOR_QUANTITIES else scal[:, slots]
    return out
