"""A plant file as frozen objects (what the loader returns; positions kept for later checks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from plc_emulator.errors import TagMapError

__all__ = [
    "Action",
    "Condition",
    "Connection",
    "Instrument",
    "Interlock",
    "Loop",
    "PlantError",
    "PlantFile",
    "Unit",
    "Where",
]


class PlantError(TagMapError):
    """A bad plant file; ``problems`` are ``FILE:LINE:COL: path: message`` lines (CLI exit 2)."""


@dataclass(frozen=True, slots=True)
class Where:
    """1-based line and column of the node in the plant file."""

    line: int
    col: int


class Action(StrEnum):
    DIRECT = "direct"
    REVERSE = "reverse"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """One block instance. ``params``/``initial`` values are one number or one per batch row."""

    name: str
    block: str
    params: Mapping[str, float | tuple[float, ...]] = field(default_factory=dict)
    initial: Mapping[str, float | tuple[float, ...]] = field(default_factory=dict)
    steady: bool = False
    where: Where
    param_where: Mapping[str, Where] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    src: str  # unit
    src_port: str
    dst: str
    dst_port: str
    where: Where
    owner: str = ""  # the instrument, loop or interlock that implies it ("" = written in the file)

    def text(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A transmitter on ``measures`` (UNIT.signal); its reading is served under that same name."""

    name: str
    measures: str
    unit: str | None
    range: tuple[float, float]
    accuracy_pct: float
    bits: int
    comm_timeout_s: float
    field: bool
    where: Where


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop:
    """PV (an instrumented signal) -> PID -> final element (a percent input port)."""

    name: str
    pv: str
    output: str  # UNIT.port
    sp: float
    kc: float
    ti: float
    td: float
    action: Action
    auto: bool
    out: float
    sp_limits: tuple[float, float] | None
    where: Where


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    signal: str
    above: float | None
    below: float | None
    where: Where


@dataclass(frozen=True, slots=True, kw_only=True)
class Interlock:
    name: str
    conditions: tuple[Condition, ...]
    acts_on: tuple[tuple[str, Where], ...]  # UNIT.port of FLAG inputs
    latching: bool
    delay_s: float
    where: Where


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantFile:
    name: str
    description: str
    file: str
    units: tuple[Unit, ...]
    connections: tuple[Connection, ...]
    instruments: tuple[Instrument, ...]
    loops: tuple[Loop, ...]
    interlocks: tuple[Interlock, ...]
    broken: frozenset[str] = frozenset()  # paths (units.V1, loops.LIC1) of entries already reported
