"""One compiled call per tick: every group's update, outputs, feedthrough and signals, then publish.

``advance`` runs over a plan flattened into arrays (``plc_emulator.engine.plant._fast`` builds
them): group g's parameters are ``p_flat[p_off[g]:]`` viewed as (params, N, U), its states likewise
in ``s_flat``; its port slots and signal columns are (ports, U) / (signals, U) blocks of ``idx_flat``
and ``sig_flat``. The kind code of a group selects its kernel (``KINDS`` order). Rows never interact,
so the tick runs block by block of ``BLOCK`` rows: update, outputs, feedthrough, signals, publish.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from plc_emulator.engine.fast._common import FEED, OUT, SIGNALS, UPDATE
from plc_emulator.engine.fast._control import interlock, pid, transmitter
from plc_emulator.engine.fast._flow import control_valve, header, separator
from plc_emulator.engine.fast._heat import ambient, boundary, heat_exchanger
from plc_emulator.engine.fast._pump import pump
from plc_emulator.engine.fast._reactor import cstr
from plc_emulator.engine.fast._well import well

__all__ = ["BLOCK", "KINDS", "advance", "call"]

BLOCK = 32  # rows per block: every phase of a block runs while its rows' arrays are in cache

KINDS: tuple[str, ...] = ("ambient", "pressure_boundary", "heat_exchanger", "separator", "control_valve", "pid",
                          "transmitter", "interlock", "well", "pump", "header", "cstr")
_TX, _LOCK = KINDS.index("transmitter"), KINDS.index("interlock")


@njit(cache=True)
def call(kind, phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    """Run one phase of one group's compiled kernel on the rows r0 .. r1 - 1."""
    args = (phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1)
    if kind == 0:
        ambient(*args)
    elif kind == 1:
        boundary(*args)
    elif kind == 2:
        heat_exchanger(*args)
    elif kind == 3:
        separator(*args)
    elif kind == 4:
        control_valve(*args)
    elif kind == 5:
        pid(*args)
    elif kind == 6:
        transmitter(*args)
    elif kind == 7:
        interlock(*args)
    elif kind == 8:
        well(*args)
    elif kind == 9:
        pump(*args)
    elif kind == 10:
        header(*args)
    elif kind == 11:
        cstr(*args)


@njit(cache=True)
def _special(kind, g, n, units, tx_flat, ubase, cond_ptr, cond_col, cond_above, cond_below, truth_prev):  # type: ignore[no-untyped-def]
    """Transmitters read the true value of the tick start; interlocks test their conditions on it."""
    extra = np.zeros((2, n, units))
    if kind == _TX:
        for r in range(n):
            for u in range(units):
                extra[0, r, u] = truth_prev[r, tx_flat[ubase[g] + u]]
    elif kind == _LOCK:
        for r in range(n):
            for u in range(units):
                gu = ubase[g] + u
                for c in range(cond_ptr[gu], cond_ptr[gu + 1]):
                    x = truth_prev[r, cond_col[c]]
                    if x > cond_above[c] or x < cond_below[c]:
                        if extra[0, r, u] < 0.5:
                            extra[1, r, u] = c - cond_ptr[gu] + 1.0
                        extra[0, r, u] = 1.0
    return extra


@njit(cache=True)
def _view3(flat, off, k, rows, n, units):  # type: ignore[no-untyped-def]
    """(k, n, units) view of ``flat[off:]`` stored with ``rows`` rows (1: broadcast to every row)."""
    return np.broadcast_to(flat[off:off + k * rows * units].reshape((k, rows, units)), (k, n, units))


@njit(cache=True)
def _publish(r0, r1, s_flat, s_off, units, n, meas_col, meas_g, meas_u, alias_dst, alias_src, truth, values,  # type: ignore[no-untyped-def]
             status):
    """Second names of a signal, then values (measured columns: the transmitter readings) and status."""
    for k in range(alias_dst.shape[0]):
        for r in range(r0, r1):
            truth[r, alias_dst[k]] = truth[r, alias_src[k]]
    for r in range(r0, r1):
        for c in range(truth.shape[1]):
            values[r, c] = truth[r, c]
            status[r, c] = 0
    for k in range(meas_col.shape[0]):
        g, u, col = meas_g[k], meas_u[k], meas_col[k]
        U = units[g]
        for r in range(r0, r1):
            values[r, col] = s_flat[s_off[g] + (0 * n + r) * U + u]
            status[r, col] = np.uint32(s_flat[s_off[g] + (1 * n + r) * U + u])


@njit(cache=True)
def advance(update, n, kinds, units, npar, prow, nst, p_flat, p_off, s_off, idx_flat, idx_off, nports,  # type: ignore[no-untyped-def]
            sig_flat, sig_off, nsig, base_flat, ubase, tx_flat, cond_ptr, cond_col, cond_above, cond_below,
            meas_col, meas_g, meas_u, alias_dst, alias_src, s_flat, ctx, truth_prev, scal_prev, vec_prev, scal,
            vec, truth, values, status, ev, nev):
    """``update``: step ``s_flat`` (a fresh copy) in place from the tick-start port values in
    ``scal_prev``/``vec_prev``. Then the port values of the state go to ``scal``/``vec`` (every output
    slot is written; the idle slots after them hold their values on entry), the signals to ``truth``
    (every column is written) and ``values``/``status`` are published (measured columns = transmitter
    readings). A group's parameters are stored with ``prow[g]`` rows (1 when every row has the same
    values) and broadcast to N rows, so a batch of identical plants reads them from cache."""
    groups = kinds.shape[0]
    nothing = np.zeros((2, 1, 1))
    extras = [nothing] * groups
    if update:
        for g in range(groups):
            extras[g] = _special(kinds[g], g, n, units[g], tx_flat, ubase, cond_ptr, cond_col, cond_above,
                                 cond_below, truth_prev)
    for r0 in range(0, n, BLOCK):
        r1 = min(r0 + BLOCK, n)
        for phase in (UPDATE, OUT, FEED, SIGNALS):
            if phase == UPDATE and not update:
                continue
            for g in range(groups):
                U = units[g]
                P = _view3(p_flat, p_off[g], npar[g], prow[g], n, U)
                S = s_flat[s_off[g]:s_off[g] + nst[g] * n * U].reshape((nst[g], n, U))
                idx = idx_flat[idx_off[g]:idx_off[g] + nports[g] * U].reshape((nports[g], U))
                sig = sig_flat[sig_off[g]:sig_off[g] + nsig[g] * U].reshape((nsig[g], U))
                base = base_flat[ubase[g] * n:(ubase[g] + U) * n].reshape((n, U))
                if phase == UPDATE:
                    first = nev[0]
                    call(kinds[g], UPDATE, P, S, scal_prev, vec_prev, idx, sig, truth, extras[g], ctx, base, ev, nev,
                         r0, r1)
                    for k in range(first, min(nev[0], ev.shape[0])):
                        ev[k, 3] = g
                else:
                    call(kinds[g], phase, P, S, scal, vec, idx, sig, truth, nothing, ctx, base, ev, nev, r0, r1)
        _publish(r0, r1, s_flat, s_off, units, n, meas_col, meas_g, meas_u, alias_dst, alias_src, truth, values,
                 status)
