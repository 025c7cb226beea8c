"""Playback of a recorded time series: a CSV of timestamp + numeric columns, sampled on the
simulation clock with a speed factor, linear or hold interpolation, and optional looping.

    timestamp,PT-100,TT-101          # timestamp: seconds (float) or ISO 8601 (with or without zone)
    2026-01-01T00:00:00Z,1001.5,60.2
    2026-01-01T00:00:10Z,1002.0,60.1

Recorded time = first timestamp + speed x simulation seconds; past the end the last row is held
(or, with ``loop``, the recording starts over). Pure: parsing takes text; :func:`load_csv` reads
a file. (Wiring a recording into a plant file as a block needs a file-path parameter kind, which
the block interface does not have yet.)
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

from plc_emulator.engine.types import F64

__all__ = ["INTERPOLATIONS", "PlaybackError", "Player", "Recording", "load_csv", "parse_csv"]

INTERPOLATIONS: Final = ("linear", "hold")
MAX_ROWS: Final = 10_000_000


class PlaybackError(ValueError):
    """A recording that cannot be used; the message is ``SOURCE:LINE:COL: problem``."""


@dataclass(frozen=True, slots=True)
class Recording:
    times: F64  # (K,) seconds, strictly increasing
    columns: tuple[str, ...]
    values: F64  # (K, C)

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0])


def _stamp(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_csv(text: str, source: str = "<csv>") -> Recording:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or len(rows[0]) < 2:
        raise PlaybackError(f"{source}:1:1: need a header: timestamp, then at least one column")
    columns = tuple(c.strip() for c in rows[0][1:])
    times: list[float] = []
    values: list[list[float]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(columns) + 1:
            raise PlaybackError(f"{source}:{line}:1: {len(row)} fields, the header has {len(columns) + 1}")
        try:
            t = _stamp(row[0])
        except ValueError:
            raise PlaybackError(f"{source}:{line}:1: not a timestamp (seconds or ISO 8601): {row[0]!r}") from None
        if times and not t > times[-1]:
            raise PlaybackError(f"{source}:{line}:1: timestamps must increase ({row[0]!r})")
        vals: list[float] = []
        col = len(row[0]) + 2
        for cell in row[1:]:
            try:
                v = float(cell)
            except ValueError:
                raise PlaybackError(f"{source}:{line}:{col}: not a number: {cell!r}") from None
            if not math.isfinite(v):
                raise PlaybackError(f"{source}:{line}:{col}: not a finite number: {cell!r}")
            vals.append(v)
            col += len(cell) + 1
        times.append(t)
        values.append(vals)
        if len(times) > MAX_ROWS:
            raise PlaybackError(f"{source}:{line}:1: more than {MAX_ROWS} rows")
    if not times:
        raise PlaybackError(f"{source}:2:1: no data rows")
    return Recording(times=np.array(times), columns=columns, values=np.array(values, dtype=np.float64))


def load_csv(path: str | Path) -> Recording:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybackError(f"{path}:1:1: cannot read the recording: {exc}") from None
    return parse_csv(text, str(path))


@dataclass(frozen=True, slots=True)
class Player:
    recording: Recording
    speed: float = 1.0
    loop: bool = False
    interpolation: str = "linear"

    def __post_init__(self) -> None:
        if not (self.speed > 0 and math.isfinite(self.speed)):
            raise ValueError(f"speed must be > 0 (got {self.speed!r})")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}")

    def recorded_time(self, sim_s: float) -> float:
        rec = self.recording
        offset = self.speed * sim_s
        if self.loop and rec.duration > 0:
            offset = math.fmod(offset, rec.duration)
        return float(rec.times[0] + min(max(offset, 0.0), rec.duration))

    def at(self, sim_s: float) -> F64:
        """Every column's value at ``sim_s`` seconds of simulation, shape (C,)."""
        rec = self.recording
        t = self.recorded_time(sim_s)
        k = int(np.searchsorted(rec.times, t, side="right")) - 1
        k = min(max(k, 0), len(rec.times) - 1)
        if self.interpolation == "hold" or k == len(rec.times) - 1:
            out: F64 = rec.values[k].copy()
            return out
        w = (t - rec.times[k]) / (rec.times[k + 1] - rec.times[k])
        lin: F64 = rec.values[k] + w * (rec.values[k + 1] - rec.values[k])
        return lin
