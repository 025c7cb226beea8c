"""Kalman estimator block on a healthy run: a random-walk process read by the real transmitter
block (noise + quantisation); the innovation is white with variance S (mean NIS 1), and the
estimate's error variance is below the raw measurement's."""

from __future__ import annotations

from functools import cache

import numpy as np

from plc_emulator.engine.blocks import KERNELS, LIBRARY, Context, initial_state, resolve_params
from plc_emulator.engine.blocks.kalman import measurement_variance
from plc_emulator.engine.types import F64

STEPS = 8000
DT = 1.0
RANGE = {"lo": 0.0, "hi": 100.0, "accuracy_pct": 0.5, "bits": 12.0}
Q_PER_S = 1e-3  # the process: a random walk, sigma^2 per second


def _unit(kind: str, params: dict[str, float], init: dict[str, float]) -> tuple[dict[str, F64], dict[str, F64]]:
    spec = LIBRARY[kind]
    p = resolve_params(spec.params, params, 1)
    s = initial_state(spec, p, resolve_params(spec.initial, init, 1), 1)
    return {k: v[:, None] for k, v in p.items()}, {k: v[:, None] for k, v in s.items()}


@cache
def _run(*, bad_from: int | None = None) -> dict[str, F64]:
    rng = np.random.default_rng(7)
    truth = 50.0 + np.cumsum(rng.normal(0.0, np.sqrt(Q_PER_S * DT), STEPS))
    tp, ts = _unit("transmitter", RANGE, {})
    kp, ks = _unit("kalman", {**RANGE, "q_per_s": Q_PER_S}, {"estimate": 50.0})
    tx, kf = KERNELS["transmitter"], KERNELS["kalman"]
    engine_rng = np.random.Generator(np.random.PCG64(3))
    rec: dict[str, list[float]] = {"z": [], "x": [], "nu": [], "s": [], "nis": [], "p": []}
    for k in range(STEPS):
        ctx = Context(tick=k, dt=DT, t=0.0, sim_s=k * DT, rng=engine_rng)
        ts = {**ts, **tx.update(tp, ts, {"_truth": np.full((1, 1), truth[k])}, ctx)}
        reading = tx.out(tp, ts, ctx)
        bad = np.full((1, 1), 1.0 if bad_from is not None and k >= bad_from else 0.0)
        ks = {**ks, **kf.update(kp, ks, {"measurement": reading["pct"], "bad": bad, "u": np.zeros((1, 1))}, ctx)}
        sig = kf.signals(kp, ks, {}, ctx)
        rec["z"].append(float(ts["value"][0, 0]))
        rec["x"].append(float(sig["estimate"][0, 0]))
        rec["nu"].append(float(sig["innovation"][0, 0]))
        rec["s"].append(float(ks["s"][0, 0]))
        rec["nis"].append(float(sig["nis"][0, 0]))
        rec["p"].append(float(ks["p"][0, 0]))
    out = {k: np.array(v) for k, v in rec.items()}
    out["truth"] = truth
    out["r"] = measurement_variance(kp)[:, 0]
    return out


def test_innovation_is_white_with_the_predicted_variance() -> None:
    r = _run()
    nu, s = r["nu"][100:], r["s"][100:]
    n = nu.size
    assert abs(np.mean(r["nis"][100:]) - 1.0) < 0.05  # chi2(1) mean of 7900 samples: sd 0.016
    assert abs(np.var(nu) / np.mean(s) - 1.0) < 0.05
    e = (nu - nu.mean()) / nu.std()
    for lag in range(1, 6):
        rho = float(np.mean(e[:-lag] * e[lag:]))
        assert abs(rho) < 4.0 / np.sqrt(n), (lag, rho)


def test_estimate_error_variance_is_below_the_measurement_noise() -> None:
    r = _run()
    err_x = np.var(r["x"][100:] - r["truth"][100:])
    err_z = np.var(r["z"][100:] - r["truth"][100:])
    assert abs(err_z / float(r["r"][0]) - 1.0) < 0.1  # R matches the transmitter's noise model
    assert err_x < 0.5 * err_z
    assert abs(err_x / np.mean(r["p"][100:]) - 1.0) < 0.15  # P is the actual error variance


def test_a_bad_measurement_coasts_instead_of_updating() -> None:
    r = _run(bad_from=STEPS - 50)
    assert np.all(r["nu"][-50:] == 0.0)
    assert np.all(np.diff(r["p"][-50:]) > 0.0)  # uncertainty grows while coasting
    assert len(set(np.round(r["x"][-50:], 12))) == 1  # a random-walk model holds the last estimate
