"""Compiled kernel of the CSTR (same equations as ``blocks/cstr.py``)."""

from __future__ import annotations

import math

from numba import njit

from plc_emulator.engine.blocks import cstr as _cstr
from plc_emulator.engine.fast._common import C_DT, OUT, SIGNALS, UPDATE, check, clip

check(_cstr.SPEC, params=("volume_l", "k0_per_min", "e_over_r_k", "dh_j_mol", "density_g_l", "cp_j_g_k",
                          "ua_j_min_k", "jacket", "jacket_volume_l", "coolant_max_l_min", "coast_s", "t_max_k"),
      states=("t", "ca", "tj", "qc", "rate", "feed_flow", "feed_temperature", "feed_concentration",
              "coolant_temperature", "coolant_pump", "fouling"),
      ports=("coolant_valve", "feed_cut", "cooling_full", "feed", "temperature", "jacket_temperature"),
      signals=("temperature", "jacket_temperature", "concentration", "conversion", "coolant_flow",
               "temperature_rate", "heat_release", "ua", "feed_flow", "feed_temperature", "feed_concentration",
               "coolant_temperature", "coolant_pump", "fouling"))
_V, _K0, _ER, _DH, _RHO, _CP, _UA, _JACKET, _VJ, _QC_MAX, _COAST, _T_MAX = range(12)
_T, _CA, _TJ, _QC, _RATE, _FEED, _TF, _CAF, _TCF, _PUMP, _FOUL = range(11)
_KELVIN = _cstr.KELVIN


@njit(cache=True)
def _feed(S, scal, idx, r, u):  # type: ignore[no-untyped-def]
    """L/min: the connected feed port (m3/s; idle -1 when unconnected), else the written setting."""
    f = scal[r, idx[3, u]]
    return f * 60000.0 if f >= 0.0 else S[_FEED, r, u]


@njit(cache=True)
def _update(P, S, scal, idx, r, u, dt_s):  # type: ignore[no-untyped-def]
    """Semi-implicit step: CA implicit with k frozen, then T and Tj as one 2x2 linear system."""
    dt = dt_s / 60.0  # minutes
    frac = (100.0 if scal[r, idx[2, u]] > 0.5 else clip(scal[r, idx[0, u]], 0.0, 100.0)) * 0.01
    target = P[_QC_MAX, r, u] * frac * (1.0 if S[_PUMP, r, u] > 0.5 else 0.0)
    qc = target + (S[_QC, r, u] - target) * math.exp(-dt_s / P[_COAST, r, u])
    q = _feed(S, scal, idx, r, u) * (1.0 if scal[r, idx[1, u]] < 0.5 else 0.0)
    v, rcp, vj, t0 = P[_V, r, u], P[_RHO, r, u] * P[_CP, r, u], P[_VJ, r, u], S[_T, r, u]
    k = P[_K0, r, u] * math.exp(-P[_ER, r, u] / t0)
    ca = (S[_CA, r, u] + dt * q / v * S[_CAF, r, u]) / (1.0 + dt * (q / v + k))
    ua = P[_UA, r, u] * (1.0 - 0.01 * S[_FOUL, r, u])
    a, b = ua / (rcp * v), ua / (rcp * vj)
    tcf = S[_TCF, r, u]
    r1 = t0 + dt * (q / v * S[_TF, r, u] + P[_DH, r, u] / rcp * k * ca)
    a11, a12 = 1.0 + dt * (q / v + a), -dt * a
    a21, a22 = -dt * b, 1.0 + dt * (qc / vj + b)
    r2 = S[_TJ, r, u] + dt * qc / vj * tcf
    if P[_JACKET, r, u] > 0.5:
        t, tj = (r1 + dt * a * tcf) / a11, tcf
    else:
        det = a11 * a22 - a12 * a21
        t, tj = (r1 * a22 - a12 * r2) / det, (a11 * r2 - a21 * r1) / det
    t = min(t, P[_T_MAX, r, u])
    S[_T, r, u] = t
    S[_CA, r, u] = ca
    S[_TJ, r, u] = tj
    S[_QC, r, u] = qc
    S[_RATE, r, u] = (t - t0) / dt


@njit(cache=True)
def cstr(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                scal[r, idx[4, u]] = S[_T, r, u] - _KELVIN
                scal[r, idx[5, u]] = S[_TJ, r, u] - _KELVIN
            elif phase == UPDATE:
                _update(P, S, scal, idx, r, u, ctx[C_DT])
            elif phase == SIGNALS:
                k = P[_K0, r, u] * math.exp(-P[_ER, r, u] / S[_T, r, u])
                caf = max(S[_CAF, r, u], 1e-12)
                vals = (S[_T, r, u], S[_TJ, r, u], S[_CA, r, u], 100.0 * (1.0 - S[_CA, r, u] / caf), S[_QC, r, u],
                        S[_RATE, r, u], P[_DH, r, u] * k * S[_CA, r, u] * P[_V, r, u] / 60000.0,
                        P[_UA, r, u] * (1.0 - 0.01 * S[_FOUL, r, u]) / 60000.0, _feed(S, scal, idx, r, u),
                        S[_TF, r, u], S[_CAF, r, u], S[_TCF, r, u], S[_PUMP, r, u], S[_FOUL, r, u])
                for j in range(14):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


__all__ = ["cstr"]
