"""A fleet of RTUs after expansion: one frozen :class:`RtuSpec` per RTU, in file order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from plc_emulator.errors import TagMapError

__all__ = ["MAX_RTUS", "MAX_UNIT_ID", "Fleet", "FleetError", "Gateway", "ModbusAddress", "RtuSpec"]

MAX_RTUS = 100_000  # after expansion; bounds a typo such as {1..10000000}
MAX_UNIT_ID = 247  # Modbus unit ids 1..247 (0 is broadcast, 248..255 reserved)


class FleetError(TagMapError):
    """The fleet file is wrong: every problem, one ``FILE:LINE:COL: path: message`` line each."""


@dataclass(frozen=True, slots=True)
class Gateway:
    """A shared Modbus TCP port: one connection reaches many RTUs by unit id."""

    name: str
    port: int


@dataclass(frozen=True, slots=True)
class ModbusAddress:
    """Where an RTU answers: its own port (unit id 1 there), or a unit id on a gateway's port."""

    port: int
    unit: int = 1
    gateway: str | None = None  # None: the RTU owns the port

    def __str__(self) -> str:
        return f"{self.gateway}:{self.port}/unit {self.unit}" if self.gateway else f"port {self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RtuSpec:
    """One RTU: what it runs (tag map, seed, parameters, scenario) and where it is served."""

    id: str
    tagmap: Path
    seed: int  # engine seed: set in the file, else drawn from SeedSequence(fleet seed, RTU id)
    parameters: Mapping[str, float] = field(default_factory=dict)  # dotted ``process:`` path -> value
    scenario: Path | None = None
    modbus: ModbusAddress
    opcua: bool = False  # served under Objects/<RTU id>/ by the fleet's one OPC UA server
    historian: bool = False
    source_line: int = 0  # line of the entry (template) it came from, for messages

    @property
    def placement(self) -> str:
        """What must stay in one process: a gateway (one connection carries all its units) or the RTU."""
        return f"gateway:{self.modbus.gateway}" if self.modbus.gateway else f"rtu:{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fleet:
    name: str
    seed: int
    path: Path
    gateways: tuple[Gateway, ...]
    rtus: tuple[RtuSpec, ...]

    def rtu(self, rtu_id: str) -> RtuSpec:
        for r in self.rtus:
            if r.id == rtu_id:
                return r
        raise KeyError(rtu_id)
