"""What every compiled kernel shares: the call convention, counter-based draws, events, physics.

Kernel call: ``kernel(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base, ev, nev)``

- ``phase``: OUT (outputs from state), FEED (direct-feedthrough outputs from inputs), UPDATE (the
  new state, written in place into ``S``, a fresh copy), SIGNALS (true values into ``truth``);
- ``P`` (params, N, U), ``S`` (states, N, U) in the order of the block's spec;
- ``scal`` (N, slots) and ``vec`` (N, slots, 4): the plan's port buffers; ``idx`` (ports, U) the
  slot of each port (spec order) of each unit;
- ``sig`` (signals, U): the ``truth`` column of each block signal, -1 when not published;
- ``extra`` (2, N, U): engine-computed inputs (a transmitter's true value; an interlock's cause and
  first-out), ``ctx`` = [dt, t, sim_s, sim_s of the previous tick, tick];
- ``base`` (N, U): counter-RNG keys (``plc_emulator.engine.blocks._rng``), ``ev``/``nev``: events.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from plc_emulator.engine import _physics as ph
from plc_emulator.engine.blocks import _rng
from plc_emulator.engine.blocks._spec import BlockSpec

OUT, FEED, UPDATE, SIGNALS = 0, 1, 2, 3
C_DT, C_T, C_SIM, C_SIM_PREV, C_TICK = 0, 1, 2, 3, 4

# event codes -> (kind, params); the engine turns them into GroundTruthEvent objects
EVENTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("severe_slug", {}), ("pump_trip", {}), ("degradation_onset", {}), ("failure", {"zone": "D"}),
    ("esd_trip", {"reason": "manual"}), ("esd_trip", {"reason": "condition"}),
)
EV_SEVERE, EV_PUMP_TRIP, EV_ONSET, EV_FAILURE, EV_ESD_MANUAL, EV_ESD_CONDITION = range(6)

PSI_PER_PA, GPM_TO_M3S, BBL_M3, DAY_S = ph.PSI_PER_PA, ph.GPM_TO_M3S, ph.BBL_M3, ph.DAY_S
YEAR_S, FT3_PER_M3, P_STD_PSIA, T_STD_R = ph.YEAR_S, ph.FT3_PER_M3, ph.P_STD_PSIA, ph.T_STD_R
ATM_PSI, GAS_SG, G = ph.ATM_PSI, ph.GAS_SG, ph.G
_HF = ph._HF.copy()
_VF = ph._VF.copy()

_M1, _M2, _PHI = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_A0, _A1, _A2, _A3, _A4, _A5 = _rng.A
_B0, _B1, _B2, _B3, _B4 = _rng.B
_C0, _C1, _C2, _C3, _C4, _C5 = _rng.C
_D0, _D1, _D2, _D3 = _rng.D
_P_LOW = _rng.P_LOW


STALE: set[str] = set()  # kinds whose compiled kernel no longer matches the block spec


def check(spec: BlockSpec, *, params: tuple[str, ...], states: tuple[str, ...], ports: tuple[str, ...],
          signals: tuple[str, ...]) -> bool:
    """The compiled kernel indexes by position: its name lists must be the spec's, in order. A kind
    whose spec changed without its kernel is listed in ``STALE`` and runs on the numpy path (a test
    fails until the kernel is brought up to date)."""
    have = (tuple(p.name for p in spec.params), tuple(s.name for s in spec.states),
            tuple(p.name for p in spec.ports), tuple(s.name for s in spec.signals))
    if have != (params, states, ports, signals):
        STALE.add(spec.kind)
        return False
    return True


@njit(cache=True, inline="always")
def mix(x: np.uint64) -> np.uint64:
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


@njit(cache=True)
def counter(tick: float, stream: int) -> np.uint64:
    return mix(np.uint64(np.int64(tick) + 1) * np.uint64(256) + np.uint64(stream))


@njit(cache=True)
def uniform(base: np.uint64, cnt: np.uint64) -> float:
    return float(mix(base ^ cnt) >> _S11) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _tail(q: float) -> float:
    num = ((((_C0 * q + _C1) * q + _C2) * q + _C3) * q + _C4) * q + _C5
    return num / ((((_D0 * q + _D1) * q + _D2) * q + _D3) * q + 1.0)


@njit(cache=True)
def normal(base: np.uint64, tick: float, k: int) -> float:
    """``_rng.normal``: Acklam's inverse normal CDF of one uniform in (0, 1) (stream 2k)."""
    p = (float(mix(base ^ counter(tick, 2 * k)) >> _S11) + 0.5) * (1.0 / 9007199254740992.0)
    if p < _P_LOW:
        return _tail(math.sqrt(-2.0 * math.log(p)))
    if p > 1.0 - _P_LOW:
        return -_tail(math.sqrt(-2.0 * math.log(1.0 - p)))
    q = p - 0.5
    r = q * q
    num = (((((_A0 * r + _A1) * r + _A2) * r + _A3) * r + _A4) * r + _A5) * q
    return num / (((((_B0 * r + _B1) * r + _B2) * r + _B3) * r + _B4) * r + 1.0)


@njit(cache=True)
def emit(ev: np.ndarray, nev: np.ndarray, code: int, row: int, unit: int) -> None:
    k = nev[0]
    if k < ev.shape[0]:
        ev[k, 0] = code
        ev[k, 1] = row
        ev[k, 2] = unit
    nev[0] = k + 1


@njit(cache=True)
def level_fraction(v: float) -> float:
    """np.interp(v, _VF, _HF): level fraction of a horizontal cylinder filled to volume fraction v."""
    if v <= _VF[0]:
        return float(_HF[0])
    last = _VF.shape[0] - 1
    if v >= _VF[last]:
        return float(_HF[last])
    lo, hi = 0, last
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _VF[mid] <= v:
            lo = mid
        else:
            hi = mid
    slope = (_HF[hi] - _HF[lo]) / (_VF[hi] - _VF[lo])
    return float(slope * (v - _VF[lo]) + _HF[lo])


@njit(cache=True)
def liquid_flow(cv_f: float, dp_psi: float, sg: float) -> float:
    return cv_f * math.sqrt(max(dp_psi, 0.0) / sg) * GPM_TO_M3S


@njit(cache=True)
def gas_flow(cv_f: float, p1_psig: float, p2_psig: float, t_r: float) -> float:
    p1 = p1_psig + ATM_PSI
    p2 = p2_psig + ATM_PSI
    dp = max(p1 - p2, 0.0)
    term = min(dp * (p1 + p2), 0.75 * p1 * p1)
    return 963.0 * cv_f * math.sqrt(term / (GAS_SG * t_r)) / 3600.0


@njit(cache=True)
def rankine(t_c: float) -> float:
    return t_c * 1.8 + 491.67


@njit(cache=True)
def clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


@njit(cache=True)
def lag(dt: float, tau: float) -> float:
    return 1.0 - math.exp(-dt / tau)
