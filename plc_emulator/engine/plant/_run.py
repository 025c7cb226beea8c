"""Run a compiled plan: one pure, fixed-step function of (state, commands) for N plants at once.

One tick: commands (the port values are recomputed if any applied) -> every group's state update
from the port values of the tick start (transmitters read the true values of the tick start,
interlocks test their conditions on them) -> port values of the new state: outputs from state, then
feedthrough outputs in level order -> signals (true values) -> published values, where measured
signals are the transmitters' readings. The port values are kept with the state for the next tick.

Two paths with the same order of evaluation: when every block kind of the plant has a compiled
kernel (``plc_emulator.engine.fast.KINDS``) a tick is ONE compiled call over a flat state vector;
otherwise each group's numpy ``Kernel`` is called in turn (user-written kinds need no compiler).
Random draws are counter-based per (row seed, unit, tick), so both paths draw the same numbers and
a plant row gives the same bits at N = 1 and inside any batch (``row_seeds``).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from plc_emulator.commands import Command
from plc_emulator.engine.blocks import KERNELS, Context, _rng
from plc_emulator.engine.plant._api import LoadedPlant
from plc_emulator.engine.plant._commands import CommandTable, apply_plant_commands
from plc_emulator.engine.plant._fast import Layout, Program, build_program
from plc_emulator.engine.plant._numpy import NumpyTick
from plc_emulator.engine.plant._plan import VECTOR_QUANTITIES, compile_plan
from plc_emulator.engine.types import F64, U32, GroundTruthEvent, Outputs

__all__ = ["PlantEngine", "PlantState"]


class _Buffers(NamedTuple):
    flat: F64
    scal: F64
    vec: F64
    truth: F64
    values: F64
    status: U32


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantState:
    tick: int
    flat: F64  # every group's state arrays, laid out by ``layout`` (read-only)
    scal: F64  # (N, S) scalar port values of this state
    vec: F64  # (N, V, 4) stream/source port values of this state
    truth: F64  # (N, S) true values of this tick, in ``PlantEngine.names`` order
    values: F64  # (N, S) published values (measured signals: the transmitter readings)
    status: U32  # (N, S) OPC UA StatusCodes
    layout: Layout = field(repr=False, compare=False)
    private: tuple[dict[str, F64], ...] | None = field(default=None, repr=False, compare=False)  # numpy path

    @property
    def n(self) -> int:
        return int(self.truth.shape[0])

    @property
    def groups(self) -> tuple[dict[str, F64], ...]:
        """Per plan group: its state arrays (N, U, *extra), read-only views."""
        views = self.layout.views(self.flat)
        for g in views:
            for a in g.values():
                a.flags.writeable = False
        return tuple(views)

    @property
    def inputs(self) -> tuple[dict[str, F64], ...]:
        """Per plan group: the values of its ports in this state."""
        if self.private is not None:
            return self.private
        return tuple(self.layout.gather(self.scal, self.vec))


class PlantEngine:
    """The engine of a plant file. ``outputs`` are in the order of ``names`` (the plant's signals).

    ``row_seeds`` (one per row) default to ``seed, seed + 1, ...``; ``compiled=False`` forces the
    numpy path (``None``: compiled when every kind has a compiled kernel)."""

    def __init__(self, plant: LoadedPlant, *, dt: float = 0.1, seed: int = 0, n: int = 1, epoch: float = 0.0,
                 row_seeds: Sequence[int] | None = None, compiled: bool | None = None) -> None:
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt must be > 0 (got {dt!r})")
        if row_seeds is not None and len(row_seeds) != n:
            raise ValueError(f"row_seeds: {len(row_seeds)} seeds for n = {n}")
        self.graph = plant.graph
        self.plan = compile_plan(plant.graph, n=n)
        self.dt, self.seed, self.n, self.epoch = float(dt), int(seed), int(n), float(epoch)
        self.kernels = tuple(KERNELS[g.kind] for g in self.plan.groups)
        self.names = tuple(self.plan.signals)
        self.column = {name: k for k, name in enumerate(self.names)}
        where = {u: (gi, ui) for gi, g in enumerate(self.plan.groups) for ui, u in enumerate(g.units)}
        self.where = where
        self.layout = Layout.of(self.plan)
        seeds = (np.array([s % 2**64 for s in row_seeds], dtype=np.uint64) if row_seeds is not None
                 else _rng.row_seeds(self.seed, self.n))
        self.row_seeds = seeds
        self.bases = tuple(_rng.bases(seeds, _rng.unit_keys(g.units)) for g in self.plan.groups)
        cols: list[dict[str, dict[int, list[int]]]] = [{} for _ in self.plan.groups]
        for k, r in enumerate(self.plan.signals.values()):  # a block signal may be published under two names
            gi, ui = where[r.unit]
            cols[gi].setdefault(r.source, {}).setdefault(ui, []).append(k)
        measured = [(k, where[r.instrument]) for k, r in enumerate(self.plan.signals.values())
                    if r.instrument is not None]
        tx_truth = {where[r.instrument]: k for k, r in enumerate(self.plan.signals.values())
                    if r.instrument is not None}
        conditions = {where[lock]: [(self.column[sig], lo, hi) for sig, lo, hi in conds]
                      for lock, conds in self.graph.conditions.items()}
        self._measured = measured
        self.commands = CommandTable.build(self)
        from plc_emulator.engine import fast

        missing = sorted({g.kind for g in self.plan.groups} - fast.compiled_kinds())
        can = not missing
        if compiled and not can:
            raise ValueError("compiled=True: kinds without a compiled kernel: " + ", ".join(missing))
        self.compiled = can if compiled is None else bool(compiled)
        self._program: Program | None = None
        self._numpy = NumpyTick(self, cols, tx_truth, conditions)
        if self.compiled:
            self._program = build_program(self.plan, self.layout, fast.KINDS, self.bases, signal_cols=cols,
                                          tx_cols=tx_truth, conditions=conditions, measured=measured)
            units = int(self._program.units.sum())
            outs = [(slots, g.spec.ports[[q.name for q in g.spec.ports].index(name)].quantity in VECTOR_QUANTITIES)
                    for g in self.plan.groups for name, slots in g.outputs.items() if slots.size]
            self._out_scalar = 1 + max((int(s.max()) for s, v in outs if not v), default=-1)
            self._out_vector = 1 + max((int(s.max()) for s, v in outs if v), default=-1)
            self._ev = np.zeros((3 * self.n * units + 16, 4), dtype=np.int64)

    # --- public API ------------------------------------------------------------------------------
    def initial_state(self) -> PlantState:
        groups = self.plan.initial_states(self.graph)
        for gi, (g, k, st) in enumerate(zip(self.plan.groups, self.kernels, groups, strict=True)):
            if k.init is not None:
                ctx = self._context(0, base=self.bases[gi], units=g.units)
                st.update(k.init(g.params, st, ctx))
        flat = self.layout.flatten(groups)
        state = self._ports(0, flat)
        # transmitters start on the true value (a plant powered up before the PLC), quality Good
        views = self.layout.views(flat)
        for col, (gi, ui) in self._measured:
            views[gi]["value"][:, ui] = state.truth[:, col]
        return self._ports(0, flat)

    def step(self, state: PlantState, commands: Sequence[Command] = ()) -> tuple[PlantState, list[GroundTruthEvent]]:
        """Advance one tick; ``commands`` apply at its start, in order. ``state`` is not mutated."""
        return self._step(state, commands, None)

    def run(self, state: PlantState, ticks: int,
            schedule: dict[int, list[Command]] | None = None) -> tuple[PlantState, list[GroundTruthEvent]]:
        """``ticks`` steps. The compiled path alternates between two sets of arrays for the states in
        between (never returned, never the input's): fresh arrays every tick cost more in page faults
        than the tick itself at N = 1000."""
        events: list[GroundTruthEvent] = []
        sched = schedule or {}
        pool = (self._alloc(), self._alloc()) if self._program is not None and ticks > 1 else None
        for i in range(int(ticks)):
            state, ev = self._step(state, sched.get(state.tick + 1, ()), None if pool is None else pool[i % 2])
            events += ev
        return state, events

    def outputs(self, state: PlantState) -> Outputs:
        return Outputs(values=state.values, status=state.status, truth=state.truth)

    def saved(self, state: PlantState) -> dict[str, F64 | U32]:
        """The arrays that determine ``state`` (checkpoints; ``np.savez``-ready): there is no
        generator state, every draw is keyed by (row seed, unit, tick, stream)."""
        return {"flat": state.flat.copy(), "scal": state.scal.copy(), "vec": state.vec.copy(),
                "truth": state.truth.copy(), "values": state.values.copy(), "status": state.status.copy()}

    def restored(self, tick: int, arrays: Mapping[str, F64 | U32]) -> PlantState:
        """The state ``saved`` was taken from at ``tick``. The numpy path's per-group port values and
        private results are a function of the flat state and the tick, so they are recomputed."""
        flat = np.array(arrays["flat"], dtype=np.float64)
        if self._program is None:
            return self._numpy.ports(tick, flat)
        return PlantState(tick=tick, flat=flat, scal=np.array(arrays["scal"], dtype=np.float64),
                          vec=np.array(arrays["vec"], dtype=np.float64),
                          truth=np.array(arrays["truth"], dtype=np.float64),
                          values=np.array(arrays["values"], dtype=np.float64),
                          status=np.array(arrays["status"], dtype=np.uint32), layout=self.layout)

    # --- one tick ------------------------------------------------------------------------------
    def _step(self, state: PlantState, commands: Sequence[Command], out: _Buffers | None
              ) -> tuple[PlantState, list[GroundTruthEvent]]:
        tick = state.tick + 1
        if out is None:
            flat = state.flat.copy()
        else:
            flat = out.flat
            np.copyto(flat, state.flat)
        events: list[GroundTruthEvent] = []
        start = state
        if commands:
            ctx = self._context(tick)
            apply_plant_commands(self, self.layout.views(flat), state, commands, ctx)
            events += ctx.events
            start = self._ports(tick, flat)
        if self._program is None:
            new, ev = self._numpy.step(start, flat, tick, state.truth)
        else:
            new, ev = self._call(True, tick, out or self._alloc(flat), start=start, truth_prev=state.truth)
        return new, events + ev

    def _context(self, tick: int, *, base: _rng.U64 | None = None, units: tuple[str, ...] = (),
                 rng: np.random.Generator | None = None) -> Context:
        # ctx.rng is only for user-written kinds that draw from it directly (their draws then depend on
        # the batch; ctx.uniform/ctx.normal do not): by default a generator of (seed, tick, units)
        if rng is None:
            rng = np.random.default_rng([self.seed % 2**32, tick, *(zlib.crc32(u.encode()) for u in units)])
        return Context(tick=tick, dt=self.dt, t=self.epoch + tick * self.dt, sim_s=tick * self.dt,
                       rng=rng, base=base, units=units)

    def _ctx_array(self, tick: int) -> F64:
        return np.array([self.dt, self.epoch + tick * self.dt, tick * self.dt, (tick - 1) * self.dt, float(tick)])

    def _ports(self, tick: int, flat: F64) -> PlantState:
        """The state of ``flat`` at ``tick``: its port values, signals and published values."""
        if self._program is None:
            return self._numpy.ports(tick, flat)
        out = self._alloc(flat)
        return self._call(False, tick, out, start=None, truth_prev=out.truth)[0]

    def _alloc(self, flat: F64 | None = None) -> _Buffers:
        """Arrays for a state: output port slots are all written by the tick; the idle slots after
        them hold the idle values of unconnected inputs (scalars) or zero streams (vectors)."""
        scal = np.empty((self.n, self.plan.n_scalar))
        scal[:, self._out_scalar:] = self.plan.idle_scalar[self._out_scalar:]
        vec = np.empty((self.n, self.plan.n_vector, 4))
        vec[:, self._out_vector:, :] = 0.0
        truth = np.zeros((self.n, len(self.names)))
        return _Buffers(flat=np.empty(self.layout.size) if flat is None else flat, scal=scal, vec=vec, truth=truth,
                        values=np.empty_like(truth), status=np.empty(truth.shape, dtype=np.uint32))

    def _call(self, update: bool, tick: int, out: _Buffers, *, start: PlantState | None, truth_prev: F64
              ) -> tuple[PlantState, list[GroundTruthEvent]]:
        from plc_emulator.engine.fast import advance
        from plc_emulator.engine.fast._common import EVENTS

        assert self._program is not None
        flat, scal, vec, truth, values, status = out
        scal_prev, vec_prev = (scal, vec) if start is None else (start.scal, start.vec)
        nev = np.zeros(1, dtype=np.int64)
        advance(update, self.n, *self._program, flat, self._ctx_array(tick), truth_prev, scal_prev, vec_prev, scal,
                vec, truth, values, status, self._ev, nev)
        events = []
        for code, row, u, g in self._ev[:int(nev[0])]:
            kind, params = EVENTS[code]
            events.append(GroundTruthEvent(tick=tick, plant=int(row), kind=kind,
                                           target=self.plan.groups[g].units[u], params=dict(params)))
        return PlantState(tick=tick, flat=flat, scal=scal, vec=vec, truth=truth, values=values, status=status,
                          layout=self.layout), events
