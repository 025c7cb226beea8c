"""Scoring against ground truth: a sensible detector passes, broken ones fail the goals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plc_emulator.alarms.scoring import Alert, FaultTruth, PlantTruth, RulSeries, fit_weibull, score

DAY = 86400.0
H = 3600.0


def fleet(n: int = 40, seed: int = 3) -> list[PlantTruth]:
    """Half the plants fail (onset then failure 25 days later); every plant has one frozen sensor."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        onset = float(rng.uniform(5, 60)) * DAY if i % 2 == 0 else None
        failure = onset + 25 * DAY if onset is not None else None
        start = float(rng.uniform(1, 80)) * DAY
        out.append(
            PlantTruth(
                onset=onset,
                failure=failure,
                faults=(FaultTruth(kind="freeze", target="V100.pressure", start=start, end=start + 6 * H),),
            )
        )
    return out


def rul_for(t: PlantTruth, bias: float = 1.0) -> RulSeries:
    times = np.arange(0, 120 * DAY, H)
    if t.failure is None:
        return RulSeries(times=times, rul_h=np.full(times.shape, np.inf))
    rul = np.where(times >= t.onset, (t.failure - times) / H * bias, np.inf)
    return RulSeries(times=times, rul_h=rul)


def good_alerts(t: PlantTruth) -> list[Alert]:
    a = [Alert(time=f.start + 360.0, rule="flatline", subject=f.target) for f in t.faults]
    if t.failure is not None:
        a.append(Alert(time=t.failure - 5 * DAY, rule="vibration", subject="P100"))
    return a


def run(alerts_fn, rul_bias: float = 1.0):  # type: ignore[no-untyped-def]
    truths = fleet()
    return score(
        truths,
        [alerts_fn(t) for t in truths],
        [rul_for(t, rul_bias) for t in truths],
        horizon=120 * DAY,
        grace=3600.0,
        weibull_true=(1.3, 30.0),
    )


class TestScore:
    def test_good_detector_passes(self) -> None:
        r = run(good_alerts)
        assert r["failed_plants"] == 20
        assert r["lead_time_h"]["median"] == pytest.approx(120.0)
        assert r["missed_failures"] == 0
        assert r["alerts"]["false"] == 0
        assert r["alert_latency_s"]["freeze"]["median"] == pytest.approx(360.0)
        assert r["rul"]["at_50pct_life"]["share_within_20pct"] == 1.0
        assert r["all_goals_pass"] is True

    def test_silent_detector_fails(self) -> None:
        """A detector that never alerts misses every failure and every frozen sensor."""
        r = run(lambda t: [])
        assert r["missed_share"] == 1.0
        assert r["goals"]["median_lead_h"]["pass"] is False
        assert r["goals"]["missed_share"]["pass"] is False
        assert r["goals"]["freeze_latency_p90_s"]["pass"] is False
        assert r["alert_latency_s"]["freeze"]["undetected"] == 40

    def test_trigger_happy_detector_fails_false_alerts(self) -> None:
        """Alerting on vibration every day from day 1 catches everything but floods false alerts."""

        def noisy(t: PlantTruth) -> list[Alert]:
            return good_alerts(t) + [Alert(time=d * DAY, rule="vibration", subject="P100") for d in range(1, 5)]

        r = run(noisy)
        assert r["alerts"]["false"] >= 40
        assert r["goals"]["false_alerts_per_30_healthy_days"]["pass"] is False

    def test_late_detector_fails_lead_time(self) -> None:
        def late(t: PlantTruth) -> list[Alert]:
            return [
                a if a.rule != "vibration" else Alert(time=t.failure - 3600.0, rule="vibration", subject="P100")
                for a in good_alerts(t)
            ]

        r = run(late)
        assert r["lead_time_h"]["median"] == pytest.approx(1.0)
        assert r["goals"]["median_lead_h"]["pass"] is False

    def test_rul_bias_measured(self) -> None:
        r = run(good_alerts, rul_bias=1.5)
        assert r["rul"]["at_50pct_life"]["share_within_20pct"] == 0.0
        assert r["rul"]["at_80pct_life"]["mae_h"] == pytest.approx(0.5 * 0.2 * 25 * 24, rel=0.1)


class TestWeibull:
    def test_recovers_parameters_with_censoring(self) -> None:
        rng = np.random.default_rng(11)
        shape, eta = 1.8, 50.0
        t = eta * (-np.log(rng.uniform(size=4000))) ** (1.0 / shape)
        cens = 60.0
        k, e = fit_weibull(np.minimum(t, cens).tolist(), (t <= cens).tolist())
        assert k == pytest.approx(shape, rel=0.05)
        assert e == pytest.approx(eta, rel=0.05)
        assert math.isfinite(k)

    def test_needs_failures(self) -> None:
        with pytest.raises(ValueError, match="needs >= 2 failures"):
            fit_weibull([1.0, 2.0], [True, False])
