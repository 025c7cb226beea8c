"""The live-PLC backend: a pymodbus client reading and writing the tag map's registers.

The agent's writes are encoded with the register codec the server decodes with, one FC 16 (or FC 5
for a coil) per point; the server validates them again, so a refused write is a
:class:`ModbusBackendError` naming the point and the exception code. ``advance(n)`` either steps
the PLC exactly ``n`` ticks through ``runtime.step`` (``lockstep=True``: the PLC stays paused between
agent steps, so the closed loop is as deterministic as in process; the listener needs the engineer
access level) or waits until ``runtime.tick`` has moved ``n`` ticks while the PLC runs on its own
clock (``lockstep=False``). ``reset`` cannot restart a live plant: it only starts a new episode.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.types import F64
from plc_emulator.errors import EmulatorError
from plc_emulator.image.codec import decode_words, encode_words
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import Table, Tag, TagMap

__all__ = ["ModbusBackend", "ModbusBackendError", "parse_address"]

_TICK, _STEP, _PAUSED = "runtime.tick", "runtime.step", "runtime.paused"
_MAX_STEP = 65535  # runtime.step is a uint16


class ModbusBackendError(EmulatorError):
    """The PLC refused a request or did not answer in time (one line, names the point)."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); ValueError with the reason."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"modbus address must be HOST:PORT (got {text!r})")
    return host, int(port)


class ModbusBackend:
    """A live ``plc-emulator run`` at ``address`` serving ``tagmap`` (path or loaded)."""

    seeded = False

    def __init__(self, tagmap: str | Path | TagMap, address: str, *, lockstep: bool = True,
                 timeout: float = 10.0) -> None:
        self.tagmap = tagmap if isinstance(tagmap, TagMap) else load(tagmap)
        self.name = self.tagmap.name
        self.dt = self.tagmap.scan_period
        self.lockstep, self.timeout = lockstep, float(timeout)
        self.unit = self.tagmap.modbus.unit_id
        tags: dict[str, Tag] = {}
        for t in self.tagmap.tags:
            if t.modbus is not None:
                tags.setdefault(t.signal, t)
        self.tags = tags
        needed = (_TICK, _STEP) if lockstep else (_TICK,)
        missing = [s for s in needed if s not in tags]
        if missing:
            raise ValueError(f"{self.tagmap.path}: the tag map binds no Modbus point for {', '.join(missing)}"
                             f" ({'lockstep' if lockstep else 'free-running'} mode needs it)")
        host, port = parse_address(address)
        self.client = ModbusTcpClient(host, port=port, timeout=3, retries=1)
        if not self.client.connect():  # type: ignore[no-untyped-call]
            raise ModbusBackendError(f"cannot connect to the PLC at {address}")
        self._paused_by_us = False

    # --- Backend -----------------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """A live plant keeps its own seed; a new episode starts from its current state."""

    def write(self, commands: Sequence[Command]) -> None:
        for cmd in commands:
            if cmd.kind is not CommandKind.WRITE or cmd.target not in self.tags:
                raise ModbusBackendError(f"{cmd.target}: no Modbus point to write")
            self._write(self.tags[cmd.target], cmd.value)

    def advance(self, ticks: int) -> int:
        start = self._tick()
        target = start + int(ticks)
        if self.lockstep:
            self._paused_by_us = True
            left = int(ticks)
            while left > 0:
                n = min(left, _MAX_STEP)
                self._write(self.tags[_STEP], float(n))
                left -= n
        deadline = time.monotonic() + self.timeout + (0.0 if self.lockstep else ticks * self.dt)
        while (tick := self._tick()) < target:
            if time.monotonic() > deadline:
                raise ModbusBackendError(f"the PLC did not reach tick {target} within the timeout (at {tick})")
            if not self.lockstep:
                time.sleep(min(self.dt, (target - tick) * self.dt) / 2)
        return tick

    def read(self, names: Sequence[str]) -> F64:
        return np.array([self._read(self.tags[n]) for n in names], dtype=np.float64)

    def close(self) -> None:
        try:
            if self._paused_by_us and _PAUSED in self.tags:
                self._write(self.tags[_PAUSED], 0.0)  # hand the PLC back running
        finally:
            self.client.close()  # type: ignore[no-untyped-call]

    # --- registers ---------------------------------------------------------------------------------
    def _tick(self) -> int:
        return round(self._read(self.tags[_TICK]))

    def _read(self, tag: Tag) -> float:
        p = tag.modbus
        assert p is not None
        try:
            if p.table is Table.COIL or p.table is Table.DISCRETE_INPUT:
                fn = self.client.read_coils if p.table is Table.COIL else self.client.read_discrete_inputs
                rb = fn(p.address, count=1, device_id=self.unit)
                if rb.isError():
                    raise ModbusBackendError(f"reading {tag.signal} ({p.table.value} {p.address}): {rb}")
                return float(bool(rb.bits[0]))
            fn = (self.client.read_holding_registers if p.table is Table.HOLDING_REGISTER
                  else self.client.read_input_registers)
            rr = fn(p.address, count=p.count, device_id=self.unit)
        except ModbusException as exc:
            raise ModbusBackendError(f"reading {tag.signal} ({p.table.value} {p.address}): {exc}") from exc
        if rr.isError():
            raise ModbusBackendError(f"reading {tag.signal} ({p.table.value} {p.address}): {rr}")
        return decode_words(rr.registers, p, tag.range)

    def _write(self, tag: Tag, value: float) -> None:
        p = tag.modbus
        assert p is not None
        try:
            if p.table is Table.COIL:
                rr = self.client.write_coil(p.address, bool(value >= 0.5), device_id=self.unit)
            elif p.table is Table.HOLDING_REGISTER:
                rr = self.client.write_registers(p.address, encode_words(value, p, tag.range), device_id=self.unit)
            else:
                raise ModbusBackendError(f"{tag.signal}: {p.table.value} {p.address} is read-only on Modbus")
        except ModbusException as exc:
            raise ModbusBackendError(f"writing {tag.signal} ({p.table.value} {p.address}): {exc}") from exc
        if rr.isError():
            code = getattr(rr, "exception_code", "?")
            raise ModbusBackendError(f"the PLC refused {tag.signal} = {value:g} ({p.table.value} {p.address}, "
                                     f"exception {code})")
