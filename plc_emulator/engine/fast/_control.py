"""Compiled kernels: PID, transmitter and interlock (same behaviour as their block modules)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from plc_emulator.engine import status as st
from plc_emulator.engine.blocks import interlock as _lock
from plc_emulator.engine.blocks import pid as _pid
from plc_emulator.engine.blocks import transmitter as _tx
from plc_emulator.engine.fast._common import (
    C_DT,
    C_TICK,
    EV_ESD_CONDITION,
    EV_ESD_MANUAL,
    FEED,
    OUT,
    SIGNALS,
    UPDATE,
    check,
    clip,
    counter,
    emit,
    normal,
    uniform,
)

check(_pid.SPEC, params=("kc", "ti", "td", "action", "pv_lo", "pv_hi", "sp_lo", "sp_hi"),
      states=("sp", "mode", "out", "manual", "kc", "ti", "td", "integral", "derivative", "pv_prev", "held"),
      ports=("pv", "pv_bad", "out"), signals=("sp", "mode", "out", "kc", "ti", "pv"))
_ACTION, _PV_LO, _PV_HI = 3, 4, 5
_SP, _MODE, _OUT, _MAN, _KC, _TI, _TD, _INT, _DER, _PV_PREV, _HELD = range(11)


@njit(cache=True)
def _pid_step(P, S, scal, idx, r, u, dt):  # type: ignore[no-untyped-def]
    """``engine._control.pid_step`` for one loop: (output, integral, derivative, held)."""
    lo, hi = P[_PV_LO, r, u], P[_PV_HI, r, u]
    sp = (S[_SP, r, u] - lo) / (hi - lo) * 100.0
    pv = scal[r, idx[0, u]]
    auto = S[_MODE, r, u]
    manual_out = S[_OUT, r, u] if auto > 0.5 else S[_MAN, r, u]
    hold = 1.0 if scal[r, idx[1, u]] > 0.5 else 0.0
    action = -1.0 if P[_ACTION, r, u] < 0.5 else 1.0
    kc, ti, td, integ = S[_KC, r, u], S[_TI, r, u], S[_TD, r, u], S[_INT, r, u]
    tf = td / 10.0
    tf_dt = tf + dt
    akc = action * kc
    err = sp - pv
    d_new = (tf / tf_dt) * S[_DER, r, u] - akc * td / tf_dt * (pv - S[_PV_PREV, r, u])
    p = akc * err
    v = p + integ + d_new
    out = clip(v, 0.0, 100.0)
    tt = math.sqrt(ti * max(td, 1e-9)) if td > 0 else ti
    i_new = integ + akc * dt / ti * err + (dt / tt) * (out - v)
    track = auto < 0.5 or hold > 0.5
    if track:
        out = manual_out
        i_new = manual_out - p - d_new
    elif S[_HELD, r, u] > 0.5:  # first Good tick after a Bad PV: continue from the held output
        out = manual_out
        i_new = manual_out - p
        d_new = 0.0
    return out, i_new, d_new, hold


@njit(cache=True)
def pid(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    dt = ctx[C_DT]
    for r in range(r0, r1):
        for u in range(units):
            if phase == FEED:
                scal[r, idx[2, u]] = _pid_step(P, S, scal, idx, r, u, dt)[0]
            elif phase == UPDATE:
                out, i_new, d_new, hold = _pid_step(P, S, scal, idx, r, u, dt)
                S[_OUT, r, u] = out
                S[_INT, r, u] = i_new
                S[_DER, r, u] = d_new
                S[_HELD, r, u] = hold
                S[_PV_PREV, r, u] = scal[r, idx[0, u]]
            elif phase == SIGNALS:
                lo = P[_PV_LO, r, u]
                vals = (S[_SP, r, u], S[_MODE, r, u], scal[r, idx[2, u]], S[_KC, r, u], S[_TI, r, u],
                        lo + scal[r, idx[0, u]] * 0.01 * (P[_PV_HI, r, u] - lo))
                for j in range(6):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


check(_tx.SPEC, params=("lo", "hi", "accuracy_pct", "bits", "comm_timeout_s", "field"),
      states=("value", "status", *(f"f_{k}" for k in _tx.FAULT_KINDS), "drift_acc", "freeze_value", "spike_amp",
              "comm_t"),
      ports=("pct", "bad"), signals=())
_LO, _HI, _ACC, _BITS, _TIMEOUT = range(5)
_VALUE, _STATUS, _F_FREEZE, _F_DRIFT, _F_BIAS, _F_SPIKE, _F_NOISE, _F_FAIL, _F_COMM = range(9)
_DRIFT, _FROZEN, _SPIKE_AMP, _COMM_T = range(9, 13)
_GOOD, _BAD = float(st.GOOD), float(st.BAD)
_LOW = float(st.UNCERTAIN_EU_EXCEEDED | st.LIMIT_LOW)
_HIGH = float(st.UNCERTAIN_EU_EXCEEDED | st.LIMIT_HIGH)
_NO_COMM, _LAST_USABLE = float(st.BAD_NO_COMMUNICATION), float(st.UNCERTAIN_NO_COMM_LAST_USABLE)
_FAILED = float(st.BAD_SENSOR_FAILURE)


@njit(cache=True, inline="always")
def _reading(P, S, extra, ctx, base, r, u):  # type: ignore[no-untyped-def]
    """Noise, spikes, drift, bias -> quantise -> NE 43 clamp -> freeze / comm loss / failure."""
    lo = P[_LO, r, u]
    span = P[_HI, r, u] - lo
    tick = ctx[C_TICK]
    z = normal(base[r, u], tick, 0)
    u0 = uniform(base[r, u], counter(tick, 2))
    u1 = uniform(base[r, u], counter(tick, 3))
    noise_x = S[_F_NOISE, r, u] if S[_F_NOISE, r, u] > 0.0 else 1.0
    drift = S[_DRIFT, r, u] + S[_F_DRIFT, r, u] * ctx[C_DT]
    spike = ((-1.0 if u1 < 0.5 else 1.0) * S[_SPIKE_AMP, r, u]) if u0 < S[_F_SPIKE, r, u] else 0.0
    x = extra[0, r, u] + P[_ACC, r, u] / 200.0 * span * noise_x * z + S[_F_BIAS, r, u] + drift + spike
    q = span / (math.ldexp(1.0, int(P[_BITS, r, u])) - 1.0)
    x = clip(np.rint((x - lo) / q) * q + lo, lo - 0.0125 * span, lo + 1.03125 * span)
    code = _LOW if x < lo else (_HIGH if x > lo + span else _GOOD)
    if S[_F_FREEZE, r, u] > 0.5:
        x = S[_FROZEN, r, u]
        code = _GOOD
    comm_t = 0.0
    if S[_F_COMM, r, u] > 0.5:
        comm_t = S[_COMM_T, r, u] + ctx[C_DT]
        x = S[_FROZEN, r, u]
        code = _NO_COMM if comm_t >= P[_TIMEOUT, r, u] else _LAST_USABLE
    if S[_F_FAIL, r, u] > 0.5:
        x = lo - 0.025 * span
        code = _FAILED
    S[_VALUE, r, u] = x
    S[_STATUS, r, u] = code
    S[_DRIFT, r, u] = drift
    S[_COMM_T, r, u] = comm_t


@njit(cache=True)
def transmitter(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                scal[r, idx[0, u]] = (S[_VALUE, r, u] - P[_LO, r, u]) / (P[_HI, r, u] - P[_LO, r, u]) * 100.0
                scal[r, idx[1, u]] = 1.0 if S[_STATUS, r, u] >= _BAD else 0.0
            elif phase == UPDATE:
                _reading(P, S, extra, ctx, base, r, u)


check(_lock.SPEC, params=("latching", "delay_s"),
      states=("active", "first_out", "pending", "bypass", "trip_cmd", "reset_cmd"), ports=("trip",),
      signals=("active", "first_out", "trip", "reset", "bypass"))
_ACTIVE, _FIRST, _PENDING, _BYPASS, _TRIP_CMD, _RESET_CMD = range(6)


@njit(cache=True)
def _lock_update(P, S, extra, dt, r, u, ev, nev):  # type: ignore[no-untyped-def]
    cause = extra[0, r, u] > 0.5 and S[_BYPASS, r, u] < 0.5
    pending = S[_PENDING, r, u] + dt if cause else 0.0
    button = S[_TRIP_CMD, r, u] > 0.5
    fire = (cause and pending >= P[1, r, u]) or button
    active = S[_ACTIVE, r, u] > 0.5
    new = fire and not active
    if new:
        emit(ev, nev, EV_ESD_MANUAL if button else EV_ESD_CONDITION, r, u)
        S[_ACTIVE, r, u] = 1.0
        S[_FIRST, r, u] = 0.0 if button else extra[1, r, u]
    else:
        release = (S[_RESET_CMD, r, u] > 0.5 and not cause) if P[0, r, u] > 0.5 else not fire
        if active and release:
            S[_ACTIVE, r, u] = 0.0
    S[_PENDING, r, u] = pending
    S[_TRIP_CMD, r, u] = 0.0
    S[_RESET_CMD, r, u] = 0.0


@njit(cache=True)
def interlock(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                scal[r, idx[0, u]] = S[_ACTIVE, r, u]
            elif phase == UPDATE:
                _lock_update(P, S, extra, ctx[C_DT], r, u, ev, nev)
            elif phase == SIGNALS:
                vals = (S[_ACTIVE, r, u], S[_FIRST, r, u], S[_TRIP_CMD, r, u], S[_RESET_CMD, r, u], S[_BYPASS, r, u])
                for j in range(5):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


__all__ = ["interlock", "pid", "transmitter"]
