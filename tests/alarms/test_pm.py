"""PM rules on synthetic signals with known answers (no engine needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plc_emulator.alarms import PmConfigError, pm_params_from_mapping
from plc_emulator.alarms.config import PmParams
from plc_emulator.alarms.pm import RUL_CAP_H, PmBlock
from plc_emulator.engine.catalogue import index_of
from plc_emulator.engine.status import UNCERTAIN_EU_EXCEEDED, UNCERTAIN_NO_COMM_LAST_USABLE

from .helpers import frame

DT = 300.0
VIB = index_of("P100.vibration")


def vib_curve(t_days: np.ndarray, onset: float, beta: float, v0: float = 1.5, theta: float = 0.2) -> np.ndarray:
    """The engine's P-F model: v0 until onset, then v0 + theta (exp(beta (t - t0)) - 1)."""
    dt = np.maximum(t_days - onset, 0.0)
    return v0 + theta * (np.exp(beta * dt) - 1.0)


class TestVibration:
    def run(self, onset_days: float, beta: float, days: float, noise: float = 0.05, seed: int = 1):
        rng = np.random.default_rng(seed)
        pm = PmBlock(pm_params_from_mapping({}), dt=DT, n=1)
        ticks = int(days * 86400 / DT)
        t_days = np.arange(1, ticks + 1) * DT / 86400
        v = vib_curve(t_days, onset_days, beta) + rng.normal(0, noise, ticks)
        flags, rul = np.zeros(ticks, bool), np.zeros(ticks)
        values, status = frame()
        for k in range(ticks):
            values[0, VIB] = v[k]
            out = pm.step(values, status, tick=k + 1)
            flags[k], rul[k] = out.flags[0, 0], out.rul_h[0]
        return t_days, v, flags, rul

    def test_healthy_pump_never_flags(self) -> None:
        _, _, flags, rul = self.run(onset_days=1e9, beta=0.15, days=20)
        assert not flags.any()
        assert (rul == RUL_CAP_H).all()

    def test_degrading_pump_flagged_days_before_zone_d(self) -> None:
        """beta 0.15/day from day 5: zone D at ~5 + ln(28)/0.15 = 27 days; flag >= 72 h before it."""
        beta, onset = 0.15, 5.0
        t, _v, flags, rul = self.run(onset_days=onset, beta=beta, days=30)
        t_d = onset + math.log((7.1 - 1.5) / 0.2 + 1) / beta
        first = t[np.argmax(flags)]
        assert flags.any()
        assert (t_d - first) * 24 >= 72
        assert not flags[t < onset].any()
        # RUL at 80 % of life within 20 % of the truth
        k = int(np.argmin(np.abs(t - (onset + 0.8 * (t_d - onset)))))
        true_h = (t_d - t[k]) * 24
        assert rul[k] == pytest.approx(true_h, rel=0.2)


class TestInstruments:
    def test_frozen_sensor_flagged_after_window(self) -> None:
        """A live signal never flatlines; the same signal frozen at tick 100 flags after 5 min."""
        pm = PmBlock(pm_params_from_mapping({"instruments": {"signals": ["V100.pressure"]}}), dt=10.0)
        rng = np.random.default_rng(0)
        col = index_of("V100.pressure")
        first = None
        values, status = frame()
        for k in range(1, 200):
            values[0, col] = 1000.0 + (rng.normal(0, 1.0) if k < 100 else 0.0)
            out = pm.step(values, status, tick=k)
            if out.flags[0, 1] and first is None:
                first = k
        assert first is not None
        assert (first - 99) * 10.0 == pytest.approx(310.0)

    def test_spikes_and_lost_quality_implausible(self) -> None:
        """One isolated blip is tolerated; a second within the hold window flags; the flag is held."""
        pm = PmBlock(pm_params_from_mapping({"instruments": {"signals": ["V100.oil_level"], "hold": "60s"}}), dt=10.0)
        col = index_of("V100.oil_level")
        series = [50, 50.1, 49.9, 70, 50, 50.1, 50, 30, 50.2, 50, 49.9, 50.1, 50, 50.1, 50, 50.1, 50, 50.2]
        flags = []
        values, status = frame()
        for k, x in enumerate(series, start=1):
            values[0, col] = x
            flags.append(bool(pm.step(values, status, tick=k).flags[0, 2]))
        assert flags.index(True) == 8  # the second spike, seen when it has come back
        assert flags[-1] is False  # hold expired
        status[0, col] = UNCERTAIN_EU_EXCEEDED  # saturation alone is not an instrument fault
        assert not pm.step(values, status, tick=99).flags[0, 2]
        status[0, col] = UNCERTAIN_NO_COMM_LAST_USABLE
        assert pm.step(values, status, tick=100).flags[0, 2]


class TestStictionFouling:
    def test_stuck_valve(self) -> None:
        """OP ramps while the stem stays put: flagged once OP travels more than the band."""
        pm = PmBlock(pm_params_from_mapping({"stiction": {"loops": ["LIC100"], "band": 2.0}}), dt=1.0)
        op, valve = index_of("LIC100.out"), index_of("LIC100.valve")
        values, status = frame()
        got = []
        for k in range(1, 40):
            values[0, op] = 40.0 + 0.1 * k
            values[0, valve] = 40.0 + 0.1 * k if k < 10 else 41.0  # follows, then sticks
            got.append(bool(pm.step(values, status, tick=k).flags[0, -2]))
        assert not any(got[:25])
        assert got[-1]

    def test_fouling(self) -> None:
        pm = PmBlock(pm_params_from_mapping({"fouling": {"sample": "1h"}}), dt=600.0)
        ua = index_of("E100.ua")
        values, status = frame()
        flagged_at = None
        for k in range(1, 24 * 6 * 40):
            values[0, ua] = 80.0 / (1.0 + 2e-4 * 80.0 * (k * 600 / 86400))
            out = pm.step(values, status, tick=k)
            if out.flags[0, -1] and flagged_at is None:
                flagged_at = k * 600 / 86400
        # 80/(1+0.016 d) < 0.8 * 80  <=>  d > 15.6
        assert flagged_at == pytest.approx(15.6, abs=0.2)


class TestConfig:
    def test_every_problem_listed(self) -> None:
        with pytest.raises(PmConfigError) as info:
            pm_params_from_mapping(
                {
                    "horizon": "soon",
                    "vibration": {"zones": [4, 2, 7], "nope": 1},
                    "instruments": {"signals": ["V999.x"]},
                    "suppression": [{"alarms": [], "signal": "P100.status", "not_equal": 1}],
                }
            )
        paths = [p for p, _ in info.value.problems]
        assert paths == [
            "pm.horizon",
            "pm.vibration.nope",
            "pm.vibration.zones",
            "pm.instruments.signals[0]",
            "pm.suppression[0].alarms",
        ]
        assert "must be a duration (e.g. 30s, 5min, 2h, 7d) (got 'soon')" in str(info.value)

    def test_defaults_and_units(self) -> None:
        p = pm_params_from_mapping({"horizon": "3d", "instruments": {"flatline_window": "10min"}})
        assert isinstance(p, PmParams)
        assert p.vibration.horizon == 3 * 86400
        assert p.instruments.flatline_window == 600.0
        assert p.vibration.zones == (2.3, 4.5, 7.1)
