"""The command journal: every command that changed the plant, with the tick it was applied at.

Format (JSON Lines, see :mod:`plc_emulator.commands`)::

    {"journal": "plc-emulator", "version": 2, "tagmap_sha256": "...", "seed": 42, "dt": 0.1,
     "epoch": 1780000000.0, "start_tick": 0, "checkpoint_sha256": null}
    {"tick": 120, "kind": "write", "target": "LIC100.sp", "value": 55.0, "params": {}, "source": "modbus"}
    {"end_tick": 6000}

``epoch`` is the simulated time of tick 0 the run actually used (the wall clock at start unless
pinned), so ``replay`` is bit-exact for wall-clock runs too. A run restarted from a checkpoint
records the tick it started at and the checkpoint's sha256; replaying it needs that checkpoint.
Version 1 journals (no epoch: the tag map's) are still read.

The writer flushes after each tick's batch, so a crash loses at most the batch being written; the
``end_tick`` line is written only on a clean shutdown. ``runtime.*`` commands (pause, speed, step)
are never journaled: they do not change the plant.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeGuard

from plc_emulator.commands import Command, JournalEntry, command_from_json, command_to_json
from plc_emulator.errors import EmulatorError

__all__ = ["Journal", "JournalError", "JournalHeader", "JournalWriter", "read_journal"]

MAGIC = "plc-emulator"
VERSION = 2
READABLE_VERSIONS = (1, 2)


class JournalError(EmulatorError):
    """A journal file cannot be read; ``line`` is the 1-based line number (0 when not line-specific)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalHeader:
    tagmap_sha256: str
    seed: int
    dt: float
    epoch: float | None = None  # None (version 1): the tag map's epoch
    start_tick: int = 0  # > 0: the run continued from a checkpoint at this tick
    checkpoint_sha256: str | None = None
    start_mode: str | None = None  # cold / warm / hot when restarted from a checkpoint
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps({"journal": MAGIC, "version": self.version, "tagmap_sha256": self.tagmap_sha256,
                           "seed": self.seed, "dt": self.dt, "epoch": self.epoch,
                           "start_tick": self.start_tick, "checkpoint_sha256": self.checkpoint_sha256,
                           "start_mode": self.start_mode},
                          separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Journal:
    header: JournalHeader
    entries: tuple[JournalEntry, ...]
    end_tick: int | None  # None: the run did not stop cleanly
    schedule: dict[int, list[Command]] = field(default_factory=dict)  # tick -> commands, in file order
    lines: tuple[int, ...] = ()  # file line of each entry

    @property
    def last_tick(self) -> int:
        """``end_tick`` if present, else the tick of the last command (0 for an empty journal)."""
        if self.end_tick is not None:
            return self.end_tick
        return self.entries[-1].tick if self.entries else 0


class JournalWriter:
    """Appends command batches to a journal file. Used only from the scan thread.

    The file is opened at once (so a bad path fails at start); the header is written by
    :meth:`begin` (or with the constructor's ``header``) once the run's epoch is known.
    """

    def __init__(self, path: str | Path, header: JournalHeader | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._begun = False
        self.lines = 0
        if header is not None:
            self.begin(header)

    def begin(self, header: JournalHeader) -> None:
        """Write the header line (once)."""
        if self._fh is None or self._begun:
            return
        self._fh.write(header.to_json() + "\n")
        self._fh.flush()
        self._begun = True

    def write_batch(self, tick: int, commands: Sequence[Command]) -> None:
        if self._fh is None or not commands or not self._begun:
            return
        self._fh.write("".join(command_to_json(tick, c) + "\n" for c in commands))
        self._fh.flush()
        self.lines += len(commands)

    def close(self, end_tick: int | None) -> None:
        """Write ``end_tick`` (clean shutdown) or just close (``None``: crash path)."""
        if self._fh is None:
            return
        try:
            if end_tick is not None and self._begun:
                self._fh.write(json.dumps({"end_tick": int(end_tick)}) + "\n")
                self._fh.flush()
        finally:
            self._fh.close()
            self._fh = None


def _header_from(obj: Any, path: str) -> JournalHeader:
    if not isinstance(obj, dict) or obj.get("journal") != MAGIC:
        raise JournalError(path, 1, f'not a plc-emulator journal (header must carry "journal": "{MAGIC}")')
    version = obj.get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise JournalError(path, 1, f"unsupported journal version (got {version!r}, want {VERSION})")
    sha, seed, dt = obj.get("tagmap_sha256"), obj.get("seed"), obj.get("dt")
    if not isinstance(sha, str) or not _is_int(seed) or not _is_number(dt):
        raise JournalError(path, 1, "bad header: tagmap_sha256 (text), seed (integer) and dt (number) are required")
    if not math.isfinite(dt) or dt <= 0:
        raise JournalError(path, 1, f"bad header: dt must be > 0 (got {dt})")
    epoch, start, ck = obj.get("epoch"), obj.get("start_tick", 0), obj.get("checkpoint_sha256")
    if epoch is not None and not (_is_number(epoch) and math.isfinite(float(epoch))):
        raise JournalError(path, 1, f"bad header: epoch must be Unix seconds (got {epoch!r})")
    if not _is_int(start) or not 0 <= int(start) <= MAX_TICK:
        raise JournalError(path, 1, f"bad header: start_tick must be an integer 0..{MAX_TICK} (got {start!r})")
    if ck is not None and not isinstance(ck, str):
        raise JournalError(path, 1, f"bad header: checkpoint_sha256 must be text (got {ck!r})")
    mode = obj.get("start_mode")
    if mode not in (None, "cold", "warm", "hot"):
        raise JournalError(path, 1, f"bad header: start_mode must be cold, warm or hot (got {mode!r})")
    return JournalHeader(tagmap_sha256=sha, seed=int(seed), dt=float(dt),
                         epoch=None if epoch is None else float(epoch), start_tick=int(start),
                         checkpoint_sha256=ck, start_mode=mode, version=int(version))


MAX_TICK = 2**53  # ticks are exact integers in a float64 up to here


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> TypeGuard[int | float]:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


_LINE_KEYS = {"tick", "kind", "target", "value", "params", "source"}


def _entry(obj: Any) -> JournalEntry:
    """A command line, with exact types (a number is a number, not a string that parses as one)."""
    if not isinstance(obj, dict):
        raise ValueError("a command line must be a JSON object")
    extra = set(obj) - _LINE_KEYS
    if extra:
        raise ValueError(f"unknown field(s) {', '.join(sorted(extra))}")
    tick, value, params = obj.get("tick"), obj.get("value", 0.0), obj.get("params", {})
    if not _is_int(tick) or not 0 <= tick <= MAX_TICK:
        raise ValueError(f"tick must be an integer 0..{MAX_TICK} (got {tick!r})")
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"value must be a finite number (got {value!r})")
    if not isinstance(obj.get("target"), str) or not isinstance(obj.get("kind"), str):
        raise ValueError("kind and target must be text")
    if not isinstance(params, dict) or not all(
        isinstance(v, str) or (_is_number(v) and math.isfinite(float(v))) for v in params.values()
    ):
        raise ValueError(f"params must map names to finite numbers or text (got {params!r})")
    if not isinstance(obj.get("source", "journal"), str):
        raise ValueError("source must be text")
    return command_from_json(json.dumps(obj))


def read_journal(path: str | Path) -> Journal:
    """Parse a journal; raises :class:`JournalError` naming the first bad line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise JournalError(name, 0, f"cannot read journal: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise JournalError(name, 0, "not a text file") from None
    except ValueError as exc:  # e.g. a NUL in the path
        raise JournalError(name, 0, f"cannot read journal: {exc}") from None
    lines = text.splitlines()
    if not lines:
        raise JournalError(name, 1, "empty journal (no header line)")
    try:
        header_obj = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise JournalError(name, 1, f"header is not JSON: {exc.msg}") from None
    header = _header_from(header_obj, name)
    entries: list[JournalEntry] = []
    line_nos: list[int] = []
    schedule: dict[int, list[Command]] = {}
    end_tick: int | None = None
    last = header.start_tick
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if end_tick is not None:
            raise JournalError(name, no, "line after end_tick")
        try:
            obj = json.loads(line, parse_constant=_no_constant)
            if isinstance(obj, dict) and set(obj) == {"end_tick"}:
                if not _is_int(obj["end_tick"]) or not 0 <= obj["end_tick"] <= MAX_TICK:
                    raise JournalError(name, no, f"end_tick must be an integer 0..{MAX_TICK} (got {obj['end_tick']!r})")
                end_tick = int(obj["end_tick"])
                if end_tick < last:
                    raise JournalError(name, no, f"end_tick {end_tick} is before the last command ({last})")
                continue
            entry = _entry(obj)
        except JournalError:
            raise
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise JournalError(name, no, f"corrupt journal line ({type(exc).__name__}: {exc})") from None
        if entry.tick <= header.start_tick:
            raise JournalError(name, no, f"tick must be > {header.start_tick} (got {entry.tick})")
        if entry.tick < last:
            raise JournalError(name, no, f"ticks go backwards ({entry.tick} after {last})")
        last = entry.tick
        entries.append(entry)
        line_nos.append(no)
        schedule.setdefault(entry.tick, []).append(entry.command)
    return Journal(header=header, entries=tuple(entries), end_tick=end_tick, schedule=schedule,
                   lines=tuple(line_nos))
