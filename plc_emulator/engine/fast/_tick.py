"""One compiled call per tick: every group's update, outputs, feedthrough and signals, then publish.

``advance`` runs over a plan flattened into arrays (``plc_emulator.engine.plant._fast`` builds
them): group g's parameters are ``p_flat[p_off[g]:]`` viewed as (params, N, U), its states likewise
in ``s_flat``; its port slots and signal columns are (ports, U) / (signals, U) blocks of ``idx_flat``
and ``sig_flat``. The kind code of a group selects its kernel (``KINDS`` order).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from plc_emulator.engine.fast._common import FEED, OUT, SIGNALS, UPDATE
from plc_emulator.engine.fast._control import interlock, pid, transmitter
from plc_emulator.engine.fast._flow import control_valve, separator
from plc_emulator.engine.fast._heat import ambient, boundary, heat_exchanger
from plc_emulator.engine.fast._pump import pump
from plc_emulator.engine.fast._well import well

__all__ = ["KINDS", "advance", "call"]

KINDS: tuple[str, ...] = ("ambient", "pressure_boundary", "heat_exchanger", "separator", "control_valve", "pid",
                          "transmitter", "interlock", "well", "pump")
_TX, _LOCK = KINDS.index("transmitter"), KINDS.index("interlock")


@njit(cache=True)
def call(kind, phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev):  # type: ignore[no-untyped-def]
    """Run one phase of one group's compiled kernel."""
    args = (phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev)
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
    if update:
        for g in range(groups):
            U = units[g]
            P = np.broadcast_to(p_flat[p_off[g]:p_off[g] + npar[g] * prow[g] * U].reshape((npar[g], prow[g], U)),
                                (npar[g], n, U))
            S = s_flat[s_off[g]:s_off[g] + nst[g] * n * U].reshape((nst[g], n, U))
            idx = idx_flat[idx_off[g]:idx_off[g] + nports[g] * U].reshape((nports[g], U))
            sig = sig_flat[sig_off[g]:sig_off[g] + nsig[g] * U].reshape((nsig[g], U))
            base = base_flat[ubase[g] * n:(ubase[g] + U) * n].reshape((n, U))
            extra = _special(kinds[g], g, n, U, tx_flat, ubase, cond_ptr, cond_col, cond_above, cond_below,
                             truth_prev)
            first = nev[0]
            call(kinds[g], UPDATE, P, S, scal_prev, vec_prev, idx, sig, truth, extra, ctx, base, ev, nev)
            for k in range(first, min(nev[0], ev.shape[0])):
                ev[k, 3] = g
    for phase in (OUT, FEED, SIGNALS):
        for g in range(groups):
            U = units[g]
            P = np.broadcast_to(p_flat[p_off[g]:p_off[g] + npar[g] * prow[g] * U].reshape((npar[g], prow[g], U)),
                                (npar[g], n, U))
            S = s_flat[s_off[g]:s_off[g] + nst[g] * n * U].reshape((nst[g], n, U))
            idx = idx_flat[idx_off[g]:idx_off[g] + nports[g] * U].reshape((nports[g], U))
            sig = sig_flat[sig_off[g]:sig_off[g] + nsig[g] * U].reshape((nsig[g], U))
            base = base_flat[ubase[g] * n:(ubase[g] + U) * n].reshape((n, U))
            call(kinds[g], phase, P, S, scal, vec, idx, sig, truth, nothing, ctx, base, ev, nev)
    for k in range(alias_dst.shape[0]):
        truth[:, alias_dst[k]] = truth[:, alias_src[k]]
    values[:, :] = truth
    status[:, :] = 0
    for k in range(meas_col.shape[0]):
        g, u, col = meas_g[k], meas_u[k], meas_col[k]
        U = units[g]
        for r in range(n):
            values[r, col] = s_flat[s_off[g] + (0 * n + r) * U + u]
            status[r, col] = np.uint32(s_flat[s_off[g] + (1 * n + r) * U + u])
