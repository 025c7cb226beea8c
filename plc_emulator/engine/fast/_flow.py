"""Compiled kernels: separator, header and control valve (same physics as their block modules)."""

from __future__ import annotations

import math

from numba import njit

from plc_emulator.engine.blocks import header as _header
from plc_emulator.engine.blocks import separator as _sep
from plc_emulator.engine.blocks import valve as _valve
from plc_emulator.engine.fast._common import (
    ATM_PSI,
    BBL_M3,
    C_DT,
    FEED,
    FT3_PER_M3,
    GPM_TO_M3S,
    OUT,
    P_STD_PSIA,
    PSI_PER_PA,
    SIGNALS,
    T_STD_R,
    UPDATE,
    G,
    check,
    clip,
    gas_flow,
    lag,
    level_fraction,
    liquid_flow,
    rankine,
)

check(_sep.SPEC, params=("phases", "diameter_m", "length_m", "z_factor", "water_in_oil", "flash_cooling_c",
                         "heat_loss_k", "thermal_tau_s", "rs_ref_scf_bbl", "rs_ref_psig"),
      states=("oil", "water", "pressure", "temperature"),
      ports=("inlet", "oil_draw", "water_draw", "gas_draw", "air", "pressure", "oil_outlet", "water_outlet",
             "gas_outlet", "oil_level", "water_level", "temperature"),
      signals=("pressure", "temperature", "oil_level", "water_level", "liquid_volume", "gas_flow"))
_PHASES, _D, _L, _Z, _WIO, _FLASH, _LOSS, _TAU, _RS, _RS_P = range(10)
_OIL, _WATER, _PRES, _TEMP = range(4)
_OIL_RHO, _WATER_RHO = 850.0, 1025.0


@njit(cache=True)
def _rs_m3(rs_ref: float, rs_p: float, pressure: float) -> float:
    ratio = max((pressure + ATM_PSI) / (rs_p + ATM_PSI), 0.0)
    return float(rs_ref / BBL_M3 * ratio**1.2)


@njit(cache=True)
def _sep_out(P, S, scal, vec, idx, r, u):  # type: ignore[no-untyped-def]
    d = P[_D, r, u]
    vol = math.pi * (d / 2.0) ** 2 * P[_L, r, u]
    oil, water, pr, temp = S[_OIL, r, u], S[_WATER, r, u], S[_PRES, r, u], S[_TEMP, r, u]
    lev = level_fraction((oil + water) / vol) * 100.0
    iface = level_fraction(water / vol) * 100.0
    liquid = max(oil + water, 1e-12)
    wf = P[_WIO, r, u] if P[_PHASES, r, u] > 0.5 else water / liquid
    rho = _OIL_RHO * (1.0 - wf) + _WATER_RHO * wf
    head = G * PSI_PER_PA * d
    scal[r, idx[5, u]] = pr
    scal[r, idx[11, u]] = temp
    scal[r, idx[9, u]] = lev
    scal[r, idx[10, u]] = iface
    o, w, g = idx[6, u], idx[7, u], idx[8, u]
    vec[r, o, 0] = pr + rho * head * lev * 0.01
    vec[r, o, 1] = wf
    vec[r, o, 2] = _rs_m3(P[_RS, r, u], P[_RS_P, r, u], pr)
    vec[r, o, 3] = temp
    vec[r, w, 0] = pr + _WATER_RHO * head * iface * 0.01
    vec[r, w, 1] = 1.0
    vec[r, w, 2] = 0.0
    vec[r, w, 3] = temp
    vec[r, g, 0] = pr
    vec[r, g, 1] = 0.0
    vec[r, g, 2] = 0.0
    vec[r, g, 3] = temp


@njit(cache=True)
def _sep_update(P, S, scal, vec, idx, r, u, dt):  # type: ignore[no-untyped-def]
    vol = math.pi * (P[_D, r, u] / 2.0) ** 2 * P[_L, r, u]
    f, od, wd, gd = idx[0, u], idx[1, u], idx[2, u], idx[3, u]
    oil0, water0, p0, t0 = S[_OIL, r, u], S[_WATER, r, u], S[_PRES, r, u], S[_TEMP, r, u]
    oil = clip(oil0 + (vec[r, f, 0] - vec[r, od, 0] - vec[r, wd, 0]) * dt, 0.0, vol)
    water = clip(water0 + (vec[r, f, 1] - vec[r, od, 1] - vec[r, wd, 1]) * dt, 0.0, vol)
    dvl = (oil + water - oil0 - water0) / dt
    g_in = max(vec[r, f, 2] - vec[r, f, 0] * _rs_m3(P[_RS, r, u], P[_RS_P, r, u], p0), 0.0)
    vg = max(vol - (oil0 + water0), 0.02 * vol) * FT3_PER_M3
    t_r = rankine(t0)
    dp = (P[_Z, r, u] * (t_r / T_STD_R) * P_STD_PSIA * (g_in - vec[r, gd, 2]) / vg
          + (p0 + ATM_PSI) * dvl * FT3_PER_M3 / vg)
    t_in = vec[r, f, 3] if vec[r, f, 0] + vec[r, f, 1] > 1e-9 else t0
    target = t_in - P[_FLASH, r, u] - P[_LOSS, r, u] * (t_in - scal[r, idx[4, u]])
    S[_OIL, r, u] = oil
    S[_WATER, r, u] = water
    S[_PRES, r, u] = max(p0 + dp * dt, 0.0)
    S[_TEMP, r, u] = t0 + lag(dt, P[_TAU, r, u]) * (target - t0)


@njit(cache=True)
def separator(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                _sep_out(P, S, scal, vec, idx, r, u)
            elif phase == UPDATE:
                _sep_update(P, S, scal, vec, idx, r, u, ctx[C_DT])
            elif phase == SIGNALS:
                vals = (S[_PRES, r, u], S[_TEMP, r, u], scal[r, idx[9, u]], scal[r, idx[10, u]],
                        S[_OIL, r, u] + S[_WATER, r, u], vec[r, idx[3, u], 2] * 86400.0 / 1e6)
                for j in range(6):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


check(_valve.SPEC, params=("service", "cv", "characteristic", "rangeability", "tau_s", "stiction_s", "stiction_j",
                           "sg"),
      states=("stem", "stick_y", "stick_u", "stick_du", "stick_us", "stuck", "direction", "fault_stuck", "s_now",
              "j_now"),
      ports=("opening", "source", "p_down", "outlet", "flow_fraction", "resistance"),
      signals=("position", "flow", "gas_flow"))
_SERVICE, _CV, _CHAR, _RANGE, _VTAU, _SS, _SJ, _SG = range(8)
_STEM, _Y, _U, _DU, _US, _STUCK, _DIR, _FSTUCK, _SNOW, _JNOW = range(10)


@njit(cache=True)
def _char(P, r, u, stem):  # type: ignore[no-untyped-def]
    x = clip(stem * 0.01, 0.0, 1.0)
    rr = P[_RANGE, r, u]
    if P[_CHAR, r, u] < 0.5:
        return rr ** (x - 1.0) - (1.0 - x) / rr
    return x


@njit(cache=True)
def _valve_update(P, S, scal, idx, r, u, dt):  # type: ignore[no-untyped-def]
    """Kano/Choudhury stiction (``engine._control.stiction_step``), then the actuator lag."""
    uu = clip(scal[r, idx[0, u]], 0.0, 100.0)
    s, j, d = S[_SNOW, r, u], S[_JNOW, r, u], S[_DIR, r, u]
    du = uu - S[_U, r, u]
    is_stuck = S[_STUCK, r, u] > 0.5
    u_s = S[_US, r, u]
    if du * S[_DU, r, u] <= 0.0 and not is_stuck:
        u_s = S[_U, r, u]
        is_stuck = True
    dev = uu - u_s
    rev = is_stuck and (-d * dev > s)
    if rev:
        d = -d
    same = is_stuck and not rev and (d * dev > j)
    moving = (not is_stuck) or rev or same
    y = clip(uu - d * (s - j) * 0.5, 0.0, 100.0) if moving else S[_Y, r, u]
    held = S[_FSTUCK, r, u] > 0.5
    stem = S[_STEM, r, u]
    if not held:
        S[_Y, r, u] = y
        S[_STEM, r, u] = stem + lag(dt, P[_VTAU, r, u]) * (y - stem)
    S[_U, r, u] = uu
    S[_DU, r, u] = du
    S[_US, r, u] = u_s
    S[_STUCK, r, u] = 0.0 if moving else 1.0
    S[_DIR, r, u] = d


@njit(cache=True)
def _valve_feed(P, S, scal, vec, idx, r, u):  # type: ignore[no-untyped-def]
    src = idx[1, u]
    p_up, wf, gor, temp = vec[r, src, 0], vec[r, src, 1], vec[r, src, 2], vec[r, src, 3]
    cvf = P[_CV, r, u] * scal[r, idx[4, u]] * 0.01
    p_down = scal[r, idx[2, u]]
    o = idx[3, u]
    if P[_SERVICE, r, u] > 0.5:
        vec[r, o, 0] = 0.0
        vec[r, o, 1] = 0.0
        vec[r, o, 2] = gas_flow(cvf, p_up, p_down, rankine(temp))
    else:
        q = liquid_flow(cvf, p_up - p_down, P[_SG, r, u])
        vec[r, o, 0] = q * (1.0 - wf)
        vec[r, o, 1] = q * wf
        vec[r, o, 2] = q * (1.0 - wf) * gor
    vec[r, o, 3] = temp


@njit(cache=True)
def control_valve(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                f = _char(P, r, u, S[_STEM, r, u])
                scal[r, idx[4, u]] = f * 100.0
                scal[r, idx[5, u]] = P[_SG, r, u] / max(P[_CV, r, u] * f * GPM_TO_M3S, 1e-12) ** 2
            elif phase == FEED:
                _valve_feed(P, S, scal, vec, idx, r, u)
            elif phase == UPDATE:
                _valve_update(P, S, scal, idx, r, u, ctx[C_DT])
            elif phase == SIGNALS:
                o = idx[3, u]
                vals = (S[_STEM, r, u], vec[r, o, 0] + vec[r, o, 1], vec[r, o, 2] * 86400.0 / 1e6)
                for j in range(3):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


check(_header.SPEC, params=("dp_psi", "design_flow_m3s", "tau_s"), states=("pressure", "temperature"),
      ports=("inlet_1", "inlet_2", "inlet_3", "inlet_4", "p_down", "outlet", "source", "pressure"),
      signals=("pressure", "flow"))


@njit(cache=True)
def _header_feed(S, vec, idx, r, u):  # type: ignore[no-untyped-def]
    """Outlet = sum of the inlets, temperature weighted by liquid flow."""
    o = idx[5, u]
    liq_t = 0.0
    for k in range(4):
        vec[r, o, k] = 0.0
    for j in range(4):
        i = idx[j, u]
        for k in range(3):
            vec[r, o, k] += vec[r, i, k]
        liq_t += (vec[r, i, 0] + vec[r, i, 1]) * vec[r, i, 3]
    q = vec[r, o, 0] + vec[r, o, 1]
    vec[r, o, 3] = liq_t / max(q, 1e-12) if q > 1e-12 else S[1, r, u]


@njit(cache=True)
def header(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                scal[r, idx[7, u]] = S[0, r, u]
                src = idx[6, u]
                vec[r, src, 0] = S[0, r, u]
                vec[r, src, 1] = 0.0
                vec[r, src, 2] = 0.0
                vec[r, src, 3] = S[1, r, u]
            elif phase == FEED:
                _header_feed(S, vec, idx, r, u)
            elif phase == UPDATE:
                o = idx[5, u]
                q = vec[r, o, 0] + vec[r, o, 1]
                target = scal[r, idx[4, u]] + P[0, r, u] * (q / P[1, r, u]) ** 2
                k = lag(ctx[C_DT], P[2, r, u])
                S[0, r, u] += k * (target - S[0, r, u])
                S[1, r, u] += k * (vec[r, o, 3] - S[1, r, u])
            elif phase == SIGNALS:
                o = idx[5, u]
                vals = (S[0, r, u], vec[r, o, 0] + vec[r, o, 1])
                for j in range(2):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


__all__ = ["control_valve", "header", "separator"]
