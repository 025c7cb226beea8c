"""A PLC double with the runtime's shape that runs the REAL alarm system on a hand-set process frame.

It steps only when told (``step()``), so tests are in lockstep without sleeping: commands submitted
by an adapter are applied at the next ``step()``, exactly like the runtime's next tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from plc_emulator.alarms import AlarmSystem
from plc_emulator.commands import Command
from plc_emulator.engine.catalogue import index_of
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.tagmap.model import TagMap

from .helpers import frame


class AlarmPlc:
    def __init__(self, tagmap: TagMap) -> None:
        self.tagmap = tagmap
        self.image = RegisterImage(tagmap)
        self.system = AlarmSystem(tagmap)
        self.values, self.status = frame()
        self.tick = 0
        self._queue: list[Command] = []
        self._lock = threading.Lock()
        self._cbs: list[Callable[[Snapshot], None]] = []
        self.applied: list[Command] = []
        self.snapshot = self._publish(())

    # the runtime's surface -------------------------------------------------------------------
    def submit(self, cmd: Command) -> None:
        with self._lock:
            self._queue.append(cmd)

    def on_snapshot(self, cb: Callable[[Snapshot], None]) -> None:
        self._cbs.append(cb)

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def set_speed(self, speed: float) -> None: ...

    # test controls ---------------------------------------------------------------------------
    def set(self, signal: str, value: float) -> None:
        self.values[0, index_of(signal)] = value

    def step(self, n: int = 1) -> int:
        for _ in range(n):
            with self._lock:
                cmds, self._queue = self._queue, []
            self.tick += 1
            self.system.step(self.values, self.status, tick=self.tick, commands=cmds)
            self.applied += cmds
            self.snapshot = self._publish(tuple(cmds))
            for cb in self._cbs:
                cb(self.snapshot)
        return self.tick

    def _publish(self, cmds: tuple[Command, ...]) -> Snapshot:
        sig = self.system.signal_values() if self.system.last is not None else self.system.block.signal_values()
        tags = self.tagmap.tags
        values = np.zeros(len(tags))
        status = np.zeros(len(tags), dtype=np.uint32)
        for i, t in enumerate(tags):
            if t.signal in sig:
                values[i] = sig[t.signal]
            elif not t.signal.startswith(("runtime.", "alarm", "pm.")):
                values[i] = self.values[0, index_of(t.signal)]
                status[i] = self.status[0, index_of(t.signal)]
        holding, inp, coils, discrete = self.image.encode(values, status)
        return Snapshot(
            tick=self.tick,
            sim_time=self.tagmap.epoch + self.tick * self.tagmap.scan_period,
            values=values,
            status=status,
            holding=holding,
            input=inp,
            coils=coils,
            discrete=discrete,
            digest="",
            alarms=self.system.view(),
            commands=cmds,
        )
