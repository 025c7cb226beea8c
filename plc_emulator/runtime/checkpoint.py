"""Checkpoints of the scan state: what a restarted PLC continues from.

A checkpoint is a VERSIONED dict of named numpy arrays plus a JSON header:

* ``engine/<name>``: every engine state array (batch axis first), ``engine.status``; the RNG state,
  tick, epoch and simulated time are in the header. A richer engine adds arrays under its own
  names and bumps ``engine_format``; a reader refuses arrays it does not know the shape of.
* ``alarms.block/<attr>``, ``alarms.pm/<attr>``: the alarm and predictive-maintenance blocks'
  arrays (their scalars are in the header): restored on a hot start only.
* ``memory`` (header): the value of every rw tag as clients saw it, accepted writes still queued for
  the next tick included, so retained points that live outside the engine (memory registers) and
  engine points written after the tick's engine step come back by a write at the first tick after
  the restart.

File layout: ``MAGIC``, u32 version, sha256 of the body, body = u32 header length + header JSON +
an ``.npz`` archive (no pickles). Written atomically (temp file, fsync, rename, fsync of the
directory), so a kill at any moment leaves the old or the new checkpoint, never half of one.

:func:`capture` runs on the scan thread (array copies only); :func:`encode` and
:func:`write_atomic` run on the checkpoint writer thread (:class:`CheckpointWriter`).
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import math
import os
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from historian import crash_point
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.protocol import state_arrays, state_from_arrays, state_rng
from plc_emulator.errors import EmulatorError
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap.model import Access, TagMap

__all__ = [
    "Capture", "Checkpoint", "CheckpointError", "CheckpointStats", "CheckpointWriter", "StartMode",
    "capture", "decode", "encode", "read_checkpoint", "restore", "write_atomic",
]

log = structlog.get_logger("plc_emulator.checkpoint")

MAGIC = b"PLC-EMULATOR-CHECKPOINT\n"
VERSION = 1
ENGINE_FORMAT = 1  # the block engine bumps this when it adds or renames state arrays
_U32 = struct.Struct("<I")
_NOT_MEMORY = ("runtime.", "alarm.", "alarms.", "pm.")


class CheckpointError(EmulatorError):
    """A checkpoint cannot be used (foreign, corrupt, truncated): one line naming the file and the fix."""


class StartMode(enum.StrEnum):
    """IEC 61131-3 restart semantics for PLC memory; the plant itself always continues."""

    COLD = "cold"  # every point at its initial value
    WARM = "warm"  # retained points restored, the rest initial
    HOT = "hot"  # everything restored, alarm states and acknowledgements included


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """What the scan thread hands to the writer: a consistent copy of one tick's state."""

    header: dict[str, Any]
    arrays: dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    path: str
    sha256: str  # of the whole file
    header: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray[Any, Any]]

    @property
    def tick(self) -> int:
        return int(self.header["tick"])

    @property
    def sim_time(self) -> float:
        return float(self.header["sim_time"])


@dataclass(slots=True)
class CheckpointStats:
    written: int = 0
    failed: int = 0
    last_capture_s: float = 0.0  # on the scan thread
    max_capture_s: float = 0.0
    last_write_s: float = 0.0  # encode + write + fsync + rename, on the writer thread
    last_bytes: int = 0
    last_tick: int = -1
    last_error: str = ""
    last_wall: float = 0.0
    history: list[float] = field(default_factory=list)


def _object_state(prefix: str, obj: object) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, Any]]:
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    scalars: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.ndarray):
            arrays[f"{prefix}/{name}"] = value.copy()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            scalars[name] = value
    return arrays, scalars


def capture(cycle: ScanCycle, *, wall_time: float, memory: Mapping[str, float]) -> Capture:
    """Copy the scan state of ``cycle`` (call on the scan thread, between ticks)."""
    st = cycle.state
    arrays = state_arrays(cycle.engine, st)
    block_arrays, block_scalars = _object_state("alarms.block", cycle.alarms.block)
    pm_arrays, pm_scalars = _object_state("alarms.pm", cycle.alarms.pm)
    arrays.update(block_arrays)
    arrays.update(pm_arrays)
    tm = cycle.tagmap
    header = {
        "format": "plc-emulator-checkpoint", "version": VERSION, "engine_format": ENGINE_FORMAT,
        "tagmap_sha256": tm.sha256, "tagmap": tm.path, "plant": tm.plant, "seed": cycle.seed,
        "dt": cycle.dt, "tick": cycle.tick, "epoch": tm.epoch, "sim_time": cycle.sim_time,
        "wall_time": wall_time, "rng": state_rng(st),
        "alarms.block": block_scalars, "alarms.pm": pm_scalars, "memory": dict(memory),
    }
    return Capture(header=header, arrays=arrays)


def encode(cap: Capture) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **cap.arrays)
    head = json.dumps(cap.header, separators=(",", ":"), allow_nan=True).encode("utf-8")
    body = _U32.pack(len(head)) + head + buf.getvalue()
    return MAGIC + _U32.pack(VERSION) + hashlib.sha256(body).digest() + body


def decode(data: bytes, path: str) -> Checkpoint:
    fix = "start with --reset-plant for a fresh plant (the file is then replaced)"
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path}: not a plc-emulator checkpoint; {fix}")
    pos = len(MAGIC)
    if len(data) < pos + 4 + 32 + 4:
        raise CheckpointError(f"{path}: checkpoint is truncated ({len(data)} bytes); {fix}")
    (version,) = _U32.unpack_from(data, pos)
    if version != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version} (this build reads {VERSION}); {fix}")
    digest, body = data[pos + 4 : pos + 36], data[pos + 36 :]
    if hashlib.sha256(body).digest() != digest:
        raise CheckpointError(f"{path}: checkpoint is corrupt or truncated (checksum mismatch); {fix}")
    try:
        (n,) = _U32.unpack_from(body, 0)
        header = json.loads(body[4 : 4 + n].decode("utf-8"))
        with np.load(io.BytesIO(body[4 + n :]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, UnicodeDecodeError, struct.error) as exc:
        raise CheckpointError(f"{path}: checkpoint cannot be decoded ({exc}); {fix}") from None
    if not isinstance(header, dict) or header.get("format") != "plc-emulator-checkpoint":
        raise CheckpointError(f"{path}: checkpoint header is not a plc-emulator header; {fix}")
    return Checkpoint(path=path, sha256=hashlib.sha256(data).hexdigest(), header=header, arrays=arrays)


def read_checkpoint(path: str | Path) -> Checkpoint:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{p}: cannot read checkpoint: {exc.strerror or exc}") from None
    return decode(data, str(p))


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename over ``path``, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    crash_point("checkpoint-rename")
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def check_compatible(ck: Checkpoint, cycle: ScanCycle) -> None:
    """Refuse a checkpoint of another tag map, plant, scan period or engine layout."""
    h, tm = ck.header, cycle.tagmap
    fix = "start with --reset-plant for a fresh plant, or point --data-dir elsewhere"
    if h.get("tagmap_sha256") != tm.sha256:
        raise CheckpointError(
            f"{ck.path}: checkpoint was written for another tag map (sha256 {str(h.get('tagmap_sha256'))[:12]}..., "
            f"this one {tm.sha256[:12]}...); {fix}")
    if h.get("engine_format") != ENGINE_FORMAT or float(h.get("dt", 0)) != cycle.dt:
        raise CheckpointError(f"{ck.path}: checkpoint engine format/scan period differ from this build; {fix}")
    for name, ref in state_arrays(cycle.engine, cycle.state).items():
        got = ck.arrays.get(name)
        if got is None or got.shape != ref.shape or got.dtype != ref.dtype:
            raise CheckpointError(f"{ck.path}: checkpoint engine array {name} is missing or has another shape; {fix}")


def _restore_object(prefix: str, obj: object, ck: Checkpoint) -> None:
    scalars = ck.header.get(prefix, {})
    for name, value in vars(obj).items():
        if isinstance(value, np.ndarray):
            got = ck.arrays.get(f"{prefix}/{name}")
            if got is not None and got.shape == value.shape and got.dtype == value.dtype:
                setattr(obj, name, got.copy())
        elif isinstance(value, int | float) and not isinstance(value, bool) and name in scalars:
            setattr(obj, name, type(value)(scalars[name]))


def restore(cycle: ScanCycle, ck: Checkpoint, mode: StartMode) -> list[Command]:
    """Put the checkpointed plant into ``cycle``; return the writes that set PLC memory for ``mode``.

    The writes (initial values of non-retained points for a warm start, of every point for a cold
    one; retained memory outside the engine; kept points whose ``memory`` value differs from the
    engine's, i.e. client writes accepted but still queued when the checkpoint was taken) are applied
    at the first tick after the restart, through the same command path as client writes, and
    journaled with it.
    """
    check_compatible(ck, cycle)
    initial = cycle.engine.outputs(cycle.state).values[0]
    cycle.state = state_from_arrays(cycle.engine, cycle.state, ck.arrays, tick=ck.tick, rng=ck.header.get("rng"))
    if mode is StartMode.HOT:
        _restore_object("alarms.block", cycle.alarms.block, ck)
        _restore_object("alarms.pm", cycle.alarms.pm, ck)
    current = cycle.engine.outputs(cycle.state).values[0]
    cycle.republish()
    return _memory_writes(cycle.tagmap, ck, mode, initial, current)


def _memory_writes(tm: TagMap, ck: Checkpoint, mode: StartMode, initial: np.ndarray[Any, Any],
                   current: np.ndarray[Any, Any]) -> list[Command]:
    memory = ck.header.get("memory", {})
    writes: dict[str, float] = {}
    restores: list[Command] = []
    for tag in tm.tags:
        if tag.access is not Access.RW or tag.signal.startswith(_NOT_MEMORY):
            continue
        if tag.signal not in tm.catalogue:  # PLC memory outside the engine: restore retained values by a write
            if tag.retain and mode is not StartMode.COLD and tag.key in memory:
                restores.append(Command(kind=CommandKind.WRITE, target=tag.signal, value=float(memory[tag.key]),
                                        source="restart"))
            continue
        col = tm.catalogue.index_of(tag.signal)
        if mode is StartMode.HOT or (mode is StartMode.WARM and tag.retain):
            # the memory header is what clients saw: it includes writes accepted but not yet applied
            # when the checkpoint was taken (they were queued for the next tick); the engine arrays do not
            seen = float(memory.get(tag.key, current[col]))
            if math.isfinite(seen) and seen != float(current[col]):
                writes[tag.signal] = seen
            continue
        if float(current[col]) != float(initial[col]):
            writes[tag.signal] = float(initial[col])
    cmds: list[Command] = []
    for sig in sorted(writes, key=lambda s: not s.endswith(".mode")):  # modes before outputs
        loop, _, fld = sig.partition(".")
        if fld == "out" and f"{loop}.mode" in tm.catalogue:  # a loop in AUTO computes its output
            mode_col = tm.catalogue.index_of(f"{loop}.mode")
            if writes.get(f"{loop}.mode", float(current[mode_col])) >= 0.5:
                continue
        cmds.append(Command(kind=CommandKind.WRITE, target=sig, value=writes[sig], source="restart"))
    return cmds + restores


class CheckpointWriter:
    """One thread that encodes and writes the newest capture (older pending ones are superseded)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stats = CheckpointStats()
        self._cond = threading.Condition()
        self._pending: Capture | None = None
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="plc[checkpoint].writer", daemon=True)
        self._thread.start()

    def submit(self, cap: Capture) -> None:
        with self._cond:
            self._pending = cap
            self._cond.notify_all()

    def close(self, final: Capture | None = None, timeout: float = 30.0) -> None:
        """Write ``final`` (or what is pending), then stop the thread."""
        with self._cond:
            if final is not None:
                self._pending = final
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                cap, self._pending = self._pending, None
                if cap is None:
                    return
                self._busy = True
            self._write(cap)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _write(self, cap: Capture) -> None:
        st = self.stats
        t0 = time.perf_counter()
        try:
            data = encode(cap)
            write_atomic(self.path, data)
        except (OSError, ValueError) as exc:
            st.failed += 1
            st.last_error = f"{type(exc).__name__}: {exc}"
            log.error("checkpoint.write_failed", path=str(self.path), error=st.last_error)
            return
        st.last_write_s = time.perf_counter() - t0
        st.last_bytes = len(data)
        st.last_tick = int(cap.header["tick"])
        st.last_wall = float(cap.header["wall_time"])
        st.written += 1
