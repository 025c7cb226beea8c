"""Compiled kernel of the well (same physics as ``blocks/well.py``)."""

from __future__ import annotations

import math

from numba import njit

from plc_emulator.engine.blocks import well as _well
from plc_emulator.engine.fast._common import (
    ATM_PSI,
    BBL_M3,
    C_DT,
    C_SIM,
    C_SIM_PREV,
    C_TICK,
    DAY_S,
    EV_SEVERE,
    FEED,
    FT3_PER_M3,
    P_STD_PSIA,
    SIGNALS,
    T_STD_R,
    UPDATE,
    YEAR_S,
    G,
    check,
    counter,
    emit,
    lag,
    normal,
    rankine,
    uniform,
)

check(_well.SPEC, params=(
    "oil_rate_bpd", "water_cut_initial", "water_cut_max", "water_cut_growth_per_mmbbl", "gor_scf_per_bbl",
    "gor_rise_per_mmbbl", "arps_b", "arps_di_per_year", "decline_time_factor", "temperature_c", "gas_drift_sigma",
    "gas_drift_tau_s", "hydrodynamic", "line_diameter_m", "line_pressure_psig", "length_min_d", "length_max_d",
    "holdup_min", "holdup_max", "severe_rate_per_day", "severe_cycles_min", "severe_cycles_max", "severe_period_s",
    "forced_volume_m3", "forced_duration_s", "inlet_tau_s"),
      states=("liq_in", "hyd_lag", "gas_dev", "slug_t", "slug_q", "fslug_t", "fslug_q", "sev_left", "sev_phase",
              "sev_period", "sev_force"),
      ports=("shut_in", "outlet"), signals=("oil_rate", "water_cut", "gas_rate", "slug_active"))
(_QI, _WC0, _WCM, _WCG, _GOR, _GOR_RISE, _B, _DI, _TF, _TEMP, _GSIG, _GTAU, _HYD, _LD, _LP, _LMIN, _LMAX, _HMIN,
 _HMAX, _SEV_RATE, _SEV_CMIN, _SEV_CMAX, _SEV_T, _FVOL, _FDUR, _INLET_TAU) = range(26)
(_LIQ_IN, _HYD_LAG, _GAS_DEV, _SLUG_T, _SLUG_Q, _FSLUG_T, _FSLUG_Q, _SEV_LEFT, _SEV_PHASE, _SEV_PERIOD,
 _SEV_FORCE) = range(11)


@njit(cache=True)
def _decline(P, r, u, sim_s):  # type: ignore[no-untyped-def]
    """Oil rate (bbl/day), water cut (fraction) and GOR (scf/bbl) at ``sim_s``."""
    t = sim_s * P[_TF, r, u] / YEAR_S
    qi, di, b = P[_QI, r, u], P[_DI, r, u], P[_B, r, u]
    q = qi * math.exp(-di * t) if b < 1e-06 else qi / math.pow(1.0 + b * di * t, 1.0 / b)
    qy, qiy, dis = q * 365.25, qi * 365.25, max(di, 1e-12)
    if di < 1e-12:
        cum = qiy * t
    elif b < 1e-6:
        cum = (qiy - qy) / dis
    elif abs(b - 1.0) < 1e-6:
        cum = qiy / dis * math.log(qiy / max(qy, 1e-12))
    else:
        cum = qiy / ((1.0 - b) * dis) * (1.0 - math.pow(qy / qiy, 1.0 - b))
    cum = cum / 1e6
    wc0, wcm = P[_WC0, r, u], P[_WCM, r, u]
    wc = wcm / (1.0 + (wcm / wc0 - 1.0) * math.exp(-P[_WCG, r, u] * cum))
    return q, wc, P[_GOR, r, u] * (1.0 + P[_GOR_RISE, r, u] * cum)


@njit(cache=True)
def _severe(left, phase, period):  # type: ignore[no-untyped-def]
    """Liquid and gas multipliers of the severe-slugging cycle, and whether liquid is surging."""
    if left <= 0.5:
        return 1.0, 1.0, False
    frac = phase / max(period, 1.0)
    if frac < 0.6:
        return 0.1, 0.6, False
    if frac < 0.75:
        return 5.1, 0.5, True
    if frac < 0.9:
        return 0.5, 3.1, False
    return 1.0, 1.0, False


@njit(cache=True)
def _feed(P, S, scal, vec, idx, r, u, sim_s):  # type: ignore[no-untyped-def]
    q_bpd, wc, gor = _decline(P, r, u, sim_s)
    ok = 0.0 if scal[r, idx[0, u]] > 0.5 else 1.0
    gas_mult = _severe(S[_SEV_LEFT, r, u], S[_SEV_PHASE, r, u], S[_SEV_PERIOD, r, u])[1]
    q_oil = q_bpd * BBL_M3 / DAY_S
    in_situ = (P[_LP, r, u] + ATM_PSI) / P_STD_PSIA * T_STD_R / rankine(P[_TEMP, r, u]) / 0.9
    gas = max(q_oil * ok * gor / BBL_M3 * (1.0 + S[_GAS_DEV, r, u]) * gas_mult
              - S[_HYD_LAG, r, u] * FT3_PER_M3 * in_situ, 0.0)
    liq = S[_LIQ_IN, r, u]
    o = idx[1, u]
    vec[r, o, 0] = liq * (1.0 - wc)
    vec[r, o, 1] = liq * wc
    vec[r, o, 2] = gas
    vec[r, o, 3] = P[_TEMP, r, u]


@njit(cache=True)
def _slugs(P, S, r, u, q_bpd, wc, gor, ok, dt, tick, base):  # type: ignore[no-untyped-def]
    """Hydrodynamic slugs: this tick's slug liquid rate and the share of the flow in slugs."""
    d = P[_LD, r, u]
    area = math.pi * d**2 / 4.0
    q_liq = q_bpd * BBL_M3 / DAY_S / (1.0 - wc)
    gas_std = q_bpd * max(gor - 0.2 * P[_GOR, r, u], 0.0) / DAY_S * 0.0283168
    u_sl = q_liq / area
    u_mix = u_sl + gas_std * (ATM_PSI / (P[_LP, r, u] + ATM_PSI)) * 1.15 / area
    f_s = 0.0
    if P[_HYD, r, u] > 0.5:
        um = max(u_mix, 1e-3)
        f_s = 0.0226 * math.pow(max(u_sl, 0.0) / (G * 1.0) * (19.75 / um + um), 1.2) * d ** -1.2
    hmin, hmax, lmin, lmax = P[_HMIN, r, u], P[_HMAX, r, u], P[_LMIN, r, u], P[_LMAX, r, u]
    mean_vol = 0.5 * (lmin + lmax) * d * area * 0.5 * (hmin + hmax)
    share = min(f_s * mean_vol / max(q_liq, 1e-9), 0.8)
    free = S[_SEV_LEFT, r, u] < 0.5 and ok > 0.5
    slug_q, slug_t = S[_SLUG_Q, r, u], S[_SLUG_T, r, u]
    if free and slug_t <= 0.0 and uniform(base, counter(tick, 0)) < 1.0 - math.exp(-f_s * dt):
        length = (lmin + (lmax - lmin) * uniform(base, counter(tick, 1))) * d
        vol = length * area * (hmin + (hmax - hmin) * uniform(base, counter(tick, 2)))
        dur = max(length / (1.2 * u_mix), dt)
        slug_q, slug_t = vol / dur, dur
    q_slug = slug_q if slug_t > 0.0 and free else 0.0
    S[_SLUG_Q, r, u] = slug_q
    S[_SLUG_T, r, u] = slug_t - dt
    return q_slug, share


@njit(cache=True)
def _update(P, S, scal, idx, r, u, ctx, base, ev, nev):  # type: ignore[no-untyped-def]
    dt, tick = ctx[C_DT], ctx[C_TICK]
    q_bpd, wc, gor = _decline(P, r, u, ctx[C_SIM_PREV])
    ok = 0.0 if scal[r, idx[0, u]] > 0.5 else 1.0
    sev_on = S[_SEV_LEFT, r, u] > 0.5
    sev_force = S[_SEV_FORCE, r, u] > 0.5
    q_slug, share = _slugs(P, S, r, u, q_bpd, wc, gor, ok, dt, tick, base)
    start = ((not sev_on and uniform(base, counter(tick, 3)) < P[_SEV_RATE, r, u] * dt / 86400.0)
             or sev_force) and ok > 0.5
    left, period, phase = S[_SEV_LEFT, r, u], S[_SEV_PERIOD, r, u], S[_SEV_PHASE, r, u]
    if start:
        emit(ev, nev, EV_SEVERE, r, u)
        cmin, cmax = P[_SEV_CMIN, r, u], P[_SEV_CMAX, r, u]
        left = max(math.floor(cmin + (cmax - cmin + 1.0) * uniform(base, counter(tick, 4))), 1.0)
        period = P[_SEV_T, r, u] * (0.8 + 0.4 * uniform(base, counter(tick, 5)))
        phase = 0.0
    liq_mult = _severe(left, phase, period)[0]
    on = left > 0.5
    phase = phase + dt if on else 0.0
    if on and phase >= period:
        left, phase = left - 1.0, 0.0
    q_liq = q_bpd * BBL_M3 / DAY_S / (1.0 - wc)
    keep = 1.0 if on else 1.0 - share
    base_q = q_liq * keep * liq_mult
    forced = S[_FSLUG_Q, r, u] if S[_FSLUG_T, r, u] > 0.0 and ok > 0.5 else 0.0
    k = lag(dt, P[_INLET_TAU, r, u])
    hyd = (q_liq * (keep - 1.0) + q_slug) * ok
    g_phi = math.exp(-dt / P[_GTAU, r, u])
    S[_LIQ_IN, r, u] += k * ((base_q + q_slug) * ok + forced - S[_LIQ_IN, r, u])
    S[_HYD_LAG, r, u] += k * (hyd - S[_HYD_LAG, r, u])
    S[_GAS_DEV, r, u] = (g_phi * S[_GAS_DEV, r, u]
                         + math.sqrt(1.0 - g_phi * g_phi) * P[_GSIG, r, u] * normal(base, tick, 3))
    S[_SEV_LEFT, r, u] = left
    S[_SEV_PHASE, r, u] = phase
    S[_SEV_PERIOD, r, u] = period
    S[_SEV_FORCE, r, u] = 0.0
    S[_FSLUG_T, r, u] -= dt


@njit(cache=True)
def well(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == FEED:
                _feed(P, S, scal, vec, idx, r, u, ctx[C_SIM])
            elif phase == UPDATE:
                _update(P, S, scal, idx, r, u, ctx, base[r, u], ev, nev)
            elif phase == SIGNALS:
                q_bpd, wc, gor = _decline(P, r, u, ctx[C_SIM])
                ok = 0.0 if scal[r, idx[0, u]] > 0.5 else 1.0
                surge = _severe(S[_SEV_LEFT, r, u], S[_SEV_PHASE, r, u], S[_SEV_PERIOD, r, u])[2]
                active = S[_SLUG_T, r, u] > 0.0 or S[_FSLUG_T, r, u] > 0.0 or surge
                vals = (q_bpd * ok, wc * 100.0, q_bpd * gor / 1e6 * ok * (1.0 + S[_GAS_DEV, r, u]),
                        1.0 if active else 0.0)
                for j in range(4):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


__all__ = ["well"]
