"""Validated graph -> evaluation plan over contiguous arrays, blocks of one kind grouped together.

Units are levelled by direct feedthrough (a unit comes after every unit whose output it passes
straight through in the same tick); a group is all units of one kind on one level, so the number of
groups - and of calls per tick - grows with the block kinds, not the units. Port values live in two
contiguous buffers: scalars ``(N, S)`` and 4-vectors ``(N, V, 4)`` (streams, sources); a group reads
its inputs and writes its outputs by index arrays into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plc_emulator.engine.blocks import (
    LIBRARY,
    STATE_FORMAT_VERSION,
    BlockSpec,
    Quantity,
    StateError,
    initial_state,
    pack_state,
    resolve_params,
    unpack_state,
)
from plc_emulator.engine.plant._graph import Graph
from plc_emulator.engine.plant._model import PlantError
from plc_emulator.engine.plant._signals import SignalRef
from plc_emulator.engine.types import F64

__all__ = ["VECTOR_QUANTITIES", "Group", "Plan", "compile_plan"]

VECTOR_QUANTITIES = frozenset({Quantity.STREAM, Quantity.SOURCE})
IDX = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """All units of one block kind on one feedthrough level."""

    kind: str
    level: int
    units: tuple[str, ...]
    params: Mapping[str, F64]  # (N, U) per parameter
    inputs: Mapping[str, IDX]  # port -> (U,) slot in the scalar or vector buffer
    outputs: Mapping[str, IDX]

    @property
    def spec(self) -> BlockSpec:
        return LIBRARY[self.kind]


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    name: str
    n: int
    groups: tuple[Group, ...]
    n_scalar: int  # scalar port slots; the last ones are the idle values of unconnected inputs
    n_vector: int
    idle_scalar: F64  # (n_scalar,) initial content of the scalar buffer
    signals: Mapping[str, SignalRef]

    def initial_states(self, graph: Graph) -> list[dict[str, F64]]:
        """Per group, its state arrays (N, U, *extra) at their initial values."""
        out: list[dict[str, F64]] = []
        for g in self.groups:
            per_unit = []
            for name in g.units:
                u = graph.units[name]
                params = resolve_params(g.spec.params, u.params, self.n)
                init = resolve_params(g.spec.initial, u.initial, self.n)
                per_unit.append(initial_state(g.spec, params, init, self.n))
            out.append({s.name: np.stack([pu[s.name] for pu in per_unit], axis=1) for s in g.spec.states})
        return out

    def pack(self, states: list[dict[str, F64]]) -> dict[str, np.ndarray]:
        """One versioned array dict for the whole plant (``np.savez``-ready)."""
        out: dict[str, np.ndarray] = {"_version": np.array(STATE_FORMAT_VERSION), "_plant": np.array(self.name)}
        for i, (g, st) in enumerate(zip(self.groups, states, strict=True)):
            for k, v in pack_state(g.spec, st).items():
                out[f"g{i}.{k}"] = v
            out[f"g{i}._units"] = np.array(g.units)
        return out

    def unpack(self, arrays: Mapping[str, np.ndarray]) -> list[dict[str, F64]]:
        if int(arrays.get("_version", np.array(-1))) != STATE_FORMAT_VERSION:
            raise StateError(f"plant state format version, expected {STATE_FORMAT_VERSION}")
        out = []
        for i, g in enumerate(self.groups):
            units = tuple(str(u) for u in arrays.get(f"g{i}._units", np.array([])))
            if units != g.units:
                raise StateError(f"group {i} ({g.kind}) holds units {units}, expected {g.units}")
            sub = {k[len(f"g{i}."):]: v for k, v in arrays.items()
                   if k.startswith(f"g{i}.") and k != f"g{i}._units"}
            out.append(unpack_state(g.spec, sub, self.n, units=(len(g.units),)))
        return out


def _levels(graph: Graph) -> dict[str, int]:
    """Longest chain of same-tick dependencies ending at each unit: B waits for A only where a
    feedthrough output of A feeds an input that B passes straight through. Outputs computed from
    state are available to everyone at the start of the tick (so a header between two valves is
    not a cycle even though each passes something of the other through)."""
    feeds: dict[str, set[str]] = {u: set() for u in graph.units}
    for c in graph.connections:
        src_port = graph.spec(c.src).port(c.src_port)
        dst_spec = graph.spec(c.dst)
        if src_port is not None and src_port.depends and any(c.dst_port in p.depends for p in dst_spec.outputs()):
            feeds[c.dst].add(c.src)
    level: dict[str, int] = {}
    for _ in range(len(feeds) + 1):  # relaxation; the graph has no algebraic loop, so it settles
        changed = False
        for u, srcs in feeds.items():
            new = 1 + max((level.get(s, 0) for s in srcs), default=-1)
            if level.get(u) != new:
                level[u], changed = new, True
        if not changed:
            break
    return level


def _resolve(graph: Graph, name: str, n: int) -> dict[str, F64]:
    """Per-row parameters of one unit; a list whose length is not ``n`` is a plant-file problem."""
    u = graph.units[name]
    spec = LIBRARY[u.block]
    bad = [(k, len(v)) for k, v in u.params.items() if isinstance(v, tuple) and len(v) not in (1, n)]
    if bad:
        lines = []
        for k, count in bad:
            at = u.param_where.get(k, u.where)
            lines.append(f"{graph.file}:{at.line}:{at.col}: units.{name}.params.{k}: {count} values for a batch "
                         f"of {n} plants (give one value, or one per plant)")
        raise PlantError(lines)
    return resolve_params(spec.params, {k: (v[0] if isinstance(v, tuple) and len(v) == 1 else v)
                                        for k, v in u.params.items()}, n)


def compile_plan(graph: Graph, *, n: int = 1) -> Plan:
    if n < 1:
        raise ValueError(f"n must be >= 1 (got {n})")
    level = _levels(graph)
    slots: dict[tuple[str, str], int] = {}
    counts = {False: 0, True: 0}
    keys = sorted({(level[u], graph.units[u].block) for u in graph.units})
    order = [(lv, kind, tuple(sorted(u for u in graph.units if level[u] == lv and graph.units[u].block == kind)))
             for lv, kind in keys]
    for _, kind, units in order:
        for p in LIBRARY[kind].outputs():
            vec = p.quantity in VECTOR_QUANTITIES
            for u in units:
                slots[(u, p.name)] = counts[vec]
                counts[vec] += 1
    src = {(c.dst, c.dst_port): slots[(c.src, c.src_port)] for c in graph.connections}
    idle: list[float] = []
    groups = []
    for lv, kind, units in order:
        spec = LIBRARY[kind]
        inputs: dict[str, IDX] = {}
        for p in spec.inputs():
            vec = p.quantity in VECTOR_QUANTITIES
            idx = []
            for u in units:
                if (u, p.name) in src:
                    idx.append(src[(u, p.name)])
                else:  # unconnected optional input: its own idle slot (a zero stream for vectors)
                    idx.append(counts[vec])
                    counts[vec] += 1
                    if not vec:
                        idle.append(p.idle)
            inputs[p.name] = np.array(idx, dtype=np.intp)
        outputs = {p.name: np.array([slots[(u, p.name)] for u in units], dtype=np.intp) for p in spec.outputs()}
        per = [_resolve(graph, u, n) for u in units]
        params = {p.name: np.stack([x[p.name] for x in per], axis=1) for p in spec.params}
        groups.append(Group(kind=kind, level=lv, units=units, params=params, inputs=inputs, outputs=outputs))
    n_out_scalar = counts[False] - len(idle)
    idle_scalar = np.concatenate([np.zeros(n_out_scalar), np.array(idle, dtype=np.float64)])
    return Plan(name=graph.name, n=n, groups=tuple(groups), n_scalar=counts[False], n_vector=counts[True],
                idle_scalar=idle_scalar, signals=graph.signals)

