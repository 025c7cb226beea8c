"""Compiled kernel of the centrifugal pump (same physics as ``blocks/pump.py``)."""

from __future__ import annotations

import math

from numba import njit

from plc_emulator.engine.blocks import pump as _pump
from plc_emulator.engine.fast._common import (
    BBL_M3,
    C_DT,
    C_SIM,
    DAY_S,
    EV_FAILURE,
    EV_ONSET,
    EV_PUMP_TRIP,
    FEED,
    SIGNALS,
    UPDATE,
    check,
    clip,
    emit,
    lag,
)

check(_pump.SPEC, params=(
    "rated_speed_rpm", "rated_flow_bpd", "rated_dp_psi", "shutoff_ratio", "oil_sg", "export_line_dp_psi",
    "suction_static_psi", "low_level_trip_pct", "speed_tau_s", "trip_on_vibration", "vibration_trip_mm_s",
    "vane_count", "amp_1x_mm_s", "amp_2x_mm_s", "amp_vane_mm_s", "amp_bearing_mm_s", "broadband_mm_s", "beat_depth",
    "beat_period_s", "weibull_shape", "weibull_scale_days", "pf_interval_days", "theta_mm_s", "zone_ab", "zone_bc",
    "zone_cd"),
      states=("status", "run_cmd", "speed_sp", "speed", "hours", "onset_s", "degrading", "degr_t", "theta", "beta",
              "zone", "failed", "reset_cmd"),
      ports=("suction", "p_down", "resistance", "suction_level", "trip", "outlet", "discharge"),
      signals=("discharge_pressure", "suction_pressure", "oil_flow", "vibration", "vib_1x", "vib_2x", "vib_vane",
               "vib_bearing", "speed", "status", "running_hours", "run_cmd", "speed_sp", "trip_reset"))
(_RPM, _QR, _DPR, _SHUT, _SG, _LINE, _STATIC, _LOW, _STAU, _TRIP_VIB, _VIB_TRIP, _VANES, _A1, _A2, _AV, _AB, _BB,
 _BEAT, _BEAT_T, _WSHAPE, _WSCALE, _PF, _THETA, _ZAB, _ZBC, _ZCD) = range(26)
(_STATUS, _RUN, _SPEED_SP, _SPEED, _HOURS, _ONSET, _DEGR, _DEGR_T, _TH, _BETA, _ZONE, _FAILED,
 _RESET) = range(13)


@njit(cache=True)
def _operating(P, S, scal, vec, idx, r, u):  # type: ignore[no-untyped-def]
    """Closed-form operating point: (flow m3/s, discharge psi, suction psi)."""
    src = idx[0, u]
    q_rated = P[_QR, r, u] * BBL_M3 / DAY_S
    dp0 = P[_SHUT, r, u] * P[_DPR, r, u]
    a = (P[_SHUT, r, u] - 1.0) * P[_DPR, r, u] / q_rated**2
    line_k = P[_LINE, r, u] / q_rated**2
    speed = S[_SPEED, r, u]
    rr = speed / P[_RPM, r, u]
    p_suc = vec[r, src, 0] + P[_STATIC, r, u]
    num = p_suc + rr * rr * dp0 - scal[r, idx[1, u]]
    spinning = S[_STATUS, r, u] == 1.0 or speed > 1.0
    q = math.sqrt(max(num, 0.0) / (a + line_k + scal[r, idx[2, u]])) if spinning else 0.0
    dis = p_suc + rr * rr * dp0 - a * q * q if speed > 1.0 else p_suc
    return q, dis, p_suc


@njit(cache=True)
def _vibration(P, S, r, u, sim_s):  # type: ignore[no-untyped-def]
    """Spectrum peaks (1x, 2x, vane, bearing), overall RMS and the degradation target."""
    a1p, a2p, avp, abp, bbp = P[_A1, r, u], P[_A2, r, u], P[_AV, r, u], P[_AB, r, u], P[_BB, r, u]
    v0_sq = (a1p**2 + a2p**2 + avp**2 + abp**2) / 2.0 + bbp**2
    v0 = math.sqrt(v0_sq)
    theta = S[_TH, r, u]
    beta = S[_BETA, r, u]
    if not beta > 0.0:
        beta = math.log1p((P[_ZBC, r, u] - v0) / max(theta, 1e-6)) / (P[_PF, r, u] * 86400.0)
    target = v0 + theta * math.expm1(min(beta * S[_DEGR_T, r, u], 50.0))
    extra = max(target * target - v0_sq, 0.0)
    zbc, zcd = P[_ZBC, r, u], P[_ZCD, r, u]
    share = clip(0.85 - 0.25 * (target - zbc) / (zcd - zbc), 0.6, 0.85)
    rr = S[_SPEED, r, u] / P[_RPM, r, u]
    depth, period = P[_BEAT, r, u], P[_BEAT_T, r, u]
    beat1 = 1.0 + depth * math.sin(2.0 * math.pi * sim_s / period)
    beat2 = 1.0 + depth * math.sin(2.0 * math.pi * sim_s / (1.37 * period) + 1.0)
    a1, a2 = a1p * beat1 * rr, a2p * beat2 * rr
    av = avp * rr
    ab = math.sqrt(abp**2 + 2.0 * share * extra) * rr
    bb = (bbp**2 + (1.0 - share) * extra) * rr * rr
    rms = math.sqrt((a1 * a1 + a2 * a2 + av * av + ab * ab) / 2.0 + bb) + 0.05
    return rms, a1, a2, av, ab, target


@njit(cache=True)
def _update(P, S, scal, idx, r, u, ctx, ev, nev):  # type: ignore[no-untyped-def]
    dt = ctx[C_DT]
    status0 = S[_STATUS, r, u]
    running = status0 == 1.0
    rms, _, _, _, _, target = _vibration(P, S, r, u, ctx[C_SIM])
    low = scal[r, idx[3, u]] < P[_LOW, r, u]
    trip = running and (low or scal[r, idx[4, u]] > 0.5 or (P[_TRIP_VIB, r, u] > 0.5 and rms > P[_VIB_TRIP, r, u]))
    if trip:
        emit(ev, nev, EV_PUMP_TRIP, r, u)
    run = S[_RUN, r, u] > 0.5
    if trip:
        status = 2.0
    elif S[_RESET, r, u] > 0.5 and status0 == 2.0:
        status = 1.0 if run else 0.0
    elif run and status0 != 2.0:
        status = 1.0
    else:
        status = 2.0 if status0 == 2.0 else 0.0
    target_speed = S[_SPEED_SP, r, u] if status == 1.0 else 0.0
    S[_SPEED, r, u] += lag(dt, P[_STAU, r, u]) * (target_speed - S[_SPEED, r, u])
    hours = S[_HOURS, r, u] + (dt / 3600.0 if running else 0.0)
    degrading = S[_DEGR, r, u]
    if degrading < 0.5 and hours * 3600.0 >= S[_ONSET, r, u]:
        emit(ev, nev, EV_ONSET, r, u)
        degrading = 1.0
    zone = 0.0
    if degrading > 0.5:
        S[_DEGR_T, r, u] += dt if running else 0.0
        zone = float((target > P[_ZAB, r, u]) + (target > P[_ZBC, r, u]) + (target > P[_ZCD, r, u]))
    else:
        S[_DEGR_T, r, u] = 0.0
    if zone >= 3.0 and S[_FAILED, r, u] < 0.5:
        emit(ev, nev, EV_FAILURE, r, u)
        S[_FAILED, r, u] = 1.0
    S[_STATUS, r, u] = status
    S[_HOURS, r, u] = hours
    S[_DEGR, r, u] = degrading
    S[_ZONE, r, u] = max(S[_ZONE, r, u], zone)
    S[_RESET, r, u] = 0.0


@njit(cache=True)
def _signals(P, S, scal, vec, idx, sig, truth, r, u, sim_s):  # type: ignore[no-untyped-def]
    rms, a1, a2, av, ab, _ = _vibration(P, S, r, u, sim_s)
    o = idx[5, u]
    p_suc = vec[r, idx[0, u], 0] + P[_STATIC, r, u]
    vals = (scal[r, idx[6, u]], p_suc, (vec[r, o, 0] + vec[r, o, 1]) * DAY_S / BBL_M3, rms, a1, a2, av, ab,
            S[_SPEED, r, u], S[_STATUS, r, u], S[_HOURS, r, u], S[_RUN, r, u], S[_SPEED_SP, r, u], S[_RESET, r, u])
    for j in range(14):
        if sig[j, u] >= 0:
            truth[r, sig[j, u]] = vals[j]


@njit(cache=True)
def pump(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev, r0, r1):  # type: ignore[no-untyped-def]
    units = S.shape[2]
    for r in range(r0, r1):
        for u in range(units):
            if phase == FEED:
                q, dis, _ = _operating(P, S, scal, vec, idx, r, u)
                src, o = idx[0, u], idx[5, u]
                wf = vec[r, src, 1]
                oil = q * (1.0 - wf)
                vec[r, o, 0] = oil
                vec[r, o, 1] = q * wf
                vec[r, o, 2] = oil * vec[r, src, 2]
                vec[r, o, 3] = vec[r, src, 3]
                scal[r, idx[6, u]] = dis
            elif phase == UPDATE:
                _update(P, S, scal, idx, r, u, ctx, ev, nev)
            elif phase == SIGNALS:
                _signals(P, S, scal, vec, idx, sig, truth, r, u, ctx[C_SIM])


__all__ = ["pump"]
