"""The command journal: every command that changed the plant, with the tick it was applied at.

Format (JSON Lines, see :mod:`plc_emulator.commands`)::

    {"journal": "plc-emulator", "version": 1, "tagmap_sha256": "...", "seed": 42, "dt": 0.1}
    {"tick": 120, "kind": "write", "target": "LIC100.sp", "value": 55.0, "params": {}, "source": "modbus"}
    {"end_tick": 6000}

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
from typing import IO, Any

from plc_emulator.commands import Command, JournalEntry, command_from_json, command_to_json
from plc_emulator.errors import EmulatorError

__all__ = ["Journal", "JournalError", "JournalHeader", "JournalWriter", "read_journal"]

MAGIC = "plc-emulator"
VERSION = 1


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
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps({"journal": MAGIC, "version": self.version, "tagmap_sha256": self.tagmap_sha256,
                           "seed": self.seed, "dt": self.dt}, separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Journal:
    header: JournalHeader
    entries: tuple[JournalEntry, ...]
    end_tick: int | None  # None: the run did not stop cleanly
    schedule: dict[int, list[Command]] = field(default_factory=dict)  # tick -> commands, in file order

    @property
    def last_tick(self) -> int:
        """``end_tick`` if present, else the tick of the last command (0 for an empty journal)."""
        if self.end_tick is not None:
            return self.end_tick
        return self.entries[-1].tick if self.entries else 0


class JournalWriter:
    """Appends command batches to a journal file. Used only from the scan thread."""

    def __init__(self, path: str | Path, header: JournalHeader) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._fh.write(header.to_json() + "\n")
        self._fh.flush()
        self.lines = 0

    def write_batch(self, tick: int, commands: Sequence[Command]) -> None:
        if self._fh is None or not commands:
            return
        self._fh.write("".join(command_to_json(tick, c) + "\n" for c in commands))
        self._fh.flush()
        self.lines += len(commands)

    def close(self, end_tick: int | None) -> None:
        """Write ``end_tick`` (clean shutdown) or just close (``None``: crash path)."""
        if self._fh is None:
            return
        try:
            if end_tick is not None:
                self._fh.write(json.dumps({"end_tick": int(end_tick)}) + "\n")
                self._fh.flush()
        finally:
            self._fh.close()
            self._fh = None


def _header_from(obj: Any, path: str) -> JournalHeader:
    if not isinstance(obj, dict) or obj.get("journal") != MAGIC:
        raise JournalError(path, 1, f'not a plc-emulator journal (header must carry "journal": "{MAGIC}")')
    if obj.get("version") != VERSION:
        got = obj.get("version")
        raise JournalError(path, 1, f"unsupported journal version (got {got!r}, want {VERSION})")
    try:
        sha = str(obj["tagmap_sha256"])
        seed = int(obj["seed"])
        dt = float(obj["dt"])
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalError(path, 1, f"bad header: {exc!r}") from None
    if not math.isfinite(dt) or dt <= 0:
        raise JournalError(path, 1, f"bad header: dt must be > 0 (got {dt})")
    return JournalHeader(tagmap_sha256=sha, seed=seed, dt=dt)


def read_journal(path: str | Path) -> Journal:
    """Parse a journal; raises :class:`JournalError` naming the first bad line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise JournalError(name, 0, f"cannot read journal: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise JournalError(name, 0, "not a text file") from None
    lines = text.splitlines()
    if not lines:
        raise JournalError(name, 1, "empty journal (no header line)")
    try:
        header_obj = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise JournalError(name, 1, f"header is not JSON: {exc.msg}") from None
    header = _header_from(header_obj, name)
    entries: list[JournalEntry] = []
    schedule: dict[int, list[Command]] = {}
    end_tick: int | None = None
    last = 0
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if end_tick is not None:
            raise JournalError(name, no, "line after end_tick")
        try:
            obj = json.loads(line)
            if isinstance(obj, dict) and set(obj) == {"end_tick"}:
                end_tick = int(obj["end_tick"])
                if end_tick < last:
                    raise JournalError(name, no, f"end_tick {end_tick} is before the last command ({last})")
                continue
            entry = command_from_json(line)
        except JournalError:
            raise
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise JournalError(name, no, f"corrupt journal line ({type(exc).__name__}: {exc})") from None
        if entry.tick < 1:
            raise JournalError(name, no, f"tick must be >= 1 (got {entry.tick})")
        if entry.tick < last:
            raise JournalError(name, no, f"ticks go backwards ({entry.tick} after {last})")
        last = entry.tick
        entries.append(entry)
        schedule.setdefault(entry.tick, []).append(entry.command)
    return Journal(header=header, entries=tuple(entries), end_tick=end_tick, schedule=schedule)
