"""Run a compiled plan: one pure, fixed-step function of (state, commands) for N plants at once.

One tick: commands (the port values are recomputed if any applied) -> every group's state update
from the port values of the tick start (transmitters read the true values of the tick start,
interlocks test their conditions on them) -> port values of the new state: outputs from state, then
feedthrough outputs in level order -> signals (true values) -> published values, where measured
signals are the transmitters' readings. The port values are kept with the state for the next tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plc_emulator.commands import Command
from plc_emulator.engine.blocks import KERNELS, Context, Direction
from plc_emulator.engine.plant._api import LoadedPlant
from plc_emulator.engine.plant._commands import CommandTable, apply_plant_commands
from plc_emulator.engine.plant._plan import VECTOR_QUANTITIES, Group, compile_plan
from plc_emulator.engine.types import F64, U32, GroundTruthEvent, Outputs, copy_rng

__all__ = ["PlantEngine", "PlantState"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantState:
    tick: int
    rng: np.random.Generator
    groups: tuple[dict[str, F64], ...]  # per plan group: state arrays (N, U, *extra)
    inputs: tuple[dict[str, F64], ...]  # per plan group: its port values (and private results) of the state
    truth: F64  # (N, S) true values of this tick, in ``PlantEngine.names`` order
    values: F64  # (N, S) published values (measured signals: the transmitter readings)
    status: U32  # (N, S) OPC UA StatusCodes

    @property
    def n(self) -> int:
        return int(self.truth.shape[0])


class PlantEngine:
    """The engine of a plant file. ``outputs`` are in the order of ``names`` (the plant's signals)."""

    def __init__(self, plant: LoadedPlant, *, dt: float = 0.1, seed: int = 0, n: int = 1,
                 epoch: float = 0.0) -> None:
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt must be > 0 (got {dt!r})")
        self.graph = plant.graph
        self.plan = compile_plan(plant.graph, n=n)
        self.dt, self.seed, self.n, self.epoch = float(dt), int(seed), int(n), float(epoch)
        self.kernels = tuple(KERNELS[g.kind] for g in self.plan.groups)
        self.names = tuple(self.plan.signals)
        self.column = {name: k for k, name in enumerate(self.names)}
        where = {u: (gi, ui) for gi, g in enumerate(self.plan.groups) for ui, u in enumerate(g.units)}
        self.where = where
        # signal column -> (group, unit, block signal); measured columns -> transmitter (group, unit)
        by_source: dict[tuple[int, str], tuple[list[int], list[int]]] = {}
        for k, r in enumerate(self.plan.signals.values()):
            cols, uis = by_source.setdefault((where[r.unit][0], r.source), ([], []))
            cols.append(k)
            uis.append(where[r.unit][1])
        # one fancy-indexed copy per (group, block signal) instead of one per signal
        self._sources = [(gi, source, np.array(c, dtype=np.intp), np.array(u, dtype=np.intp))
                         for (gi, source), (c, u) in by_source.items()]
        self._measured = [(k, where[r.instrument]) for k, r in enumerate(self.plan.signals.values())
                          if r.instrument is not None]
        self._tx_truth = {where[r.instrument]: k for k, r in enumerate(self.plan.signals.values())
                          if r.instrument is not None}
        self._conditions = {where[lock]: [(self.column[sig], lo, hi) for sig, lo, hi in conds]
                            for lock, conds in self.graph.conditions.items()}
        self.commands = CommandTable.build(self)

    # --- public API ------------------------------------------------------------------------------
    def initial_state(self) -> PlantState:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed)))
        groups = self.plan.initial_states(self.graph)
        for g, k, st in zip(self.plan.groups, self.kernels, groups, strict=True):
            if k.init is not None:
                st.update(k.init(g.params, st, rng))
        ctx = Context(tick=0, dt=self.dt, t=self.epoch, sim_s=0.0, rng=rng)
        inputs, truth = self._ports(groups, ctx)
        # transmitters start on the true value (a plant powered up before the PLC), quality Good
        for col, (gi, ui) in self._measured:
            groups[gi]["value"][:, ui] = truth[:, col]
        inputs, truth = self._ports(groups, ctx)
        values, status = self._publish(groups, truth)
        return PlantState(tick=0, rng=rng, groups=tuple(groups), inputs=tuple(inputs), truth=truth, values=values,
                          status=status)

    def step(self, state: PlantState, commands: Sequence[Command] = ()) -> tuple[PlantState, list[GroundTruthEvent]]:
        """Advance one tick; ``commands`` apply at its start, in order. ``state`` is not mutated."""
        tick = state.tick + 1
        rng = copy_rng(state.rng)
        ctx = Context(tick=tick, dt=self.dt, t=self.epoch + tick * self.dt, sim_s=tick * self.dt, rng=rng)
        groups = [dict(st) for st in state.groups]
        inputs = list(state.inputs)
        if commands:
            apply_plant_commands(self, groups, state, commands, ctx)
            inputs = self._ports(groups, ctx)[0]
        for gi, (g, k, st) in enumerate(zip(self.plan.groups, self.kernels, groups, strict=True)):
            ctx.units = g.units
            extra = self._special(gi, g.kind, state.truth)
            groups[gi] = {**st, **k.update(g.params, st, {**inputs[gi], **extra}, ctx)}
        new_inputs, truth = self._ports(groups, ctx)
        values, status = self._publish(groups, truth)
        return PlantState(tick=tick, rng=rng, groups=tuple(groups), inputs=tuple(new_inputs), truth=truth,
                          values=values, status=status), ctx.events

    def run(self, state: PlantState, ticks: int,
            schedule: dict[int, list[Command]] | None = None) -> tuple[PlantState, list[GroundTruthEvent]]:
        events: list[GroundTruthEvent] = []
        sched = schedule or {}
        for _ in range(int(ticks)):
            state, ev = self.step(state, sched.get(state.tick + 1, ()))
            events += ev
        return state, events

    def outputs(self, state: PlantState) -> Outputs:
        return Outputs(values=state.values, status=state.status, truth=state.truth)

    # --- one tick ------------------------------------------------------------------------------
    def _ports(self, groups: list[dict[str, F64]], ctx: Context) -> tuple[list[dict[str, F64]], F64]:
        """Every group's port values (inputs and own outputs) of ``groups``' state, and the signals."""
        scal = np.tile(self.plan.idle_scalar, (self.n, 1))
        vec = np.zeros((self.n, self.plan.n_vector, 4))
        own: list[dict[str, F64]] = []
        for g, k, st in zip(self.plan.groups, self.kernels, groups, strict=True):
            o = k.out(g.params, st, ctx)
            self._write(g, o, scal, vec)
            own.append(dict(o))
        for gi, (g, k, st) in enumerate(zip(self.plan.groups, self.kernels, groups, strict=True)):
            if k.feed is not None:
                f = k.feed(g.params, st, {**self._gather(g, scal, vec), **own[gi]}, ctx)
                self._write(g, f, scal, vec)
                own[gi].update(f)
        inputs = [{**self._gather(g, scal, vec), **own[gi]} for gi, g in enumerate(self.plan.groups)]
        return inputs, self._signals(groups, inputs, ctx)

    def _write(self, g: Group, outs: dict[str, F64], scal: F64, vec: F64) -> None:
        for port, slots in g.outputs.items():
            if port in outs:
                if slots.size and outs[port].ndim == 3:
                    vec[:, slots, :] = outs[port]
                else:
                    scal[:, slots] = outs[port]

    def _gather(self, g: Group, scal: F64, vec: F64) -> dict[str, F64]:
        out: dict[str, F64] = {}
        for p in g.spec.ports:
            if p.direction is Direction.IN:
                slots = g.inputs[p.name]
                out[p.name] = vec[:, slots, :] if p.quantity in VECTOR_QUANTITIES else scal[:, slots]
        return out

    def _signals(self, groups: list[dict[str, F64]], inputs: list[dict[str, F64]], ctx: Context) -> F64:
        per = [k.signals(g.params, st, i, ctx) for g, k, st, i in
               zip(self.plan.groups, self.kernels, groups, inputs, strict=True)]
        truth = np.zeros((self.n, len(self.names)))
        for gi, source, cols, uis in self._sources:
            if source in per[gi]:
                truth[:, cols] = per[gi][source][:, uis]
        return truth

    def _special(self, gi: int, kind: str, truth: F64) -> dict[str, F64]:
        """Transmitters read their true value; interlocks their trip conditions."""
        g = self.plan.groups[gi]
        if kind == "transmitter":
            cols = [self._tx_truth.get((gi, ui), 0) for ui in range(len(g.units))]
            return {"_truth": truth[:, cols]}
        if kind == "interlock":
            cause = np.zeros((self.n, len(g.units)))
            first = np.zeros((self.n, len(g.units)))
            for ui in range(len(g.units)):
                for c, (col, above, below) in enumerate(self._conditions.get((gi, ui), [])):
                    hit = np.zeros(self.n, dtype=bool)
                    if above is not None:
                        hit |= truth[:, col] > above
                    if below is not None:
                        hit |= truth[:, col] < below
                    first[:, ui] = np.where(hit & (cause[:, ui] < 0.5), c + 1.0, first[:, ui])
                    cause[:, ui] = np.maximum(cause[:, ui], hit)
            return {"_cause": cause, "_first": first}
        return {}

    def _publish(self, groups: list[dict[str, F64]], truth: F64) -> tuple[F64, U32]:
        values = truth.copy()
        status = np.zeros(truth.shape, dtype=np.uint32)
        for col, (gi, ui) in self._measured:
            values[:, col] = groups[gi]["value"][:, ui]
            status[:, col] = groups[gi]["status"][:, ui].astype(np.uint32)
        return values, status


