"""A pytest-friendly emulator for your own integration tests (CODESYS, SoftPLC, SCADA drivers, CI).

::

    from plc_emulator.testing import emulator

    async def test_level_setpoint_is_applied():
        async with emulator(seed=7) as emu:              # paused: the test drives the clock
            emu.write("SEP-V100.level_sp", 55.0)         # validated like a client write
            snap = await emu.step()                      # applied at the next tick
            assert emu.value("SEP-V100.level_sp", snap) == 55.0
            # ... point your Modbus client at 127.0.0.1:emu.modbus_port

``emulator()`` starts a :class:`~plc_emulator.runtime.PlcRuntime` and the Modbus TCP server (and the
OPC UA server when that adapter is installed and ``opcua=True``) on free loopback ports. With
``lockstep=True`` (the default) the scan thread is paused and only ``await emu.step(n)`` advances
it, exactly ``n`` ticks; with ``lockstep=False`` it runs at ``speed`` (0 = as fast as possible).
Everything is torn down when the block exits, even on failure.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plc_emulator.commands import Command
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap.model import Tag, TagMap

__all__ = ["Emulator", "default_tagmap_path", "emulator"]

_HERE = Path(__file__).resolve().parent


def default_tagmap_path() -> Path:
    """The shipped separation-train tag map (package data, or the repository's ``tag_maps/``)."""
    for candidate in (_HERE / "data" / "separation_train.yaml",
                      _HERE.parent / "tag_maps" / "separation_train.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("separation_train.yaml not found; pass tagmap_path=")


@dataclass(slots=True, kw_only=True)
class Emulator:
    """A running emulator: ports, the runtime, and helpers to write and step."""

    tagmap: TagMap
    plc: PlcRuntime
    host: str
    modbus_port: int
    opcua_port: int | None = None
    opcua_endpoint: str | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self.plc.snapshot

    @property
    def tick(self) -> int:
        return self.plc.snapshot.tick

    def tag(self, key: str) -> Tag:
        return self.tagmap.tag(key)

    def index(self, key: str) -> int:
        """Column of tag ``DEVICE.tag`` in the snapshot arrays."""
        for i, t in enumerate(self.tagmap.tags):
            if t.key == key:
                return i
        raise KeyError(key)

    def value(self, key: str, snapshot: Snapshot | None = None) -> float:
        snap = snapshot if snapshot is not None else self.plc.snapshot
        return float(snap.values[self.index(key)])

    def status(self, key: str, snapshot: Snapshot | None = None) -> int:
        snap = snapshot if snapshot is not None else self.plc.snapshot
        return int(snap.status[self.index(key)])

    def write(self, key: str, value: float, *, source: str = "test") -> Command:
        """Validate and queue a write to tag ``DEVICE.tag``; raises WriteRejected like a client write."""
        from plc_emulator.image.writes import validate_write

        cmd = validate_write(self.tag(key), value, source=source)
        self.plc.submit(cmd)
        return cmd

    def submit(self, cmd: Command) -> None:
        """Queue any command (fault injection, scenario actions ...) for the next tick."""
        self.plc.submit(cmd)

    async def step(self, n: int = 1) -> Snapshot:
        """Advance exactly ``n`` ticks and return the snapshot of the last one.

        Bound long steps with ``async with asyncio.timeout(...)`` in your test.
        """
        target = self.plc.step(n)
        return await self.plc.wait_tick(target)


def _opcua_adapter() -> Any:
    """The OPC UA adapter class, or None when it is not installed."""
    import importlib

    for module in ("plc_emulator.opcua", "plc_emulator.opcua.server"):
        try:
            cls = getattr(importlib.import_module(module), "OpcUaAdapter", None)
        except ImportError:
            continue
        if cls is not None:
            return cls
    return None


@contextlib.asynccontextmanager
async def emulator(tagmap_path: str | Path | None = None, *, lockstep: bool = True, seed: int | None = None,
                   speed: float = 0.0, journal: str | Path | None = None, host: str = "127.0.0.1",
                   opcua: bool = False, modbus_access: str = "engineer") -> AsyncIterator[Emulator]:
    """Start an emulator on free ports; see the module docstring.

    The test drives the simulation, so its Modbus clients get ``engineer`` access (pause, step,
    faults) unless ``modbus_access`` says otherwise (``plc-emulator run`` defaults to operator).
    """
    from plc_emulator.modbus import ModbusAdapter
    from plc_emulator.modbus.access import parse_level
    from plc_emulator.tagmap import load

    tagmap = load(str(tagmap_path if tagmap_path is not None else default_tagmap_path()))
    config = RuntimeConfig(paused=lockstep, speed=speed, seed=seed, journal=journal)
    async with contextlib.AsyncExitStack() as stack:
        plc = await stack.enter_async_context(PlcRuntime(tagmap, config))
        modbus = await stack.enter_async_context(ModbusAdapter(tagmap, plc, host=host, port=0,
                                                               access=parse_level(modbus_access)))
        emu = Emulator(tagmap=tagmap, plc=plc, host=host, modbus_port=int(modbus.port))
        if opcua:
            adapter_cls = _opcua_adapter()
            if adapter_cls is not None:  # the OPC UA adapter is installed
                ua = await stack.enter_async_context(adapter_cls(tagmap, plc, host=host, port=0))
                emu.opcua_port = int(ua.port)
                emu.opcua_endpoint = getattr(ua, "endpoint", None)
        yield emu
