"""A test double for the PLC runtime: a real RegisterImage + Snapshot, commands recorded."""

from __future__ import annotations

import threading

import numpy as np

from plc_emulator.commands import Command
from plc_emulator.engine import status as ua
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.tagmap.model import TagKind, TagMap


def sample_values(tagmap: TagMap, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Random in-range values (whole numbers for discrete/multistate/counter tags) and mixed statuses."""
    rng = np.random.default_rng(seed)
    tags = tagmap.tags
    values = np.empty(len(tags))
    for i, t in enumerate(tags):
        lo, hi = t.range
        if t.kind in (TagKind.DISCRETE, TagKind.MULTISTATE, TagKind.COUNTER):
            values[i] = float(rng.integers(int(lo), int(hi) + 1))
        else:
            values[i] = rng.uniform(lo, hi)
    codes = np.asarray(sorted(ua.NAMES), dtype=np.uint32)
    status = rng.choice(codes, size=len(tags)).astype(np.uint32)
    return values, status


class FakePlc:
    """``.snapshot`` + thread-safe ``.submit``; ``apply_writes``: a write is in the next snapshot at once."""

    def __init__(self, tagmap: TagMap, *, apply_writes: bool = False, seed: int = 3) -> None:
        self.tagmap = tagmap
        self.image = RegisterImage(tagmap)
        self.values, self.status = sample_values(tagmap, seed)
        self.apply_writes = apply_writes
        self.submitted: list[Command] = []
        self._lock = threading.Lock()
        self.tick = 0
        self.snapshot = self._publish()

    def _publish(self) -> Snapshot:
        h, i, c, d = self.image.encode(self.values, self.status)
        return Snapshot(tick=self.tick, sim_time=float(self.tick), values=self.values.copy(),
                        status=self.status.copy(), holding=h, input=i, coils=c, discrete=d, digest="")

    def submit(self, cmd: Command) -> None:
        with self._lock:
            self.submitted.append(cmd)
            if self.apply_writes:
                for n, t in enumerate(self.tagmap.tags):
                    if t.signal == cmd.target:
                        self.values[n] = cmd.value
                self.tick += 1
                self.snapshot = self._publish()
