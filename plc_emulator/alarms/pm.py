"""Predictive-maintenance rules, vectorised over the batch axis (one row per plant).

Rules (parameters in the tag map's ``pm:`` section, defaults in :mod:`plc_emulator.alarms.config`):

* **Pump vibration** (ISO 10816-3 zones, exponential P-F fit). Samples of ``sample`` seconds are averaged
  (Good quality, pump running: value > 0.2 mm/s). The healthy baseline phi is the mean of the
  first ``baseline_samples`` averages. Every new average, ``ln(v - phi) = ln(theta) + beta t`` is
  fitted by OLS over the points of the last ``window`` that stand at least 0.1 mm/s above phi; with
  at least ``min_points`` of them, ``beta > 0`` and the latest average ``min_rise`` above phi, the
  predicted time to the C/D boundary is ``t_D = (ln(v_CD - phi) - ln(theta)) / beta`` and
  RUL = ``t_D - t_now`` (else infinite). The zone (A..D) comes from a 10-minute EWMA. The flag
  rises when the zone is C or worse, or when RUL < ``horizon`` for ``persistence`` averages running.
* **Instrument flatline** (docs/alarms.md): a Good-quality value that has not moved more than
  ``flatline_tol`` x span for ``flatline_window`` seconds is frozen. Values pinned at a range end
  and non-Good values restart the window (they are not "frozen", they are saturated or bad).
* **Instrument plausibility**: two one-sample excursions larger than ``spike`` x span, each
  coming straight back to within 0.3 x that of where it started, within about ``hold`` (spikes);
  a step faster than ``roc`` x span per second; or lost quality (Bad, or Uncertain other than
  UncertainEngineeringUnitsExceeded: a saturated reading is what a shut-down plant shows, so it
  is left to the quality code and the limit alarms). Held for ``hold`` seconds.
* **Valve stiction**: while the valve stem does not move (less than ``move`` % per sample) the
  controller output keeps travelling; an OP excursion larger than ``band`` % since the last stem
  movement is a stuck episode (Choudhury's S). The flag is held ``hold`` seconds after an episode.
* **Heat-exchanger fouling**: hourly mean UA against its clean value (configured, or the highest
  hourly mean seen); flag when UA < (1 - ``drop``) x clean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from plc_emulator.alarm_points import RUL_CAP_H
from plc_emulator.alarms.config import PmParams, span_of
from plc_emulator.alarms.residuals import ResidualBlock, ResidualOutputs
from plc_emulator.engine.catalogue import LEGACY, Catalogue

__all__ = ["RUL_CAP_H", "PmBlock", "PmOutputs"]

F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
BOOLS = npt.NDArray[np.bool_]

_EU_EXCEEDED: Final = 0x40940000
_BIG: Final = float(np.finfo(np.float64).max)


def _nan_to_num(x: F64, nan: float = 0.0) -> F64:
    """``np.nan_to_num(x, nan=nan)`` for float64 arrays (NaN -> nan, +-inf -> +-max) in four
    ufunc calls instead of nan_to_num's dozen, which dominated the per-tick cost at N = 1."""
    out: F64 = np.minimum(np.maximum(np.where(np.isnan(x), nan, x), -_BIG), _BIG)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PmOutputs:
    flags: BOOLS  # (n, F) in the order of config.pm_alarm_defs
    zone: npt.NDArray[np.int8]  # (n,) 0=A .. 3=D
    rul_h: F64  # (n,) hours to the C/D boundary, RUL_CAP_H when no prediction
    vib_mean: F64  # (n,) latest sample mean, mm/s (NaN until the first)
    stiction_band: F64  # (n, L) OP travel (%) since the stem last moved
    ua_ratio: F64  # (n,) UA / clean UA (NaN until the first sample)
    residuals: ResidualOutputs  # bias/drift and noise statistics (alarms/residuals.py)


class PmBlock:
    def __init__(self, params: PmParams, *, dt: float, n: int = 1, catalogue: Catalogue = LEGACY) -> None:
        """``catalogue``: the plant's signals, in the column order of the values ``step`` gets."""
        self.p = params
        self.dt = float(dt)
        self.n = int(n)
        index_of = catalogue.index_of
        v = params.vibration
        self._vib = index_of(v.signal) if v.enabled else 0
        self._vib_every = max(1, round(v.sample / self.dt))
        self._vib_k = max(3, round(v.window / v.sample))
        self._vib_sum = np.zeros(n)
        self._vib_cnt = np.zeros(n, dtype=np.int64)
        self._vib_pts = np.full((n, self._vib_k), np.nan)  # ring of sample means, newest last
        self._vib_t = np.full(self._vib_k, np.nan)  # their times (s), same for every plant
        self._base_sum = np.zeros(n)
        self._base_cnt = np.zeros(n, dtype=np.int64)
        self._phi = np.full(n, np.nan)
        self._ewma = np.full(n, np.nan)
        self._alpha = 1.0 - math.exp(-self.dt / 600.0)
        self._rul_s = np.full(n, np.inf)
        self._persist = np.zeros(n, dtype=np.int64)
        self._vib_flag = np.zeros(n, dtype=np.bool_)
        self._vib_mean = np.full(n, np.nan)
        # instruments
        ins = params.instruments
        self._ins = np.array([index_of(s) for s in ins.signals], dtype=np.intp)
        self._span = np.array([span_of(s, catalogue) for s in ins.signals])
        self._lo = np.array([catalogue.range_of(s)[0] for s in ins.signals], dtype=np.float64)
        self._hi = np.array([catalogue.range_of(s)[1] for s in ins.signals], dtype=np.float64)
        m = len(ins.signals)
        self._ref = np.full((n, m), np.nan)
        self._since = np.zeros((n, m), dtype=np.int64)
        self._flat_ticks = max(2, math.ceil(ins.flatline_window / self.dt - 1e-9))
        self._prev = np.full((n, m), np.nan)
        self._prev2 = np.full((n, m), np.nan)
        self._last_bad = np.full((n, m), -(10**12), dtype=np.int64)
        self._hold = math.ceil(ins.hold / self.dt - 1e-9)
        self._spikes = np.zeros((n, m))
        self._spike_decay = 0.5 ** (self.dt / max(ins.hold, self.dt))
        # stiction
        st = params.stiction
        self._op = np.array([index_of(f"{lp}.out") for lp in st.loops], dtype=np.intp)
        self._valve = np.array([index_of(f"{lp}.valve") for lp in st.loops], dtype=np.intp)
        nl = len(st.loops)
        self._valve_prev = np.full((n, nl), np.nan)
        self._op_ref = np.full((n, nl), np.nan)
        self._stuck_at = np.full((n, nl), -(10**12), dtype=np.int64)
        self._stiction_hold = math.ceil(st.hold / self.dt - 1e-9)
        self._band = np.zeros((n, nl))
        # fouling
        f = params.fouling
        self._ua = index_of(f.signal) if f.enabled else 0
        self._ua_every = max(1, round(f.sample / self.dt))
        self._ua_sum = np.zeros(n)
        self._ua_cnt = 0
        self._ua_clean = np.full(n, np.nan if f.clean is None else f.clean)
        self._ua_ratio = np.full(n, np.nan)
        # residual-based bias / drift / noise detection (flags between the instrument and stiction flags)
        self._res = ResidualBlock(params.residuals, dt=self.dt, n=n, catalogue=catalogue)
        self.tick = 0
        self._zones = np.asarray(params.vibration.zones)  # constant: not rebuilt every tick

    @property
    def n_flags(self) -> int:
        r = self._res
        return int(self.p.vibration.enabled) + 2 * len(self._ins) + r.n_checked + len(self._op) + int(
            self.p.fouling.enabled)

    def step(self, values: F64, status: U32, *, tick: int) -> PmOutputs:
        """Flags in the order of ``config.pm_alarm_defs``: vibration (if on), per instrument frozen and
        implausible, residuals, stiction per loop, fouling (if on)."""
        self.tick = int(tick)
        good = (status >> np.uint32(30)) == 0
        v0 = int(self.p.vibration.enabled)
        flags = np.empty((self.n, self.n_flags), dtype=np.bool_)
        if v0:
            flags[:, 0] = self._vibration(values[:, self._vib], good[:, self._vib])
        frozen, implausible = self._instruments(
            values[:, self._ins], status[:, self._ins], good[:, self._ins]
        )
        stiction = self._stiction(values[:, self._op], values[:, self._valve])
        res = self._res.step(values, status, tick=tick)
        m = len(self._ins)
        flags[:, v0 : v0 + 2 * m : 2] = frozen
        flags[:, v0 + 1 : v0 + 1 + 2 * m : 2] = implausible
        r0 = v0 + 2 * m
        flags[:, r0 : r0 + res.flag.shape[1]] = res.flag
        s0 = r0 + res.flag.shape[1]
        flags[:, s0 : s0 + len(self._op)] = stiction
        if self.p.fouling.enabled:
            flags[:, -1] = self._fouling(values[:, self._ua])
        zones = self._zones
        zone = np.where(
            np.isnan(self._ewma), 0, np.searchsorted(zones, _nan_to_num(self._ewma), side="right")
        )
        rul_h = np.minimum(self._rul_s / 3600.0, RUL_CAP_H)
        return PmOutputs(
            flags=flags,
            zone=zone.astype(np.int8),
            rul_h=rul_h,
            vib_mean=self._vib_mean.copy(),
            stiction_band=self._band.copy(),
            ua_ratio=self._ua_ratio.copy(),
            residuals=res,
        )

    # ------------------------------------------------------------------------------------------

    def _vibration(self, v: F64, good: BOOLS) -> BOOLS:
        p = self.p.vibration
        run = good & (v > 0.2)
        self._ewma = np.where(
            np.isnan(self._ewma),
            np.where(run, v, np.nan),
            np.where(run, self._ewma + self._alpha * (v - self._ewma), self._ewma),
        )
        self._vib_sum += np.where(run, v, 0.0)
        self._vib_cnt += run
        if (self.tick + 1) % self._vib_every == 0:
            mean = np.where(self._vib_cnt > 0, self._vib_sum / np.maximum(self._vib_cnt, 1), np.nan)
            self._vib_sum[:] = 0.0
            self._vib_cnt[:] = 0
            self._vib_mean = mean
            self._vib_pts = np.roll(self._vib_pts, -1, axis=1)
            self._vib_pts[:, -1] = mean
            self._vib_t = np.roll(self._vib_t, -1)
            self._vib_t[-1] = self.tick * self.dt
            learning = (self._base_cnt < p.baseline_samples) & ~np.isnan(mean)
            self._base_sum += np.where(learning, mean, 0.0)
            self._base_cnt += learning
            self._phi = np.where(self._base_cnt > 0, self._base_sum / np.maximum(self._base_cnt, 1), np.nan)
            self._fit()
            soon = self._rul_s < p.horizon
            self._persist = np.where(soon, self._persist + 1, 0)
            zone_c = _nan_to_num(mean) >= p.zones[1]
            self._vib_flag = zone_c | (self._persist >= p.persistence)
        out: BOOLS = self._vib_flag | (_nan_to_num(self._ewma) >= p.zones[2])
        return out

    def _fit(self) -> None:
        p = self.p.vibration
        phi = self._phi[:, None]
        rise = self._vib_pts - phi
        use = (rise > 0.1) & ~np.isnan(rise) & ~np.isnan(self._vib_t)[None, :]
        cnt = use.sum(axis=1)
        t = np.where(use, self._vib_t[None, :], 0.0)
        y = np.where(use, np.log(np.where(use, rise, 1.0)), 0.0)
        c = np.maximum(cnt, 1)
        tm = t.sum(axis=1) / c
        ym = y.sum(axis=1) / c
        dt_ = np.where(use, t - tm[:, None], 0.0)
        sxx = (dt_ * dt_).sum(axis=1)
        sxy = (dt_ * (y - ym[:, None])).sum(axis=1)
        beta = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
        ln_theta = ym - beta * tm
        latest = self._vib_pts[:, -1]
        target = p.zones[2] - self._phi
        ok = (
            (cnt >= p.min_points)
            & (beta > 0)
            & (_nan_to_num(latest - self._phi) >= p.min_rise)
            & (target > 0)
        )
        t_d = (np.log(np.where(target > 0, target, 1.0)) - ln_theta) / np.where(beta > 0, beta, 1.0)
        now = self.tick * self.dt
        self._rul_s = np.where(ok, np.maximum(t_d - now, 0.0), np.inf)

    def _instruments(self, x: F64, status: U32, good: BOOLS) -> tuple[BOOLS, BOOLS]:
        ins = self.p.instruments
        tol = ins.flatline_tol * self._span
        pinned = (x <= self._lo) | (x >= self._hi)
        moved = ~(np.abs(x - self._ref) <= tol) | ~good | pinned
        self._ref = np.where(moved, x, self._ref)
        self._since = np.where(moved, self.tick, self._since)
        frozen = (self.tick - self._since) >= self._flat_ticks
        # plausibility on the previous sample (one-sample look-back for the spike's return)
        jump1 = self._prev - self._prev2
        jump2 = self._prev - x
        lim = ins.spike * self._span
        back = np.abs(x - self._prev2) <= 0.3 * lim  # and the value came back to where it was
        spike = (np.abs(jump1) > lim) & (np.abs(jump2) > lim) & (np.sign(jump1) == np.sign(jump2)) & back
        roc = np.abs(x - self._prev) / self.dt > ins.roc * self._span
        # lost quality (Bad, or Uncertain other than the NE 43 saturation a shut-down plant shows)
        saturated = (status & np.uint32(0xFFFF0000)) == np.uint32(_EU_EXCEEDED)
        lost = ~good & ~saturated
        # isolated one-sample blips happen in a real process (valve slips, slug fronts): a spike
        # counts once a second one follows within the hold window
        self._spikes = self._spikes * self._spike_decay + spike
        bad = (self._spikes >= 1.5) | (_nan_to_num(roc) > 0) | lost
        self._last_bad = np.where(bad, self.tick, self._last_bad)
        self._prev2 = np.where(good, self._prev, self._prev2)
        self._prev = np.where(good, x, self._prev)
        implausible = (self.tick - self._last_bad) < max(1, self._hold)
        return frozen, implausible

    def _stiction(self, op: F64, valve: F64) -> BOOLS:
        st = self.p.stiction
        moved = ~(np.abs(valve - self._valve_prev) < st.move)
        self._op_ref = np.where(moved, op, self._op_ref)
        self._valve_prev = np.where(moved, valve, self._valve_prev)
        self._band = _nan_to_num(np.abs(op - self._op_ref))
        stuck = self._band > st.band
        self._stuck_at = np.where(stuck, self.tick, self._stuck_at)
        return (self.tick - self._stuck_at) < max(1, self._stiction_hold)

    def _fouling(self, ua: F64) -> BOOLS:
        f = self.p.fouling
        self._ua_sum += ua
        self._ua_cnt += 1
        if (self.tick + 1) % self._ua_every == 0:
            mean = self._ua_sum / self._ua_cnt
            self._ua_sum[:] = 0.0
            self._ua_cnt = 0
            if f.clean is None:
                self._ua_clean = np.fmax(self._ua_clean, mean)
            self._ua_ratio = mean / self._ua_clean
        out: BOOLS = _nan_to_num(self._ua_ratio, nan=1.0) < 1.0 - f.drop
        return out
