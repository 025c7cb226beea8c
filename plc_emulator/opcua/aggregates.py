"""OPC UA Part 13 aggregates over raw history (pure: no asyncua, no SQLite).

Input: the raw samples of one variable in time order, plus the bounding samples just before the
first and just after the last interval (``Sample``: time in Unix seconds, value, StatusCode).
Output per processing interval: a :class:`Result` (value or None, StatusCode with the historian
bits of Part 4 7.39 / Part 13 5.3.4, timestamp).

Rules implemented (Part 13 v1.04, AggregateConfiguration defaults: TreatUncertainAsBad = true,
PercentDataBad = 100, PercentDataGood = 100, UseSlopedExtrapolation = false):

* A sample is **good** when its StatusCode severity is Good (Uncertain counts as Bad because
  TreatUncertainAsBad is true). Bad samples are skipped by every aggregate except Start/End.
* **Average, Minimum, Maximum, Count**: over the good raw values with ``start <= t < end``. The
  result carries the interval start as timestamp and the Calculated bit. No good value: Average,
  Minimum, Maximum are BadNoData; Count is 0 (Good). If non-good values were skipped, the status is
  UncertainDataSubNormal (PercentDataGood = 100).
* **TimeAverage**: the time-weighted average of the variable over the interval, each value held
  (``stepped``) or linearly interpolated to the next sample, with values at the interval bounds
  taken from the bounding samples (simple bounds: the nearest good sample on each side). Time covered
  by bad data is left out of the average; if some time was left out the status is
  UncertainDataSubNormal; if all of it, BadNoData.
* **Interpolative**: the value at the interval start: the raw value if one is there, else stepped
  (last good value) or interpolated between the nearest good samples on each side; Interpolated bit.
  A bad value between the bound and the interval start makes it UncertainDataSubNormal. No good
  value before: BadNoData; none after: the last value extrapolated stepped, UncertainDataSubNormal.
* **Start / End**: the first / last raw sample of the interval with its own timestamp and status
  (Raw bits), BadNoData if the interval has none.
* The last interval, when shorter than the processing interval, gets the Partial bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["Aggregate", "Result", "Sample", "compute", "intervals", "value_at"]

GOOD: Final = 0x00000000
BAD_NO_DATA: Final = 0x809B0000
UNCERTAIN_DATA_SUB_NORMAL: Final = 0x40A40000
# historian bits (low word; InfoType DataValue = 0x0400)
CALCULATED: Final = 0x0400 | 0x1
INTERPOLATED: Final = 0x0400 | 0x2
PARTIAL: Final = 0x0400 | 0x4


class Aggregate(StrEnum):
    """The aggregates served, by their standard AggregateFunction node names (ns=0)."""

    AVERAGE = "Average"
    TIME_AVERAGE = "TimeAverage"
    MINIMUM = "Minimum"
    MAXIMUM = "Maximum"
    COUNT = "Count"
    START = "Start"
    END = "End"
    INTERPOLATIVE = "Interpolative"


# ObjectIds of AggregateFunction_* in namespace 0 (Part 6 NodeIds.csv)
AGGREGATE_NODE_IDS: Final = {
    2342: Aggregate.AVERAGE, 2343: Aggregate.TIME_AVERAGE, 2346: Aggregate.MINIMUM,
    2347: Aggregate.MAXIMUM, 2352: Aggregate.COUNT, 2357: Aggregate.START, 2358: Aggregate.END,
    2341: Aggregate.INTERPOLATIVE,
}


@dataclass(frozen=True, slots=True)
class Sample:
    time: float
    value: float
    status: int

    @property
    def good(self) -> bool:
        return (self.status >> 30) == 0 and math.isfinite(self.value)


@dataclass(frozen=True, slots=True)
class Result:
    time: float
    value: float | None
    status: int


def intervals(start: float, end: float, processing: float) -> list[tuple[float, float]]:
    """[start, end) cut into processing intervals (the last one may be shorter). Reverse order when
    ``end < start`` (Part 11: intervals are then returned from the start going back)."""
    if processing <= 0 or start == end:
        return [(min(start, end), max(start, end))]
    out: list[tuple[float, float]] = []
    lo, hi = min(start, end), max(start, end)
    n = math.ceil((hi - lo) / processing - 1e-9)
    for i in range(min(n, 100_000)):
        a = lo + i * processing
        out.append((a, min(hi, a + processing)))
    return out if end > start else list(reversed(out))


def _stat(base: int, skipped: bool) -> int:
    return (UNCERTAIN_DATA_SUB_NORMAL if skipped else GOOD) | base


def value_at(t: float, samples: Sequence[Sample], stepped: bool) -> Result:
    """Interpolative value at ``t`` from ``samples`` (time order, including the bounds)."""
    prior = next_ = None
    bad_between_prior = bad_between_next = False
    for s in samples:
        if s.time <= t:
            if s.time == t and s.good:
                return Result(t, s.value, GOOD)  # a raw value at that time: Raw bits
            if s.good:
                prior, bad_between_prior = s, False
            else:
                bad_between_prior = True
        elif s.good:
            next_ = s
            break
        else:
            bad_between_next = True
    if prior is None:
        return Result(t, None, BAD_NO_DATA)
    if next_ is None:
        return Result(t, prior.value, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED)
    if stepped:
        v = prior.value
    else:
        v = prior.value + (next_.value - prior.value) * (t - prior.time) / (next_.time - prior.time)
    return Result(t, v, _stat(INTERPOLATED, bad_between_prior or (bad_between_next and not stepped)))


def _time_average(a: float, b: float, samples: Sequence[Sample], stepped: bool) -> Result:
    """Area under the step/linear curve over good segments / good time."""
    pts = [s for s in samples if a < s.time < b]
    first, last = value_at(a, samples, stepped), value_at(b, samples, stepped)
    nodes: list[tuple[float, float | None, bool]] = []
    nodes.append((a, first.value, first.value is not None and (first.status >> 30) == 0))
    nodes += [(s.time, s.value if s.good else None, s.good) for s in pts]
    nodes.append((b, last.value, last.value is not None))
    area = good_time = 0.0
    for (t0, v0, g0), (t1, v1, g1) in itertools.pairwise(nodes):
        dt = t1 - t0
        if dt <= 0 or not g0 or v0 is None:
            continue
        if stepped or not g1 or v1 is None:
            if not stepped and (not g1 or v1 is None):
                continue  # interpolating into a bad value: that segment is unknown
            area += v0 * dt
        else:
            area += (v0 + v1) / 2 * dt
        good_time += dt
    if good_time <= 0:
        return Result(a, None, BAD_NO_DATA)
    return Result(a, area / good_time, _stat(CALCULATED, good_time < (b - a) - 1e-9))


def _one(agg: Aggregate, a: float, b: float, samples: Sequence[Sample], stepped: bool) -> Result:
    inside = [s for s in samples if a <= s.time < b]
    good = [s.value for s in inside if s.good]
    skipped = len(good) < len(inside)
    if agg is Aggregate.INTERPOLATIVE:
        return value_at(a, samples, stepped)
    if agg is Aggregate.TIME_AVERAGE:
        return _time_average(a, b, samples, stepped)
    if agg in (Aggregate.START, Aggregate.END):
        if not inside:
            return Result(a, None, BAD_NO_DATA)
        s = inside[0] if agg is Aggregate.START else inside[-1]
        return Result(s.time, s.value if s.good or (s.status >> 30) == 1 else None, s.status)
    if agg is Aggregate.COUNT:
        return Result(a, float(len(good)), _stat(CALCULATED, skipped))
    if not good:
        return Result(a, None, BAD_NO_DATA)
    if agg is Aggregate.AVERAGE:
        value = math.fsum(good) / len(good)
    else:
        value = min(good) if agg is Aggregate.MINIMUM else max(good)
    return Result(a, value, _stat(CALCULATED, skipped))


def compute(agg: Aggregate, start: float, end: float, processing: float, samples: Sequence[Sample], *,
            stepped: bool) -> list[Result]:
    """One result per processing interval of [start, end) (reverse order when end < start)."""
    out: list[Result] = []
    full = abs(processing) if processing > 0 else abs(end - start)
    for a, b in intervals(start, end, processing):
        r = _one(agg, a, b, samples, stepped)
        if b - a < full - 1e-9 and agg not in (Aggregate.START, Aggregate.END, Aggregate.INTERPOLATIVE):
            r = Result(r.time, r.value, r.status | PARTIAL)
        out.append(r)
    return out
