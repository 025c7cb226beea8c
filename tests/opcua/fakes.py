"""Test doubles for the OPC UA tests: a hand-built tag map and a small threaded fake PLC.

The fake PLC has the runtime's shape (``snapshot``, ``submit``, ``on_snapshot``, ``pause``,
``resume``, ``step``, ``set_speed``) and publishes real :class:`Snapshot` objects with Modbus tables
from the real :class:`RegisterImage`, from a scan thread. Its "process" is a deterministic function
of the tick (every measured value changes every tick), inputs hold the last written value, and
faults set the StatusCodes the engine would (fail -> BadSensorFailure, comm_loss ->
UncertainNoCommunicationLastUsableValue with the value held, freeze -> Good with the value held).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import status as st
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import RunDigest, Snapshot
from plc_emulator.signals import lookup
from plc_emulator.tagmap.model import (
    Access,
    Device,
    HistorianSettings,
    Location,
    ModbusPoint,
    ModbusSettings,
    OpcUaPoint,
    OpcUaSettings,
    Table,
    Tag,
    TagKind,
    TagMap,
    ValueFormat,
)

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# (device, name, signal, kind, access, table, format)
_SPEC: list[tuple[str, str, str, TagKind, Access, Table, ValueFormat]] = [
    ("SEP-V100", "inlet_pressure", "V100.pressure", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("SEP-V100", "temperature", "V100.temperature", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("SEP-V100", "oil_level", "V100.oil_level", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("SEP-V200", "gas_flow", "V200.gas_flow", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("LIC100", "sp", "LIC100.sp", TagKind.ANALOG, Access.RW, Table.HOLDING_REGISTER, ValueFormat.FLOAT32),
    ("LIC100", "mode", "LIC100.mode", TagKind.MULTISTATE, Access.RW, Table.HOLDING_REGISTER,
     ValueFormat.UINT16),
    ("PMP-P100", "vibration", "P100.vibration", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("PMP-P100", "oil_flow", "P100.oil_flow", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("PMP-P100", "speed", "P100.speed", TagKind.ANALOG, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.FLOAT32),
    ("PMP-P100", "status", "P100.status", TagKind.MULTISTATE, Access.RO, Table.HOLDING_REGISTER,
     ValueFormat.UINT16),
    ("PMP-P100", "run_cmd", "P100.run_cmd", TagKind.DISCRETE, Access.RW, Table.COIL, ValueFormat.BOOL),
    ("PLC", "tick", "runtime.tick", TagKind.COUNTER, Access.RO, Table.HOLDING_REGISTER, ValueFormat.UINT32),
    ("PLC", "step", "runtime.step", TagKind.COUNTER, Access.RW, Table.HOLDING_REGISTER, ValueFormat.UINT16),
]


def make_tagmap(*, scan_period: float = 0.1, extra_analog: int = 0, per_device: int = 100,
                name: str = "opcua-test") -> TagMap:
    """A small typed tag map (every tag kind and access), optionally with generated analog tags."""
    tags_by_dev: dict[str, list[Tag]] = {}
    hr = 0
    coil = 0
    line = 1

    def add(device: str, name: str, signal: str, kind: TagKind, access: Access, table: Table,  # noqa: PLR0917
            fmt: ValueFormat) -> None:
        nonlocal hr, coil, line
        spec = lookup(signal)
        assert spec is not None, signal
        if table is Table.COIL:
            point = ModbusPoint(table=table, address=coil, format=fmt)
            coil += 1
        else:
            count = fmt.registers
            point = ModbusPoint(table=table, address=hr, format=fmt, quality_address=hr + count)
            hr += count + 1
        states = spec.states if kind is not TagKind.ANALOG else ()
        limits = (spec.limits if spec.limits else spec.range) if access is Access.RW else None
        tag = Tag(device=device, name=name, signal=signal, unit=spec.unit, description=spec.description,
                  kind=kind, range=(float(spec.range[0]), float(spec.range[1])), access=access,
                  write_limits=(float(limits[0]), float(limits[1])) if limits else None, states=states,
                  precision=2, modbus=point,
                  opcua=OpcUaPoint(browse_name=name, node_id=f"{device}.{name}"), alarms=None, historian=None,
                  location=Location(file="<test>", line=line, col=1))
        line += 1
        tags_by_dev.setdefault(device, []).append(tag)

    for spec_row in _SPEC:
        add(*spec_row)
    signals = ("V100.pressure", "V100.temperature", "V200.gas_flow", "P100.vibration", "P100.oil_flow")
    for i in range(extra_analog):
        add(f"GEN-{i // per_device:03d}", f"pt{i:05d}", signals[i % len(signals)], TagKind.ANALOG, Access.RO,
            Table.HOLDING_REGISTER, ValueFormat.FLOAT32)
    devices = tuple(Device(name=d, description=f"device {d}", tags=tuple(ts))
                    for d, ts in tags_by_dev.items())
    return TagMap(path="<test>", sha256="0" * 64, name=name, plant="SeparationTrain",
                  description="test plant", scan_period=scan_period, seed=7, epoch=EPOCH,
                  modbus=ModbusSettings(), opcua=OpcUaSettings(), historian=HistorianSettings(), process={},
                  pm={}, devices=devices)


class FakePlc:
    """Threaded PLC test double. Start with :meth:`start`; ``period=0`` runs as fast as possible."""

    def __init__(self, tagmap: TagMap, *, paused: bool = False, speed: float = 1.0) -> None:
        self.tagmap = tagmap
        self.dt = tagmap.scan_period
        self.image = RegisterImage(tagmap)
        self.tags = tagmap.tags
        n = len(self.tags)
        self._digest = RunDigest(np.arange(n, dtype=np.intp))
        self._inputs: dict[str, float] = {}
        for t in self.tags:
            spec = lookup(t.signal)
            if t.access is Access.RW and spec is not None and not t.signal.startswith("runtime."):
                lo, hi = t.write_limits or t.range
                mid = (lo + hi) / 2
                self._inputs[t.signal] = mid if t.kind is TagKind.ANALOG else float(round(mid))
        self._faults: dict[str, dict[str, Any]] = {}
        self._held: dict[int, float] = {}
        self._cond = threading.Condition()
        self._queue: list[Command] = []
        self.submitted: list[Command] = []
        self._callbacks: list[Callable[[Snapshot], None]] = []
        self._paused = paused
        self._steps = 0
        self._speed = speed
        self._stop = False
        self._thread: threading.Thread | None = None
        self.tick = 0
        self.history: dict[int, Snapshot] = {}
        self.snapshot = self._publish(0, ())

    # --- the PlcRuntime surface ------------------------------------------------------------------
    def submit(self, cmd: Command) -> None:
        with self._cond:
            self._queue.append(cmd)
            self.submitted.append(cmd)
            self._cond.notify_all()

    def on_snapshot(self, cb: Callable[[Snapshot], None]) -> None:
        self._callbacks.append(cb)

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._steps = 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> int:
        with self._cond:
            self._paused = True
            self._steps += int(n)
            self._cond.notify_all()
            return self.tick + self._steps

    def set_speed(self, speed: float) -> None:
        with self._cond:
            self._speed = float(speed)
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def queued(self) -> list[Command]:
        with self._cond:
            return list(self._queue)

    async def wait_tick(self, tick: int, limit: float = 10.0) -> Snapshot:
        deadline = time.monotonic() + limit
        while self.snapshot.tick < tick:
            if time.monotonic() > deadline:
                raise TimeoutError(f"tick {tick} not reached (at {self.snapshot.tick})")
            await asyncio.sleep(0.005)
        return self.snapshot

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakePlc:
        self._thread = threading.Thread(target=self._run, name="fakeplc.scan", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        next_t = time.monotonic()
        while True:
            with self._cond:
                while not self._stop and self._paused and self._steps == 0:
                    self._cond.wait(timeout=0.5)
                    next_t = time.monotonic()
                if self._stop:
                    return
                if self._paused:
                    self._steps -= 1
                cmds, self._queue = self._queue, []
                speed = self._speed
                paused = self._paused
            snap = self._publish(self.tick + 1, tuple(cmds))
            for cb in self._callbacks:
                cb(snap)
            if not paused and speed > 0:
                next_t += self.dt / speed
                with self._cond:
                    # wait out the period; wake early only to stop, pause or change speed
                    while not self._stop and not self._paused and self._speed == speed:
                        delay = next_t - time.monotonic()
                        if delay <= 0:
                            break
                        self._cond.wait(timeout=delay)
                    if self._speed != speed or next_t < time.monotonic() - 1.0:
                        next_t = time.monotonic()

    # --- the "process" ---------------------------------------------------------------------------
    def _apply(self, cmd: Command) -> None:
        if cmd.kind is CommandKind.WRITE and not cmd.target.startswith("runtime."):
            self._inputs[cmd.target] = float(cmd.value)
        elif cmd.kind is CommandKind.INJECT_FAULT:
            self._faults[cmd.target] = dict(cmd.params)
        elif cmd.kind is CommandKind.CLEAR_FAULT:
            if cmd.target == "*":
                self._faults.clear()
            else:
                self._faults.pop(cmd.target, None)

    def _publish(self, tick: int, cmds: tuple[Command, ...]) -> Snapshot:
        for c in cmds:
            self._apply(c)
        n = len(self.tags)
        values = np.zeros(n, dtype=np.float64)
        status = np.zeros(n, dtype=np.uint32)
        for i, t in enumerate(self.tags):
            lo, hi = t.range
            if t.signal == "runtime.tick":
                v = float(tick)
            elif t.signal == "runtime.step":
                v = 0.0
            elif t.signal in self._inputs:
                v = self._inputs[t.signal]
            elif t.kind is TagKind.MULTISTATE:
                v = float((tick // 10) % max(1, len(t.states)))
            elif t.kind is TagKind.DISCRETE:
                v = float((tick // 10) % 2)
            else:
                v = lo + (hi - lo) * (0.5 + 0.4 * math.sin(tick * 0.37 + i))
            fault = self._faults.get(t.signal)
            code = st.GOOD
            if fault is not None:
                kind = fault.get("kind")
                if kind == "fail":
                    code = st.BAD_SENSOR_FAILURE
                elif kind in ("comm_loss", "freeze"):
                    v = self._held.setdefault(i, v)
                    code = st.UNCERTAIN_NO_COMM_LAST_USABLE if kind == "comm_loss" else st.GOOD
                elif kind == "bias":
                    v += float(fault.get("offset", 0.0))
            else:
                self._held.pop(i, None)
            values[i] = v
            status[i] = code
        holding, inp, coils, discrete = self.image.encode(values, status)
        digest = self._digest.update(tick, values, status)
        snap = Snapshot(tick=tick, sim_time=self.tagmap.epoch + tick * self.dt, values=values, status=status,
                        holding=holding, input=inp, coils=coils, discrete=discrete, digest=digest,
                        commands=cmds)
        self.tick = tick
        self.snapshot = snap
        self.history[tick] = snap
        if len(self.history) > 5000:
            self.history.pop(min(self.history))
        return snap


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
