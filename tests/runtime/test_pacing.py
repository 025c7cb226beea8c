"""Pacing: absolute deadlines (unit), and the simulated clock tracking wall time at speed 1 (live)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from plc_emulator.image.snapshot import Snapshot
from plc_emulator.runtime.pacing import Histogram, Pacer, ScanStats
from plc_emulator.tagmap.model import TagMap
from tests.runtime.conftest import running


class TestPacer:
    def test_plan_is_absolute(self) -> None:
        """Scan k is planned at t0 + k * period / speed, independent of when earlier scans ran."""
        p = Pacer(0.1, 2.0, now=100.0, tick=1)
        assert p.planned(1) == 100.0
        assert p.planned(11) == pytest.approx(100.0 + 10 * 0.05)
        # a late scan does not move the plan (no drift): due() returns the same time while within max_lag
        assert p.due(11, now=100.9) == pytest.approx(100.5)
        assert p.reanchors == 0

    def test_stall_reanchors_instead_of_bursting(self) -> None:
        """Falling more than max_lag behind re-anchors the plan at 'now' and counts it."""
        p = Pacer(0.1, 1.0, now=0.0, tick=1, max_lag=1.0)
        assert p.due(5, now=5.0) == 5.0
        assert p.reanchors == 1
        assert p.planned(6) == pytest.approx(5.1)

    def test_max_speed_has_no_plan(self) -> None:
        p = Pacer(0.1, 0.0, now=0.0, tick=1)
        assert p.planned(100) is None
        assert p.wall_period == 0.0

    @pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
    def test_bad_speed(self, bad: float) -> None:
        with pytest.raises(ValueError, match="speed must be"):
            Pacer(0.1, bad, now=0.0, tick=1)

    def test_bad_period(self) -> None:
        with pytest.raises(ValueError, match="scan period"):
            Pacer(0.0, 1.0, now=0.0, tick=1)


class TestStats:
    def test_histogram_buckets_are_cumulative(self) -> None:
        h = Histogram((0.001, 0.01))
        for v in (0.0005, 0.005, 0.005, 1.0):
            h.observe(v)
        assert h.cumulative() == [("0.001", 1), ("0.01", 3), ("+Inf", 4)]
        assert h.total == pytest.approx(1.0105)

    def test_overruns_since_uses_the_window(self) -> None:
        """Overruns counted after a time: from the newest sample at or before it."""
        st = ScanStats()
        st.record(start=0.0, scan_time=0.001, jitter=0.0, overran=None)
        st.record(start=1.0, scan_time=0.2, jitter=0.0, overran=0.1)
        st.record(start=2.0, scan_time=0.2, jitter=0.0, overran=0.1)
        st.record(start=30.0, scan_time=0.001, jitter=0.0, overran=None)
        assert st.overruns == 2
        assert st.overruns_since(0.5) == 2
        assert st.overruns_since(1.5) == 1
        assert st.overruns_since(25.0) == 0


async def _track(tagmap: TagMap, seconds: float, speed: float = 1.0) -> tuple[float, float, float]:
    """Run at ``speed`` for ``seconds`` of simulated time; return (simulated s, wall s, max jitter s).

    Wall times are taken inside the scan thread (an on_snapshot callback), so asyncio wake-up
    latency does not enter the measurement.
    """
    starts: dict[int, float] = {}

    def stamp(snap: Snapshot) -> None:
        starts.setdefault(snap.tick, time.perf_counter())

    ticks = round(seconds / tagmap.scan_period)
    async with running(tagmap, paused=False, speed=speed) as plc:
        plc.on_snapshot(stamp)
        async with asyncio.timeout(seconds / speed * 3 + 10):
            first = (await plc.wait_tick(2)).tick
            await plc.wait_tick(first + ticks)
        jitter = plc.stats.max_jitter
    last = first + ticks
    return ticks * tagmap.scan_period, starts[last] - starts[first], jitter


class TestRealTime:
    async def test_speed_1_tracks_wall_time_5s(self, tagmap: TagMap) -> None:
        """Over 5 s the simulated clock matches wall time within 1 %.

        Deadlines are absolute, so the error does not grow with run length: it is the jitter of the
        two end scans (sub-millisecond on an idle machine). 1 % of 5 s = 50 ms leaves room for the
        scheduling delays of a 2-core machine shared by several test runs; the 60 s test below holds
        the issue's 0.5 %.
        """
        sim, wall, _ = await _track(tagmap, 5.0)
        assert abs(wall - sim) / sim < 0.01

    @pytest.mark.slow
    async def test_speed_1_tracks_wall_time_60s(self, tagmap: TagMap) -> None:
        """The issue's requirement: within 0.5 % over 60 s."""
        sim, wall, _ = await _track(tagmap, 60.0)
        assert abs(wall - sim) / sim < 0.005

    async def test_speed_10_runs_ten_times_faster(self, tagmap: TagMap) -> None:
        """speed=10: 5 s simulated take 0.5 s of wall time (scan thread timestamps)."""
        sim, wall, _ = await _track(tagmap, 5.0, speed=10.0)
        assert sim == pytest.approx(5.0)
        # scans never start early (absolute plan); the end scans may be late by scheduling delays
        assert 0.45 <= wall < 0.6
