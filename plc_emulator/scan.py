"""One scan of the PLC, as a pure function of (state, commands): the heart of every pacing mode.

``simulate`` (headless), the live scan thread, ``replay`` and the test fixture all drive the same
:class:`ScanCycle`, so the same tag map, seed and command journal give the same snapshot stream and
the same digest whatever the pacing. Order inside a tick (docs/runtime.md):

1. commands in (engine writes, faults, scenario actions; ``runtime.*`` writes are pacing and are
   handled by the runtime before they get here);
2. engine step;
3. instrument outputs (measured values + StatusCodes);
4. alarm block (limits, quality, PM rules; operator ALARM_* commands) and then tag values in
   tag-map order (engine, runtime and alarm signals);
5. Modbus tables pre-encoded once;
6. an immutable Snapshot with the running digest.

No I/O and no clock: wall-clock diagnostics (scan time, jitter, overruns) come in as
:class:`RuntimeValues` and are excluded from the digest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms import AlarmSystem, is_alarm_signal, operator_command
from plc_emulator.commands import Command
from plc_emulator.engine import GroundTruthEvent
from plc_emulator.engine.protocol import AnyState, ProcessEngine, make_engine
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import RunDigest, Snapshot
from plc_emulator.memory import MemoryBlock, is_memory_signal
from plc_emulator.signals import DETERMINISTIC_RUNTIME
from plc_emulator.tagmap.model import TagMap

__all__ = ["RuntimeValues", "ScanCycle"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeValues:
    """What only the runtime knows: wall-clock diagnostics and the pacing state."""

    scan_time_ms: float = 0.0
    jitter_ms: float = 0.0
    overruns: int = 0
    paused: bool = False
    speed: float = 1.0


class ScanCycle:
    """Owns the engine state of one PLC (batch size 1) and turns each tick into a Snapshot.

    The engine is the tag map's plant file (``model:``) or the built-in separation train; its output
    columns follow ``tagmap.catalogue``."""

    def __init__(self, tagmap: TagMap, *, seed: int | None = None) -> None:
        self.tagmap = tagmap
        self.seed = tagmap.seed if seed is None else int(seed)
        self.dt = tagmap.scan_period
        self.catalogue = tagmap.catalogue
        self.engine: ProcessEngine = make_engine(tagmap.plant_model, tagmap.plant_params, dt=self.dt,
                                                 seed=self.seed, n=1, epoch=tagmap.epoch)
        self.state: AnyState = self.engine.initial_state()
        self.image = RegisterImage(tagmap)
        self.alarms = AlarmSystem(tagmap, dt=self.dt, n=1)  # evaluated after the sensors, every tick

        tags = tagmap.tags
        self.n_tags = len(tags)
        eng_tag: list[int] = []
        eng_sig: list[int] = []
        self._runtime_cols: dict[str, list[int]] = {}
        alarm_tag: list[int] = []
        alarm_sig: list[str] = []
        mem_tag: list[int] = []
        deterministic: list[int] = []
        for i, tag in enumerate(tags):
            if is_memory_signal(tag.signal):
                mem_tag.append(i)
                deterministic.append(i)
            elif is_alarm_signal(tag.signal):
                alarm_tag.append(i)
                alarm_sig.append(tag.signal)
                deterministic.append(i)
            elif tag.signal.startswith("runtime."):
                self._runtime_cols.setdefault(tag.signal, []).append(i)
                if tag.signal in DETERMINISTIC_RUNTIME:
                    deterministic.append(i)
            else:
                eng_tag.append(i)
                eng_sig.append(self.catalogue.index_of(tag.signal))
                deterministic.append(i)
        self._eng_tag = np.asarray(eng_tag, dtype=np.intp)
        self._eng_sig = np.asarray(eng_sig, dtype=np.intp)
        self._alarm_tag = np.asarray(alarm_tag, dtype=np.intp)
        self._alarm_sig = tuple(alarm_sig)
        self._mem_cols = [(i, tags[i].signal) for i in mem_tag]
        self.memory = MemoryBlock.for_signals([s for _, s in self._mem_cols], self.dt)
        self._string_cols = self.image.string_tags
        self._alarm_mem = self.alarms.block.extra_signals
        self._digest = RunDigest(np.asarray(deterministic, dtype=np.intp))
        self.snapshot = self._publish(RuntimeValues(), events=(), commands=())

    @property
    def tick(self) -> int:
        return int(self.state.tick)

    @property
    def sim_time(self) -> float:
        """Unix seconds of the current tick (epoch + tick * dt, integer ticks so no float drift)."""
        return self.tagmap.epoch + self.tick * self.dt

    def set_epoch(self, epoch: float) -> None:
        """Move tick 0 to ``epoch`` (Unix s): the live runtime fixes a wall-clock epoch at start."""
        self.tagmap = dataclasses.replace(self.tagmap, epoch=float(epoch))
        self.engine.epoch = float(epoch)

    def republish(self, runtime: RuntimeValues | None = None) -> Snapshot:
        """Publish the current state again without stepping (after a checkpoint restore)."""
        self.snapshot = self._publish(runtime or RuntimeValues(), events=(), commands=())
        return self.snapshot

    def step(self, commands: Sequence[Command] = (), runtime: RuntimeValues | None = None) -> Snapshot:
        """Apply ``commands`` at the start of the next tick, advance one tick, publish a Snapshot."""
        plc_cmds = [c for c in commands if not c.target.startswith("runtime.")]
        # alarm operator actions (ALARM_* kinds, writes to alarm.* / alarms.* points) go to the alarm block
        alarm_cmds = [c for c in plc_cmds if operator_command(c) is not None or is_alarm_signal(c.target)]
        engine_cmds = [c for c in plc_cmds if not (operator_command(c) is not None or is_alarm_signal(c.target)
                                                   or is_memory_signal(c.target))]
        if self._mem_cols:  # PLC logic of the last scan (watchdog actions) goes first
            engine_cmds = [*self.memory.take_actions(), *engine_cmds]
        self.state, events = self.engine.step(self.state, engine_cmds)
        if self._mem_cols:
            events = [*events, *self.memory.step(plc_cmds, int(self.state.tick))]
        self.snapshot = self._publish(runtime or RuntimeValues(), events=tuple(events),
                                      commands=tuple(plc_cmds), alarm_commands=tuple(alarm_cmds))
        return self.snapshot

    def run(self, ticks: int, schedule: dict[int, list[Command]] | None = None) -> Snapshot:
        """Advance ``ticks`` ticks headless; ``schedule`` maps a tick to the commands applied at it."""
        sched = schedule or {}
        for _ in range(ticks):
            self.step(sched.get(self.tick + 1, ()))
        return self.snapshot

    def _publish(self, rt: RuntimeValues, *, events: tuple[GroundTruthEvent, ...],
                 commands: tuple[Command, ...], alarm_commands: tuple[Command, ...] = ()) -> Snapshot:
        out = self.engine.outputs(self.state)
        a_values, a_status = out.values, out.status
        if self._alarm_mem:  # alarms on PLC memory (watchdog expired ...): columns after the engine's
            extra = np.array([[self.memory.value(s) for s in self._alarm_mem]], dtype=np.float64)
            a_values = np.concatenate([a_values, extra], axis=1)
            a_status = np.concatenate([a_status, np.zeros(extra.shape, dtype=np.uint32)], axis=1)
        self.alarms.step(a_values, a_status, tick=self.tick, commands=alarm_commands)
        values: npt.NDArray[np.float64] = np.zeros(self.n_tags, dtype=np.float64)
        status: npt.NDArray[np.uint32] = np.zeros(self.n_tags, dtype=np.uint32)
        values[self._eng_tag] = out.values[0, self._eng_sig]
        status[self._eng_tag] = out.status[0, self._eng_sig]
        tick = self.tick
        runtime_values = {
            "runtime.tick": float(tick),
            "runtime.sim_time": float(int(self.sim_time)),
            "runtime.heartbeat": float(tick % 65536),
            "runtime.scan_time_ms": rt.scan_time_ms,
            "runtime.jitter_ms": rt.jitter_ms,
            "runtime.overruns": float(rt.overruns),
            "runtime.paused": 1.0 if rt.paused else 0.0,
            "runtime.speed": rt.speed,
            "runtime.step": 0.0,
        }
        for name, cols in self._runtime_cols.items():
            values[cols] = runtime_values[name]
        if len(self._alarm_tag):
            values[self._alarm_tag] = self.alarms.signal_vector(self._alarm_sig)
        for i, sig in self._mem_cols:
            values[i] = self.memory.value(sig)
        texts = {i: self.memory.text_of(self.tagmap.tags[i].signal) for i in self._string_cols}
        holding, inp, coils, discrete = self.image.encode(values, status, texts)
        digest = self._digest.update(tick, values, status, texts)
        return Snapshot(tick=tick, sim_time=self.sim_time, values=values, status=status, holding=holding,
                        input=inp, coils=coils, discrete=discrete, digest=digest, events=events,
                        commands=commands, alarms=self.alarms.view(), texts=texts)
