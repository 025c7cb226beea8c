"""Where simulated time starts: ``t = epoch + tick * dt``.

``run`` takes the wall clock when the scan thread starts, rounded down to the scan period, so at
speed 1 simulated time is UTC. A pinned epoch (``--epoch`` or the tag map's ``epoch:``) is kept as
is. After a restart from a checkpoint the tick continues, so the epoch is chosen so that the next
tick lands at the current wall time; either way simulated time never goes back behind ``floor``
(the newest time already in the historian or in the checkpoint), so per-tag timestamps in the store
strictly increase across restarts.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

__all__ = ["EpochPlan", "parse_epoch", "start_time"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochPlan:
    """How the runtime fixes the epoch: ``pinned`` (Unix s) or ``None`` for the wall clock."""

    pinned: float | None = None
    floor: float = -math.inf  # simulated time of the first new tick must be > floor


def parse_epoch(text: str, now: float) -> float:
    """``--epoch``: ``now``, an ISO 8601 time (``2026-03-01T06:00:00Z``; no zone means UTC) or Unix s."""
    t = text.strip()
    if t.lower() == "now":
        return now
    try:
        value = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or not 0 <= value < 253402300800:  # year 10000
            raise ValueError(f"--epoch must be a time between 1970 and 9999 (got {text!r})")
        return value
    try:
        when = _dt.datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--epoch must be now, an ISO 8601 UTC time such as 2026-01-01T00:00:00Z or Unix seconds (got {text!r})"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.timestamp()


def start_time(now: float, dt: float, floor: float = -math.inf) -> float:
    """Simulated time of the current tick when the clock is taken at wall time ``now``.

    Rounded down to a multiple of ``dt``; pushed forward to the first multiple of ``dt`` strictly after
    ``floor``, so nothing stored before is ever overwritten or duplicated.
    """
    t = math.floor(now / dt) * dt
    if math.isfinite(floor) and t <= floor:
        t = (math.floor(floor / dt) + 1) * dt
    return t
