"""Compiled kernels: ambient, heat_exchanger, pressure_boundary (same physics as their block modules)."""

from __future__ import annotations

import math

from numba import njit

from plc_emulator.engine.blocks import ambient as _amb
from plc_emulator.engine.blocks import boundary as _bnd
from plc_emulator.engine.blocks import heat_exchanger as _hx
from plc_emulator.engine.fast._common import C_DT, C_T, C_TICK, FEED, OUT, SIGNALS, UPDATE, check, lag, normal

check(_amb.SPEC, params=("air_mean_c", "air_diurnal_c", "air_seasonal_c", "sea_mean_c", "sea_diurnal_c",
                         "sea_seasonal_c", "weather_tau_h", "weather_sigma_c", "sea_weather_sigma_c"),
      states=("w_air", "w_sea"), ports=("air", "sea"), signals=("air_temperature", "sea_temperature"))
_AIR_MEAN, _AIR_DI, _AIR_SEA, _SEA_MEAN, _SEA_DI, _SEA_SEA, _TAU_H, _SIG_AIR, _SIG_SEA = range(9)


@njit(cache=True)
def ambient(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    t = ctx[C_T]
    hour = (t % 86400.0) / 3600.0
    doy = (t / 86400.0) % 365.2425
    diurnal = math.cos(2.0 * math.pi * (hour - 14.0) / 24.0)
    season = math.cos(2.0 * math.pi * (doy - 220.0) / 365.2425)
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                scal[r, idx[0, u]] = (P[_AIR_MEAN, r, u] + P[_AIR_SEA, r, u] * season
                                      + P[_AIR_DI, r, u] * diurnal + S[0, r, u])
                scal[r, idx[1, u]] = (P[_SEA_MEAN, r, u] + P[_SEA_SEA, r, u] * season
                                      + P[_SEA_DI, r, u] * diurnal + S[1, r, u])
            elif phase == UPDATE:
                phi = math.exp(-ctx[C_DT] / (P[_TAU_H, r, u] * 3600.0))
                innov = math.sqrt(max(1.0 - phi * phi, 0.0))
                S[0, r, u] = phi * S[0, r, u] + innov * P[_SIG_AIR, r, u] * normal(base[r, u], ctx[C_TICK], 0)
                S[1, r, u] = phi * S[1, r, u] + innov * P[_SIG_SEA, r, u] * normal(base[r, u], ctx[C_TICK], 1)
            elif phase == SIGNALS:
                for j in range(2):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = scal[r, idx[j, u]]


check(_bnd.SPEC, params=("pressure_psig", "temperature_c", "water_fraction"), states=(),
      ports=("inlet", "pressure", "source"), signals=("pressure", "flow", "gas_flow"))


@njit(cache=True)
def boundary(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = P.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == OUT:
                scal[r, idx[1, u]] = P[0, r, u]
                src = idx[2, u]
                vec[r, src, 0] = P[0, r, u]
                vec[r, src, 1] = P[2, r, u]
                vec[r, src, 2] = 0.0
                vec[r, src, 3] = P[1, r, u]
            elif phase == SIGNALS:
                inlet = idx[0, u]
                vals = (scal[r, idx[1, u]], vec[r, inlet, 0] + vec[r, inlet, 1], vec[r, inlet, 2] * 86400.0 / 1e6)
                for j in range(3):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


check(_hx.SPEC, params=("ua_clean_kw_k", "fouling_rate_k_per_kw_day", "coolant_max_kg_s", "hot_density", "hot_cp",
                        "coolant_cp", "tau_s"),
      states=("outlet_t", "fouling"), ports=("hot_in", "coolant", "coolant_valve", "hot_out", "outlet_temperature"),
      signals=("outlet_temperature", "inlet_temperature", "seawater_temperature", "ua"))
_UA, _FOUL, _CMAX, _RHO, _CP_H, _CP_C, _TAU = range(7)


@njit(cache=True)
def _effectiveness(ntu: float, cr: float) -> float:
    if abs(1.0 - cr) < 1e-6:
        return ntu / (1.0 + ntu)
    e = math.exp(-ntu * (1.0 - cr))
    return (1.0 - e) / (1.0 - cr * e)


@njit(cache=True)
def heat_exchanger(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    dt = ctx[C_DT]
    for r in range(r0, r1):
        for u in range(units):
            hot = idx[0, u]
            if phase == OUT:
                scal[r, idx[4, u]] = S[0, r, u]
            elif phase == FEED:
                o = idx[3, u]
                for k in range(3):
                    vec[r, o, k] = vec[r, hot, k]
                vec[r, o, 3] = S[0, r, u]
            elif phase == UPDATE:
                q = vec[r, hot, 0] + vec[r, hot, 1]
                ua0 = P[_UA, r, u]
                rf = S[1, r, u] + P[_FOUL, r, u] * dt / 86400.0
                ua = ua0 / (1.0 + rf * ua0)
                c_h = max(q * P[_RHO, r, u] * P[_CP_H, r, u], 1e-6)
                c_c = max(P[_CMAX, r, u] * scal[r, idx[2, u]] * 0.01 * P[_CP_C, r, u], 1e-6)
                c_min, c_max = min(c_h, c_c), max(c_h, c_c)
                eps = _effectiveness(ua / c_min, c_min / c_max)
                t_in, t_c, t_o = vec[r, hot, 3], scal[r, idx[1, u]], S[0, r, u]
                steady = t_in - eps * c_min * (t_in - t_c) / c_h if q > 1e-5 else t_c + 0.5 * (t_o - t_c)
                S[0, r, u] = t_o + lag(dt, P[_TAU, r, u]) * (steady - t_o)
                S[1, r, u] = rf
            elif phase == SIGNALS:
                ua0 = P[_UA, r, u]
                vals = (S[0, r, u], vec[r, hot, 3], scal[r, idx[1, u]], ua0 / (1.0 + S[1, r, u] * ua0))
                for j in range(4):
                    if sig[j, u] >= 0:
                        truth[r, sig[j, u]] = vals[j]


__all__ = ["ambient", "boundary", "heat_exchanger"]
