"""A compiled plan flattened for the engine: one state vector, and the arrays ``fast.advance`` reads.

``Layout`` places every group's state arrays in one contiguous float64 vector (group after group,
variable after variable, each (N, U, *extra)); a step copies that vector once. ``Program`` holds the
constant arrays of the compiled tick (see ``plc_emulator.engine.fast._tick``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from plc_emulator.engine.blocks import Direction, _rng
from plc_emulator.engine.plant._plan import VECTOR_QUANTITIES, Plan
from plc_emulator.engine.types import F64

__all__ = ["Layout", "Program", "build_program"]

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each group's state arrays live in the flat state vector, and its port slots."""

    n: int
    size: int
    states: tuple[tuple[tuple[str, int, tuple[int, ...]], ...], ...]  # per group: (name, offset, shape)
    ports: tuple[tuple[tuple[str, bool, npt.NDArray[np.intp]], ...], ...]  # per group: (port, vector?, slots)

    @classmethod
    def of(cls, plan: Plan) -> Layout:
        off, states, ports = 0, [], []
        for g in plan.groups:
            per = []
            for v in g.spec.states:
                shape = (plan.n, len(g.units), *v.extra)
                per.append((v.name, off, shape))
                off += math.prod(shape)
            states.append(tuple(per))
            ports.append(tuple((p.name, p.quantity in VECTOR_QUANTITIES,
                                g.inputs[p.name] if p.direction is Direction.IN else g.outputs[p.name])
                               for p in g.spec.ports))
        return cls(n=plan.n, size=off, states=tuple(states), ports=tuple(ports))

    def views(self, flat: F64) -> list[dict[str, F64]]:
        return [{name: flat[o:o + math.prod(shape)].reshape(shape) for name, o, shape in g} for g in self.states]

    def flatten(self, groups: Sequence[Mapping[str, F64]]) -> F64:
        flat = np.zeros(self.size)
        for views, st in zip(self.views(flat), groups, strict=True):
            for name, arr in views.items():
                arr[...] = st[name]
        return flat

    def gather(self, scal: F64, vec: F64) -> list[dict[str, F64]]:
        """Per group, the values of all its ports (inputs and outputs) in ``scal``/``vec``."""
        return [{name: (vec[:, slots, :] if is_vec else scal[:, slots]) for name, is_vec, slots in g}
                for g in self.ports]


class Program(NamedTuple):
    """The constant arrays of ``fast.advance``, in its argument order."""

    kinds: I64
    units: I64
    npar: I64
    prow: I64  # rows stored per group: 1 when every row has the same parameters, else N
    nst: I64
    p_flat: F64
    p_off: I64
    s_off: I64
    idx_flat: I64
    idx_off: I64
    nports: I64
    sig_flat: I64
    sig_off: I64
    nsig: I64
    base_flat: _rng.U64
    ubase: I64
    tx_flat: I64
    cond_ptr: I64
    cond_col: I64
    cond_above: F64
    cond_below: F64
    meas_col: I64
    meas_g: I64
    meas_u: I64
    alias_dst: I64  # a block signal published under a second name: truth[:, dst] = truth[:, src]
    alias_src: I64


def _i64(x: Sequence[int]) -> I64:
    return np.ascontiguousarray(np.array(x, dtype=np.int64))


def build_program(plan: Plan, layout: Layout, kinds: Sequence[str], bases: Sequence[_rng.U64], *,
                  signal_cols: Sequence[Mapping[str, Mapping[int, Sequence[int]]]],
                  tx_cols: Mapping[tuple[int, int], int],
                  conditions: Mapping[tuple[int, int], Sequence[tuple[int, float | None, float | None]]],
                  measured: Sequence[tuple[int, tuple[int, int]]]) -> Program:
    """``signal_cols[g][signal][unit]`` = truth columns (the first computed, the others copied);
    ``tx_cols[(g, u)]`` = a transmitter's true value column; ``conditions[(g, u)]`` = an interlock's
    (column, above, below) trips."""
    n, p_parts, p_off, prow, idx_parts, idx_off, sig_parts, sig_off = plan.n, [], [], [], [], [], [], []
    ubase, tx, cond_ptr, cond_col, cond_above, cond_below = [], [], [0], [], [], []
    aliases: list[tuple[int, int]] = []
    pos = ipos = spos = unit = 0
    for gi, g in enumerate(plan.groups):
        spec, units = g.spec, len(g.units)
        p = np.stack([g.params[q.name] for q in spec.params]) if spec.params else np.zeros((0, n, units))
        if np.array_equal(p, np.broadcast_to(p[:, :1, :], p.shape)):
            p = p[:, :1, :]
        prow.append(p.shape[1])
        p_parts.append(p.ravel())
        p_off.append(pos)
        pos += p.size
        idx = np.array([slots for _, _, slots in layout.ports[gi]], dtype=np.int64).reshape(len(spec.ports), units)
        idx_parts.append(idx.ravel())
        idx_off.append(ipos)
        ipos += idx.size
        sig = np.full((len(spec.signals), units), -1, dtype=np.int64)
        for j, s in enumerate(spec.signals):
            for u, cs in signal_cols[gi].get(s.name, {}).items():
                sig[j, u] = cs[0]
                aliases += [(c, cs[0]) for c in cs[1:]]
        sig_parts.append(sig.ravel())
        sig_off.append(spos)
        spos += sig.size
        ubase.append(unit)
        for u in range(units):
            tx.append(tx_cols.get((gi, u), 0))
            for col, above, below in conditions.get((gi, u), ()):
                cond_col.append(col)
                cond_above.append(math.nan if above is None else above)
                cond_below.append(math.nan if below is None else below)
            cond_ptr.append(len(cond_col))
        unit += units
    empty_i = np.zeros(0, dtype=np.int64)
    return Program(
        kinds=_i64(kinds_codes(plan, kinds)), units=_i64([len(g.units) for g in plan.groups]),
        npar=_i64([len(g.spec.params) for g in plan.groups]), prow=_i64(prow),
        nst=_i64([len(g.spec.states) for g in plan.groups]),
        p_flat=np.ascontiguousarray(np.concatenate(p_parts)), p_off=_i64(p_off),
        s_off=_i64([g[0][1] if g else 0 for g in layout.states]),
        idx_flat=np.concatenate(idx_parts) if idx_parts else empty_i, idx_off=_i64(idx_off),
        nports=_i64([len(g.spec.ports) for g in plan.groups]),
        sig_flat=np.concatenate(sig_parts) if sig_parts else empty_i, sig_off=_i64(sig_off),
        nsig=_i64([len(g.spec.signals) for g in plan.groups]),
        base_flat=np.ascontiguousarray(np.concatenate([b.ravel() for b in bases])), ubase=_i64(ubase),
        tx_flat=_i64(tx), cond_ptr=_i64(cond_ptr), cond_col=_i64(cond_col),
        cond_above=np.array(cond_above, dtype=np.float64), cond_below=np.array(cond_below, dtype=np.float64),
        meas_col=_i64([c for c, _ in measured]), meas_g=_i64([loc[0] for _, loc in measured]),
        meas_u=_i64([loc[1] for _, loc in measured]), alias_dst=_i64([d for d, _ in aliases]),
        alias_src=_i64([c for _, c in aliases]))


def kinds_codes(plan: Plan, kinds: Sequence[str]) -> list[int]:
    return [kinds.index(g.kind) for g in plan.groups]
