"""Part 13 aggregates against cases worked by hand from the spec's definitions.

Data (Unix seconds): 10 @ 0 (Good), 20 @ 10 (Good), Bad @ 20, 40 @ 30 (Good), 50 @ 40 (Good).
Request [0, 40) with a 20 s processing interval -> [0, 20) and [20, 40).
"""

from __future__ import annotations

import math

import pytest

from plc_emulator.opcua.aggregates import (
    BAD_NO_DATA,
    CALCULATED,
    INTERPOLATED,
    PARTIAL,
    UNCERTAIN_DATA_SUB_NORMAL,
    Aggregate,
    Sample,
    compute,
    intervals,
    value_at,
)

BAD = 0x808D0000
DATA = [Sample(0, 10.0, 0), Sample(10, 20.0, 0), Sample(20, math.nan, BAD), Sample(30, 40.0, 0),
        Sample(40, 50.0, 0)]
GOOD_CALC = CALCULATED
UNC_CALC = UNCERTAIN_DATA_SUB_NORMAL | CALCULATED


def run(agg: Aggregate, stepped: bool = True) -> list[tuple[float, float | None, int]]:
    return [(r.time, r.value, r.status) for r in compute(agg, 0, 40, 20, DATA, stepped=stepped)]


@pytest.mark.parametrize(("agg", "want"), [
    # mean of the good values; the Bad sample at 20 is skipped -> Uncertain
    (Aggregate.AVERAGE, [(0, 15.0, GOOD_CALC), (20, 40.0, UNC_CALC)]),
    (Aggregate.MINIMUM, [(0, 10.0, GOOD_CALC), (20, 40.0, UNC_CALC)]),
    (Aggregate.MAXIMUM, [(0, 20.0, GOOD_CALC), (20, 40.0, UNC_CALC)]),
    (Aggregate.COUNT, [(0, 2.0, GOOD_CALC), (20, 1.0, UNC_CALC)]),
    # first/last raw sample with its own time and status (the Bad one has no value)
    (Aggregate.START, [(0, 10.0, 0), (20, None, BAD)]),
    (Aggregate.END, [(10, 20.0, 0), (30, 40.0, 0)]),
])
def test_raw_count_aggregates(agg: Aggregate, want: list[tuple[float, float | None, int]]) -> None:
    assert run(agg) == want


def test_time_average_stepped() -> None:
    # [0,20): 10 for 10 s + 20 for 10 s = 300 / 20 = 15, fully covered.
    # [20,40): Bad from 20 to 30 left out; 40 held for 10 s -> 40, Uncertain (half the time is bad).
    assert run(Aggregate.TIME_AVERAGE, stepped=True) == [(0, 15.0, GOOD_CALC), (20, 40.0, UNC_CALC)]


def test_time_average_interpolated() -> None:
    # [0,20): trapezoids 10->20 over 10 s (150) and 20->30 over 10 s (250; the value at 20 is
    # interpolated between the good neighbours 20 @ 10 and 40 @ 30) = 400 / 20 = 20.
    # [20,40): the segment from the Bad sample is unknown; 40->50 over 10 s = 450 / 10 = 45, Uncertain.
    assert run(Aggregate.TIME_AVERAGE, stepped=False) == [(0, 20.0, GOOD_CALC), (20, 45.0, UNC_CALC)]


def test_interpolative() -> None:
    # at 0: the raw value (raw bits). At 20 the sample is Bad: bounds 20 @ 10 and 40 @ 30.
    assert run(Aggregate.INTERPOLATIVE, stepped=False) == [
        (0, 10.0, 0), (20, 30.0, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED)]
    assert run(Aggregate.INTERPOLATIVE, stepped=True) == [
        (0, 10.0, 0), (20, 20.0, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED)]
    # between two good samples, no bad in between: Good, interpolated
    assert value_at(35, DATA, stepped=False).value == 45.0
    assert value_at(35, DATA, stepped=False).status == INTERPOLATED
    assert value_at(-5, DATA, stepped=False).status == BAD_NO_DATA  # nothing before
    after = value_at(50, DATA, stepped=False)  # nothing after: held, Uncertain
    assert (after.value, after.status) == (50.0, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED)


def test_partial_last_interval_and_no_data() -> None:
    res = compute(Aggregate.AVERAGE, 0, 40, 15, DATA, stepped=True)
    assert [r.time for r in res] == [0, 15, 30]
    # [0,15): 10, 20 -> 15 Good; [15,30): only the Bad sample -> BadNoData; [30,40) short -> Partial
    assert [(r.value, r.status) for r in res] == [(15.0, GOOD_CALC), (None, BAD_NO_DATA),
                                                  (40.0, GOOD_CALC | PARTIAL)]
    assert compute(Aggregate.COUNT, 100, 120, 10, DATA, stepped=True)[0].value == 0.0


def test_reverse_order_intervals() -> None:
    assert intervals(40, 0, 20) == [(20, 40), (0, 20)]
    res = compute(Aggregate.AVERAGE, 40, 0, 20, DATA, stepped=True)
    assert [(r.time, r.value) for r in res] == [(20, 40.0), (0, 15.0)]
