"""Residual-based detection of the quiet instrument faults: bias, drift and noise increase.

A single signal cannot tell a bias or a slow drift from the process (and a control loop hides a bias
on its own PV), so each checked instrument gets an *analytical redundancy*: a model of its value from
other signals that physics ties to it (a balance across a vessel, the pump curve, the stream
temperature, the vibration spectrum), configured in ``pm.residuals.models`` as
``signal: [inputs]``. Per plant:

1. **learn** (first ``learn`` seconds of normal running): least squares of the signal on its inputs
   and their squares (inputs scaled to their EU range), so a pump curve or a valve law fits;
2. **calibrate** (next ``calibrate`` seconds): mean and standard deviation of the residual's block
   means (``block`` seconds) and the variance of the residual's first differences;
3. **test**: a two-sided CUSUM on the standardised block means z, ``g+ = max(0, g+ + z - k)``,
   ``g- = max(0, g- - z - k)``, flags bias / drift when either reaches ``h`` (a bias
   jumps it, a drift walks it up); z is clipped to +/-``z_clip`` first. Once per block, the median of the residual's
   squared first differences over ``noise_window``, above ``noise_ratio`` times the learned value
   (scaled to a median), flags a noise increase; the flag stays while the ratio is above half the
   threshold. Either test raises ``PM.<signal>.residual``.
   The noise test runs on the signals in ``noise_signals``: on the model residual where the signal
   has a model, else on the signal itself (enough when the transmitter noise dominates the
   sample-to-sample change).

Samples count only in normal running (ESD not tripped, export pump RUNNING) with Good quality on the
signal and every input; otherwise the statistics hold. Flags are held ``hold`` seconds after the
last violation. Pure numpy, vectorised over the batch axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms.config import ResidualParams, span_of
from plc_emulator.engine.catalogue import LEGACY, Catalogue

__all__ = ["ResidualBlock", "ResidualOutputs"]

F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
BOOLS = npt.NDArray[np.bool_]

_MEDIAN_CHI2_1 = 0.4549364231195724  # median of chi-square with 1 degree of freedom


@dataclass(frozen=True, slots=True, kw_only=True)
class ResidualOutputs:
    flag: BOOLS  # (n, C) either test, per ``ResidualParams.checked`` signal
    residual: BOOLS  # (n, M) bias / drift flags, one per model
    noise: BOOLS  # (n, K) noise flags, one per ``noise_signals`` entry
    cusum: F64  # (n, M) CUSUM statistic (h = threshold)
    noise_ratio: F64  # (n, K) window noise variance / learned


class ResidualBlock:
    def __init__(self, params: ResidualParams, *, dt: float, n: int = 1, catalogue: Catalogue = LEGACY) -> None:
        self.p = params
        index_of = catalogue.index_of

        def lo_of(name: str) -> float:
            return float(catalogue.range_of(name)[0])

        def span(name: str) -> float:
            return span_of(name, catalogue)

        self.dt = float(dt)
        self.n = n
        models = params.models
        self.m = len(models)
        self.k = len(params.noise_signals)
        self._y = np.array([index_of(s) for s, _ in models], dtype=np.intp)
        self._y_lo = np.array([lo_of(s) for s, _ in models])
        self._y_span = np.array([span(s) for s, _ in models])
        width = max([len(ins) + 1 for _, ins in models], default=1)
        self.q = width
        # design: per model the input columns (padded with -1 -> constant 0 column); "X^2" = square of X
        cols = np.full((self.m, width - 1), -1, dtype=np.intp)
        sq = np.zeros((self.m, width - 1), dtype=np.bool_)
        for j, (_, ins) in enumerate(models):
            cols[j, : len(ins)] = [index_of(s.removesuffix("^2")) for s in ins]
            sq[j, : len(ins)] = [s.endswith("^2") for s in ins]
        self._cols = cols
        self._sq = sq
        self._used = cols >= 0
        safe = np.where(self._used, cols, 0)
        self._safe = safe
        names = catalogue.names
        self._x_lo = np.where(self._used, np.array([[lo_of(names[c]) for c in row] for row in safe]), 0.0)
        spans = np.array([[span(names[c]) for c in row] for row in safe])
        self._x_span = np.where(self._used, spans, 1.0)
        modelled = {sig: j for j, (sig, _) in enumerate(models)}
        self._noise_model = np.array([modelled.get(s, -1) for s in params.noise_signals], dtype=np.intp)
        self._noise_sig = np.array([index_of(s) for s in params.noise_signals], dtype=np.intp)
        self._noise_span = np.array([span(s) for s in params.noise_signals])
        checked = params.checked
        self._flag_res = np.array([checked.index(sig) for sig, _ in models], dtype=np.intp)
        self._flag_noise = np.array([checked.index(s) for s in params.noise_signals], dtype=np.intp)
        self.n_checked = len(checked)
        self._gate = [(index_of(s), v) for s, v in params.gate]
        self._learn_n = max(10, math.ceil(params.learn / self.dt))
        self._cal_n = max(10, math.ceil(params.calibrate / self.dt))
        self._block_n = max(1, round(params.block / self.dt))
        self._win_n = max(5, round(params.noise_window / self.dt))
        self._hold = max(1, math.ceil(params.hold / self.dt))
        m, mk, q = self.m, self.k, width
        self._xtx = np.zeros((n, m, q, q))
        self._xty = np.zeros((n, m, q))
        self._count = np.zeros((n, m), dtype=np.int64)  # normal samples seen (learning, then calibrating)
        self._beta = np.zeros((n, m, q))
        self._fitted = np.zeros((n, m), dtype=np.bool_)
        self._bsum = np.zeros((n, m))
        self._bcnt = np.zeros((n, m), dtype=np.int64)
        self._cal = np.zeros((n, m, 3))  # block means: count, sum, sum of squares
        self._mu = np.zeros((n, m))
        self._sd = np.full((n, m), np.nan)
        self._g = np.zeros((n, m))  # g+
        self._gm = np.zeros((n, m))  # g-
        self._prev_e = np.full((n, mk), np.nan)
        self._d2_learn = np.zeros((n, mk, 2))  # count, sum of squared first differences
        self._d2_ref = np.full((n, mk), np.nan)
        self._ring = np.full((self._win_n, n, mk), np.nan)  # squared first differences (NaN = not used)
        self._ring_i = 0
        self._last_res = np.full((n, m), -(10**12), dtype=np.int64)
        self._last_noise = np.full((n, mk), -(10**12), dtype=np.int64)
        self._ratio = np.full((n, mk), np.nan)
        self.tick = 0

    # ------------------------------------------------------------------------------------------
    def _design(self, values: F64) -> F64:
        """(n, m, q): inputs scaled to their EU range (squared where asked), then 1 (unused: 0)."""
        x = (values[:, self._safe] - self._x_lo) / self._x_span
        x = np.where(self._used, np.where(self._sq, x * x, x), 0.0)
        return np.concatenate([x, np.ones((*x.shape[:2], 1))], axis=2)

    def step(self, values: F64, status: U32, *, tick: int) -> ResidualOutputs:
        self.tick = int(tick)
        good = (status >> np.uint32(30)) == 0
        normal = np.ones(self.n, dtype=np.bool_)
        for col, want in self._gate:
            normal &= np.abs(values[:, col] - want) < 0.5
        ok_in = np.all(good[:, self._safe] | ~self._used, axis=2)
        ok = normal[:, None] & good[:, self._y] & ok_in  # (n, m)
        y = (values[:, self._y] - self._y_lo) / self._y_span
        x = self._design(values)
        e = self._models(x, y, ok)
        own = self._noise_model < 0
        mi = np.where(own, 0, self._noise_model)
        raw = np.where(own, values[:, self._noise_sig] / self._noise_span, e[:, mi] if self.m else 0.0)
        ok_m = (ok & self._fitted)[:, mi] if self.m else np.zeros((self.n, self.k), dtype=np.bool_)
        ok_all = np.where(own, normal[:, None] & good[:, self._noise_sig], ok_m)
        self._noise(raw, ok_all)
        res_flag = (self.tick - self._last_res) < self._hold
        noise_flag = (self.tick - self._last_noise) < self._hold
        flag = np.zeros((self.n, self.n_checked), dtype=np.bool_)
        flag[:, self._flag_res] |= res_flag
        flag[:, self._flag_noise] |= noise_flag
        return ResidualOutputs(flag=flag, residual=res_flag, noise=noise_flag, cusum=np.maximum(self._g, self._gm),
                               noise_ratio=self._ratio.copy())

    def _models(self, x: F64, y: F64, ok: BOOLS) -> F64:
        """Learn, calibrate, test; returns the residual (n, m) in fractions of span (NaN before the fit)."""
        learning = ok & ~self._fitted
        if learning.any():
            w = learning[:, :, None]
            self._xtx += np.where(w[:, :, :, None], x[:, :, :, None] * x[:, :, None, :], 0.0)
            self._xty += np.where(w, x * y[:, :, None], 0.0)
            self._count += learning
            done = learning & (self._count >= self._learn_n)
            if done.any():
                ridge = 1e-6 * np.eye(self.q)
                beta = np.linalg.solve(self._xtx + ridge, self._xty[..., None])[..., 0]
                self._beta = np.where(done[:, :, None], beta, self._beta)
                self._fitted |= done
                self._count = np.where(done, 0, self._count)
        e = np.where(self._fitted, y - np.einsum("nmq,nmq->nm", x, self._beta), np.nan)
        use = ok & self._fitted
        self._bsum += np.where(use, e, 0.0)
        self._bcnt += use
        if (self.tick + 1) % self._block_n == 0:
            full = self._bcnt >= max(1, self._block_n // 2)
            mean = self._bsum / np.maximum(self._bcnt, 1)
            self._bsum[:] = 0.0
            self._bcnt[:] = 0
            self._blocks(mean, full)
        return e

    def _blocks(self, mean: F64, full: BOOLS) -> None:
        p = self.p
        calibrating = full & np.isnan(self._sd)
        self._cal[:, :, 0] += calibrating
        self._cal[:, :, 1] += np.where(calibrating, mean, 0.0)
        self._cal[:, :, 2] += np.where(calibrating, mean * mean, 0.0)
        ready = calibrating & (self._cal[:, :, 0] * self._block_n >= self._cal_n)
        if ready.any():
            c = self._cal[:, :, 0]
            mu = self._cal[:, :, 1] / np.maximum(c, 1)
            var = self._cal[:, :, 2] / np.maximum(c, 1) - mu * mu
            sd = np.sqrt(np.maximum(var, 0.0))
            self._mu = np.where(ready, mu, self._mu)
            self._sd = np.where(ready, np.maximum(sd, p.min_sd), self._sd)
        testing = full & ~np.isnan(self._sd) & ~ready
        z = np.where(testing, (mean - self._mu) / np.where(np.isnan(self._sd), 1.0, self._sd), 0.0)
        z = np.clip(z, -p.z_clip, p.z_clip)  # one slug front or trip transient must not decide alone
        up = np.where(testing, np.maximum(0.0, self._g + z - p.k), self._g)
        down = np.where(testing, np.maximum(0.0, self._gm - z - p.k), self._gm)
        self._g, self._gm = np.minimum(up, 2.0 * p.h), np.minimum(down, 2.0 * p.h)  # capped: clears soon after
        self._last_res = np.where(np.maximum(self._g, self._gm) >= p.h, self.tick, self._last_res)

    def _noise(self, raw: F64, ok: BOOLS) -> None:
        d = raw - self._prev_e
        valid = ok & ~np.isnan(d)
        self._prev_e = np.where(ok, raw, np.nan)
        d2 = np.where(valid, d * d, 0.0)
        learning = valid & np.isnan(self._d2_ref)
        self._d2_learn[:, :, 0] += learning
        self._d2_learn[:, :, 1] += np.where(learning, d2, 0.0)
        ready = learning & (self._d2_learn[:, :, 0] >= self._cal_n)
        if ready.any():
            ref = self._d2_learn[:, :, 1] / np.maximum(self._d2_learn[:, :, 0], 1)
            self._d2_ref = np.where(ready, np.maximum(ref, (0.1 * self.p.min_sd) ** 2), self._d2_ref)
        testing = valid & ~np.isnan(self._d2_ref) & ~ready
        self._ring[self._ring_i] = np.where(testing, d2, np.nan)
        self._ring_i = (self._ring_i + 1) % self._win_n
        if (self.tick + 1) % self._block_n:
            return
        # once per block: the window's median squared difference against the learned mean; for
        # Gaussian noise median(d^2) = 0.455 mean(d^2), and a few process transients do not move it
        enough = np.sum(~np.isnan(self._ring), axis=0) >= self._win_n // 2
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.where(enough[None], self._ring, 0.0), axis=0)
        self._ratio = np.where(enough, med / (_MEDIAN_CHI2_1 * self._d2_ref), np.nan)
        ratio = np.nan_to_num(self._ratio)
        over = enough & (ratio > self.p.noise_ratio)
        # hysteresis: a raised flag stays while the ratio is above half the threshold, so one upset
        # that lasts gives one alert, not one per hold period
        held = (self.tick - self._last_noise) < self._hold
        keep = enough & held & (ratio > 0.5 * self.p.noise_ratio)
        self._last_noise = np.where(over | keep, self.tick, self._last_noise)
