"""Playback of a recorded time series: a CSV or Parquet file of timestamp + numeric columns, sampled
on the simulation clock with a speed factor, linear or hold interpolation, and optional looping.

    timestamp,PT-100,TT-101          # timestamp: seconds (float) or ISO 8601 (with or without zone)
    2026-01-01T00:00:00Z,1001.5,60.2
    2026-01-01T00:00:10Z,1002.0,60.1

A Parquet file has the same layout: the first column is the timestamp (a number of seconds or an
Arrow timestamp), every other column a number. Recorded time = first timestamp + speed x simulation
seconds; past the end the last row is held (or, with ``loop``, the recording starts over).

Errors name the place: ``FILE:LINE:COL: problem`` for a CSV, ``FILE: row R, column "NAME": problem``
for a Parquet file (row 1 is the first data row). Reading is bounded (size, rows) and refuses FIFOs
and devices, which could block a loader forever.

A plant file's ``playback`` block names its file in a path parameter; block parameters are numbers,
so the loader keeps the parsed recording in :data:`RECORDINGS` and the parameter holds its handle.
"""

from __future__ import annotations

import csv
import io
import math
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from plc_emulator.engine.types import F64

__all__ = [
    "INTERPOLATIONS",
    "MAX_BYTES",
    "MAX_ROWS",
    "PARQUET_SUFFIXES",
    "RECORDINGS",
    "PlaybackError",
    "Player",
    "Recording",
    "Recordings",
    "load_csv",
    "load_parquet",
    "load_recording",
    "parse_csv",
]

INTERPOLATIONS: Final = ("linear", "hold")
MAX_ROWS: Final = 10_000_000
MAX_BYTES: Final = 512 * 2**20
PARQUET_SUFFIXES: Final = (".parquet", ".pq")


class PlaybackError(ValueError):
    """A recording that cannot be used; the message names the file and the place in it."""


@dataclass(frozen=True, slots=True)
class Recording:
    times: F64  # (K,) seconds, strictly increasing
    columns: tuple[str, ...]
    values: F64  # (K, C)
    offsets: F64 = field(init=False, repr=False)  # (K,) seconds since the first row

    def __post_init__(self) -> None:
        object.__setattr__(self, "offsets", self.times - self.times[0])

    @property
    def duration(self) -> float:
        return float(self.offsets[-1])

    def position(self, sim_s: float | F64, speed: float | F64 = 1.0, loop: bool | npt.NDArray[np.bool_] = False) -> F64:
        """Seconds into the recording after ``sim_s`` seconds of simulation (clamped to the end,
        or wrapped with ``loop``)."""
        off = np.asarray(speed, dtype=np.float64) * np.asarray(sim_s, dtype=np.float64)
        if self.duration > 0:
            off = np.where(loop, np.fmod(off, self.duration), off)
        out: F64 = np.clip(off, 0.0, self.duration)
        return out

    def sample(self, position: F64, column: npt.NDArray[np.intp], hold: npt.NDArray[np.bool_]) -> F64:
        """The value of ``column`` at ``position`` seconds into the recording (all broadcast)."""
        last = len(self.offsets) - 1
        k = np.clip(np.searchsorted(self.offsets, position, side="right") - 1, 0, last)
        k1 = np.minimum(k + 1, last)
        v0, v1 = self.values[k, column], self.values[k1, column]
        span = self.offsets[k1] - self.offsets[k]
        w = np.divide(position - self.offsets[k], span, out=np.zeros_like(span), where=span > 0)
        out: F64 = np.where(hold, v0, v0 + w * (v1 - v0))
        return out


def _stamp(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _header(rows: list[list[str]], source: str) -> tuple[str, ...]:
    if not rows or len(rows[0]) < 2:
        raise PlaybackError(f"{source}:1:1: need a header: timestamp, then at least one column")
    columns = tuple(c.strip() for c in rows[0][1:])
    col = len(rows[0][0]) + 2
    seen: set[str] = set()
    for name, raw in zip(columns, rows[0][1:], strict=True):
        if not name or name in seen:
            raise PlaybackError(f"{source}:1:{col}: column names must be given and unique (got {name!r})")
        seen.add(name)
        col += len(raw) + 1
    return columns


def parse_csv(text: str, source: str = "<csv>") -> Recording:
    rows = list(csv.reader(io.StringIO(text)))
    columns = _header(rows, source)
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


def _check_file(path: Path) -> None:
    """A regular file of at most MAX_BYTES (a FIFO or device could block a loader forever). No
    import of the tag-map loader here: it imports the plant loader, which imports this module."""
    try:
        st = path.stat()
    except OSError as exc:
        raise PlaybackError(f"{path}:1:1: cannot read the recording: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PlaybackError(f"{path}:1:1: cannot read the recording: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise PlaybackError(f"{path}:1:1: cannot read the recording: it is not a regular file (a FIFO or device)")
    if st.st_size > MAX_BYTES:
        raise PlaybackError(f"{path}:1:1: cannot read the recording: larger than {MAX_BYTES // 2**20} MiB")


def load_csv(path: str | Path) -> Recording:
    p = Path(path)
    _check_file(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PlaybackError(f"{path}:1:1: cannot read the recording: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PlaybackError(f"{path}:1:1: cannot read the recording: not UTF-8 text (offset {exc.start})") from None
    return parse_csv(text, str(path))


def _parquet_column(name: str, data: F64, source: str) -> None:
    bad = np.flatnonzero(~np.isfinite(data))
    if bad.size:
        raise PlaybackError(f'{source}: row {int(bad[0]) + 1}, column "{name}": missing or not a finite number')


def load_parquet(path: str | Path) -> Recording:
    """A Parquet recording (pyarrow, imported here only: the engine itself needs numpy alone)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = str(path)
    _check_file(Path(path))
    try:
        pf = pq.ParquetFile(path)
        if pf.metadata.num_rows > MAX_ROWS:
            raise PlaybackError(f"{source}: more than {MAX_ROWS} rows")
        table = pf.read()
    except (OSError, pa.ArrowException) as exc:
        raise PlaybackError(f"{source}: cannot read the recording as Parquet: {exc}") from None
    names = table.column_names
    if len(names) < 2:
        raise PlaybackError(f"{source}: need a timestamp column, then at least one column")
    if table.num_rows == 0:
        raise PlaybackError(f"{source}: no data rows")
    if len(set(names)) != len(names):
        raise PlaybackError(f"{source}: column names must be unique")
    stamp = table.column(0)
    if pa.types.is_timestamp(stamp.type):
        per_s = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[stamp.type.unit]
        times = np.asarray(stamp.cast(pa.int64()).fill_null(0).to_numpy(), dtype=np.float64) / per_s
        if stamp.null_count:
            times[np.asarray(stamp.is_null().to_numpy(zero_copy_only=False))] = np.nan
    elif pa.types.is_integer(stamp.type) or pa.types.is_floating(stamp.type):
        times = np.asarray(stamp.cast(pa.float64()).fill_null(np.nan).to_numpy(), dtype=np.float64)
    else:
        raise PlaybackError(f'{source}: column "{names[0]}" is {stamp.type}: the first column must be the '
                            "timestamp (seconds or a timestamp type)")
    _parquet_column(names[0], times, source)
    back = np.flatnonzero(np.diff(times) <= 0)
    if back.size:
        raise PlaybackError(f'{source}: row {int(back[0]) + 2}, column "{names[0]}": timestamps must increase')
    cols = []
    for name in names[1:]:
        col = table.column(name)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type)):
            raise PlaybackError(f'{source}: column "{name}" is {col.type}, not a number')
        data = np.asarray(col.cast(pa.float64()).fill_null(np.nan).to_numpy(), dtype=np.float64)
        _parquet_column(name, data, source)
        cols.append(data)
    return Recording(times=times, columns=tuple(names[1:]), values=np.stack(cols, axis=1))


def load_recording(path: str | Path) -> Recording:
    """A CSV or (by its suffix) Parquet recording."""
    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        return load_parquet(path)
    return load_csv(path)


class Recordings:
    """Loaded recordings by handle (1, 2, ...; 0 means none). A file is read once per version
    (path, size, modification time), so a fleet of plants on one recording shares its arrays."""

    def __init__(self) -> None:
        self._items: list[Recording] = []
        self._by_key: dict[tuple[str, int, int], int] = {}

    def load(self, path: str | Path) -> int:
        p = Path(path).resolve()
        try:
            st = p.stat()
        except OSError as exc:
            raise PlaybackError(f"{path}:1:1: cannot read the recording: {exc.strerror or exc}") from None
        key = (str(p), st.st_size, st.st_mtime_ns)
        handle = self._by_key.get(key)
        if handle is None:
            handle = self.add(load_recording(path))
            self._by_key[key] = handle
        return handle

    def add(self, recording: Recording) -> int:
        self._items.append(recording)
        return len(self._items)

    def get(self, handle: int) -> Recording:
        if not 1 <= handle <= len(self._items):
            raise KeyError(f"no recording with handle {handle}")
        return self._items[handle - 1]


RECORDINGS: Final = Recordings()


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
        return float(rec.times[0] + rec.position(sim_s, self.speed, self.loop))

    def at(self, sim_s: float) -> F64:
        """Every column's value at ``sim_s`` seconds of simulation, shape (C,)."""
        rec = self.recording
        pos = np.full(len(rec.columns), rec.position(sim_s, self.speed, self.loop))
        cols = np.arange(len(rec.columns), dtype=np.intp)
        return rec.sample(pos, cols, np.full(len(rec.columns), self.interpolation == "hold"))
