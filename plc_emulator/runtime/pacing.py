"""Absolute-deadline pacing and scan statistics (no clock reads here: times are passed in).

Scan k after an anchor ``(t0, tick0)`` is planned at ``t0 + (tick - tick0) * period / speed``, so
errors never accumulate (no drift): a late scan does not push the following ones back. If the
scan thread falls more than ``max_lag`` seconds behind (a stall), the plan is re-anchored at the
current time rather than bursting through the backlog; each re-anchor is counted.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["DURATION_BUCKETS", "Histogram", "Pacer", "ScanStats"]

# Seconds; scan periods are typically 10 ms - 1 s.
DURATION_BUCKETS: tuple[float, ...] = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1, 0.25, 0.5, 1.0, 2.5)


class Pacer:
    """Plans scan start times. ``speed == 0`` means as fast as possible (no plan)."""

    def __init__(self, period: float, speed: float, *, now: float, tick: int, max_lag: float = 1.0) -> None:
        if not (period > 0 and math.isfinite(period)):
            raise ValueError(f"scan period must be > 0 s (got {period})")
        self.period = period
        self.max_lag = max_lag
        self.speed = check_speed(speed)
        self.t0 = now
        self.tick0 = tick
        self.reanchors = 0

    @property
    def wall_period(self) -> float:
        """Wall-clock seconds per tick (0 at maximum speed)."""
        return 0.0 if self.speed == 0 else self.period / self.speed

    def anchor(self, now: float, tick: int, speed: float | None = None) -> None:
        """Plan ``tick`` to start at ``now`` (used on start, resume and speed change)."""
        if speed is not None:
            self.speed = check_speed(speed)
        self.t0 = now
        self.tick0 = tick

    def planned(self, tick: int) -> float | None:
        """Planned start of ``tick`` (None at maximum speed)."""
        if self.speed == 0:
            return None
        return self.t0 + (tick - self.tick0) * self.period / self.speed

    def due(self, tick: int, now: float) -> float | None:
        """Planned start of ``tick``, after re-anchoring if the thread has fallen too far behind."""
        planned = self.planned(tick)
        if planned is not None and now - planned > max(self.max_lag, 10 * self.wall_period):
            self.anchor(now, tick)
            self.reanchors += 1
            planned = now
        return planned


def check_speed(speed: float) -> float:
    s = float(speed)
    if not math.isfinite(s) or s < 0:
        raise ValueError(f"speed must be a finite number >= 0, 0 meaning as fast as possible (got {speed!r})")
    return s


class Histogram:
    """Cumulative-on-export bucket counts, written by one thread and read by another (GIL-atomic ops)."""

    def __init__(self, buckets: tuple[float, ...] = DURATION_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # last = +Inf
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        i = 0
        for i, upper in enumerate(self.buckets):  # noqa: B007 - i is used after the loop
            if value <= upper:
                break
        else:
            i = len(self.buckets)
        self.counts[i] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        acc = 0
        for upper, n in zip((*self.buckets, math.inf), self.counts, strict=True):
            acc += n
            out.append(("+Inf" if upper == math.inf else repr(upper), acc))
        return out


@dataclass(slots=True)
class ScanStats:
    """Scan diagnostics, written only by the scan thread; readers take single-attribute snapshots."""

    ticks: int = 0  # scans run since start
    last_start: float = 0.0  # clock() of the last scan start
    last_scan_time: float = 0.0  # s
    last_jitter: float = 0.0  # s
    max_jitter: float = 0.0
    overruns: int = 0
    last_overrun: float = 0.0  # s by which the last overrun overran
    commands_applied: int = 0
    callback_errors: int = 0
    republished: int = 0
    scan_hist: Histogram = field(default_factory=Histogram)
    jitter_hist: Histogram = field(default_factory=Histogram)
    # (clock, overruns) samples about once a second, for "overruns increasing over a window"
    overrun_history: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=600))

    def record(self, *, start: float, scan_time: float, jitter: float | None, overran: float | None) -> None:
        self.ticks += 1
        self.last_start = start
        self.last_scan_time = scan_time
        self.scan_hist.observe(scan_time)
        if jitter is not None:
            self.last_jitter = jitter
            self.max_jitter = max(self.max_jitter, jitter)
            self.jitter_hist.observe(jitter)
        if overran is not None:
            self.overruns += 1
            self.last_overrun = overran
        if not self.overrun_history or start - self.overrun_history[-1][0] >= 1.0:
            self.overrun_history.append((start, self.overruns))

    def overruns_since(self, when: float) -> int:
        """Overruns counted after ``when`` (from the newest sample at or before it, else the oldest)."""
        history = list(self.overrun_history)
        if not history:
            return 0
        base = history[0][1]
        for t, n in history:
            if t > when:
                break
            base = n
        return self.overruns - base
