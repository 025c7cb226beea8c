"""Controllers and valve friction for all loops at once, arrays of shape (N, loops) (domain notes §2-3)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from plc_emulator.engine._physics import clamp
from plc_emulator.engine.types import F64


class PidResult(NamedTuple):
    out: F64  # controller output, %
    integ: F64  # integral state after back-calculation
    deriv: F64  # filtered derivative state
    held: F64  # 1 where the PV was Bad this tick (the output was held)


def pid_step(
    *,
    sp: F64,
    pv: F64,
    pv_prev: F64,
    integ: F64,
    deriv: F64,
    kc: F64,
    ti: F64,
    td: F64,
    action: F64,
    auto: F64,
    manual_out: F64,
    hold: F64,
    held_prev: F64,
    dt: float,
) -> PidResult:
    """ISA positional PID (P on error, D on filtered PV) with back-calculation anti-windup.

    Values are % of span. ``action`` is +1 reverse / -1 direct. In manual (``auto`` = 0) or while the
    PV is Bad (``hold`` = 1) the output is the manual/held value and the integral tracks it, so the
    transfer back to automatic is bumpless (domain notes §3.2). Returning from a Bad PV (``held_prev`` = 1,
    ``hold`` = 0, in AUTO) is bumpless too: the integral is re-initialised against the recovered PV so
    the output continues from the held value, and the derivative restarts (no kick from the jump
    between the failed reading and the live one).
    """
    # common subexpressions computed once; each product keeps its original left-to-right order
    tf = td / 10.0
    tf_dt = tf + dt
    akc = action * kc
    err = sp - pv
    d_new = (tf / tf_dt) * deriv - akc * td / tf_dt * (pv - pv_prev)
    p = akc * err
    v = p + integ + d_new
    u = clamp(v, 0.0, 100.0)
    tt = np.where(td > 0, np.sqrt(ti * np.maximum(td, 1e-9)), ti)
    i_auto = integ + akc * dt / ti * err + (dt / tt) * (u - v)
    track = (auto < 0.5) | (hold > 0.5)
    out = np.where(track, manual_out, u)
    i_new = np.where(track, manual_out - p - d_new, i_auto)
    resume = (held_prev > 0.5) & ~track
    if resume.any():  # rare: only on the tick a failed PV transmitter recovers
        out = np.where(resume, manual_out, out)
        i_new = np.where(resume, manual_out - p, i_new)
        d_new = np.where(resume, 0.0, d_new)
    return PidResult(out=out, integ=i_new, deriv=d_new, held=hold)


class StictionResult(NamedTuple):
    y: F64
    u_prev: F64
    du_prev: F64
    u_s: F64
    stuck: F64
    d: F64


def stiction_step(
    *, u: F64, s: F64, j: F64, u_prev: F64, du_prev: F64, y_prev: F64, u_s: F64, stuck: F64, d: F64
) -> StictionResult:
    """Kano/Choudhury two-parameter stiction (S = deadband + stickband, J = slip jump, % of span).

    Vectorised form of the BDSIM ``stiction.m`` step in domain notes §2.2.
    """
    u = clamp(u, 0.0, 100.0)
    du = u - u_prev
    is_stuck = stuck > 0.5
    stick_now = (du * du_prev <= 0.0) & ~is_stuck
    u_s = np.where(stick_now, u_prev, u_s)
    is_stuck = is_stuck | stick_now
    dev = u - u_s
    rev = is_stuck & (-d * dev > s)
    d = np.where(rev, -d, d)
    held = is_stuck & ~rev
    same = held & (d * dev > j)
    moving = ~is_stuck | rev | same
    y = np.where(moving, clamp(u - d * (s - j) * 0.5, 0.0, 100.0), y_prev)
    still = ~moving  # == is_stuck & ~rev & ~same
    return StictionResult(y=y, u_prev=u, du_prev=du, u_s=u_s, stuck=still.astype(np.float64), d=d)
