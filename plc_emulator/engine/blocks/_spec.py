"""The block interface: what one block kind declares about itself (pure data, no physics).

A block kind is one small module of this package that defines a :class:`BlockSpec`:

* ``params``   - validated parameters with unit, default and physical range. Every parameter is
  *batchable per row*: a plant file may give one value for all N plants of a batch or a list of N
  values (per-well decline, per-pump Weibull draw). :func:`resolve_params` turns either into an
  (N,) float64 array.
* ``initial``  - initial conditions (also :class:`Param`), and ``steady`` when the block can compute
  its own steady state (``initial: steady`` in a plant file).
* ``states``   - typed state arrays with the leading batch axis N (shape ``(N, *extra)``);
  :func:`pack_state` / :func:`unpack_state` serialise them to a versioned array dict (checkpoints,
  co-simulation get-state / set-state).
* ``ports``    - typed connection points. An output port lists the inputs it depends on *in the
  same tick* (``depends``: direct feedthrough); an output computed only from state has none. A cycle
  of connections through feedthrough ports only is an algebraic loop and is refused.
* ``signals``  - what the block exposes to tags: ``state`` (read-only), ``input`` (writable, with
  write limits) or ``measured`` (transmitter output, with a StatusCode).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np

from plc_emulator.engine.types import F64

__all__ = [
    "STATE_FORMAT_VERSION",
    "BlockCategory",
    "BlockSpec",
    "Direction",
    "Param",
    "ParamType",
    "Port",
    "Quantity",
    "Signal",
    "SignalKind",
    "StateError",
    "StateVar",
    "initial_state",
    "pack_state",
    "resolve_params",
    "unpack_state",
]

STATE_FORMAT_VERSION: Final = 1


class Quantity(StrEnum):
    """What a port carries; each quantity has exactly one unit (``UNITS``)."""

    PRESSURE = "pressure"
    LEVEL = "level"
    PERCENT = "percent"
    TEMPERATURE = "temperature"
    LIQUID_FLOW = "liquid_flow"
    GAS_FLOW = "gas_flow"
    SPEED = "speed"
    FLAG = "flag"
    STREAM = "stream"
    SOURCE = "source"
    RESISTANCE = "resistance"

    @property
    def unit(self) -> str:
        return UNITS[self]


UNITS: Final[dict[Quantity, str]] = {
    Quantity.PRESSURE: "psig",
    Quantity.LEVEL: "%",
    Quantity.PERCENT: "%",
    Quantity.TEMPERATURE: "°C",
    Quantity.LIQUID_FLOW: "m3/s",
    Quantity.GAS_FLOW: "scf/s",
    Quantity.SPEED: "rpm",
    Quantity.FLAG: "0/1",
    # a material stream: oil m3/s, water m3/s, gas scf/s, temperature °C (shape (N, 4))
    Quantity.STREAM: "m3/s oil, m3/s water, scf/s gas, °C",
    # what a vessel nozzle offers a valve: pressure psig incl. liquid head, water fraction, gas-oil
    # ratio scf/m3 of the liquid (flash gas), temperature °C (shape (N, 4))
    Quantity.SOURCE: "psig, water fraction, scf/m3, °C",
    # hydraulic resistance of a throttling element: dP = k Q^2 (a valve in series with a pump)
    Quantity.RESISTANCE: "psi/(m3/s)^2",
}


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class ParamType(StrEnum):
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    CHOICE = "choice"
    # a file named relative to the plant file (a recorded time series); the value is the handle
    # of the loaded file (engine.playback.RECORDINGS), 0 = none; a block's PATH parameter is required
    PATH = "path"
    # a column of the block's PATH parameter's file, by name; the value is its index (default: the first)
    COLUMN = "column"


class SignalKind(StrEnum):
    MEASURED = "measured"
    INPUT = "input"
    STATE = "state"


class BlockCategory(StrEnum):
    SOURCE = "source"
    VESSEL = "vessel"
    MOVER = "mover"
    VALVE = "valve"
    HEAT = "heat transfer"
    CONTROL = "control"
    INSTRUMENT = "instrument"
    ENVIRONMENT = "environment"


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One parameter (or initial condition): unit, default and physical range [lo, hi]."""

    name: str
    unit: str
    default: float
    lo: float = -np.inf
    hi: float = np.inf
    kind: ParamType = ParamType.FLOAT
    choices: tuple[str, ...] = ()  # CHOICE: the value is the index of the name
    description: str = ""

    def range_text(self) -> str:
        if self.kind is ParamType.BOOL:
            return "true/false"
        if self.kind is ParamType.CHOICE:
            return " | ".join(self.choices)
        if self.kind is ParamType.PATH:
            return "a file, relative to the plant file"
        if self.kind is ParamType.COLUMN:
            return "a column name of the file"
        lo = "" if self.lo == -np.inf else f"{self.lo:g}"
        hi = "" if self.hi == np.inf else f"{self.hi:g}"
        return f"{lo} .. {hi}" if lo or hi else "any"

    def default_text(self) -> str:
        if self.kind is ParamType.BOOL:
            return "true" if self.default else "false"
        if self.kind is ParamType.CHOICE:
            return self.choices[int(self.default)]
        if self.kind is ParamType.PATH:
            return "(required)"
        if self.kind is ParamType.COLUMN:
            return "the first column"
        return f"{self.default:g}"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateVar:
    """One state array of shape (N, *extra) with its initial value (``init`` names an initial
    condition of the block, or is empty for the constant ``value``)."""

    name: str
    unit: str
    extra: tuple[int, ...] = ()
    value: float = 0.0
    init: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Port:
    name: str
    quantity: Quantity
    direction: Direction
    depends: tuple[str, ...] = ()  # OUT only: inputs with direct feedthrough to this output
    optional: bool = False  # IN only: may stay unconnected (then ``idle`` is used)
    idle: float = 0.0
    description: str = ""

    @property
    def unit(self) -> str:
        return self.quantity.unit


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """A value the block exposes to tags as ``UNIT.name``."""

    name: str
    unit: str
    kind: SignalKind
    range: tuple[float, float] = (0.0, 100.0)
    limits: tuple[float, float] | None = None  # INPUT: default write limits
    states: tuple[str, ...] = ()  # names of the values of a BOOL/ENUM signal
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockSpec:
    """Everything a plant file, the validator, the compiler and the docs know about one block kind."""

    kind: str
    category: BlockCategory
    summary: str
    params: tuple[Param, ...] = ()
    initial: tuple[Param, ...] = ()
    steady: bool = False  # supports ``initial: steady``
    states: tuple[StateVar, ...] = ()
    ports: tuple[Port, ...] = ()
    signals: tuple[Signal, ...] = ()
    holds_state: bool = True  # integrates something over time (vessel holdup, lag, integral)
    # derived initial states (e.g. holdup volume from a level): (params, initial, n) -> arrays
    start: Callable[[Mapping[str, F64], Mapping[str, F64], int], dict[str, F64]] | None = None

    def __post_init__(self) -> None:
        for group in ("params", "initial", "states", "ports", "signals"):
            names = [x.name for x in getattr(self, group)]
            if len(names) != len(set(names)):
                raise ValueError(f"block {self.kind}: duplicate name in {group}")
        ins = {p.name for p in self.ports if p.direction is Direction.IN}
        for p in self.ports:
            bad = set(p.depends) - ins
            if bad:
                raise ValueError(f"block {self.kind}: port {p.name} depends on unknown inputs {sorted(bad)}")
        inits = {p.name for p in self.initial}
        for s in self.states:
            if s.init and s.init not in inits:
                raise ValueError(f"block {self.kind}: state {s.name} starts from unknown initial {s.init}")

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def init_param(self, name: str) -> Param | None:
        return next((p for p in self.initial if p.name == name), None)

    def port(self, name: str) -> Port | None:
        return next((p for p in self.ports if p.name == name), None)

    def signal(self, name: str) -> Signal | None:
        return next((s for s in self.signals if s.name == name), None)

    def inputs(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.direction is Direction.IN)

    def outputs(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.direction is Direction.OUT)


# --- per-row parameters ---------------------------------------------------------------------------

ParamValue = float | Sequence[float]


def resolve_params(specs: Sequence[Param], given: Mapping[str, ParamValue], n: int) -> dict[str, F64]:
    """Defaults overridden by ``given`` (one value, or one per row), each as an (N,) float64 array.

    The plant loader has already checked names and ranges; this raises ValueError only for a per-row
    list whose length is not ``n``.
    """
    out: dict[str, F64] = {}
    for p in specs:
        v = given.get(p.name, p.default)
        arr = np.asarray(v, dtype=np.float64)
        if arr.ndim == 0:
            out[p.name] = np.full(n, float(arr))
        elif arr.shape == (n,):
            out[p.name] = arr.copy()
        else:
            raise ValueError(f"parameter {p.name}: {arr.shape[0]} values for {n} rows")
    return out


# --- state arrays and their serialised form -------------------------------------------------------


class StateError(ValueError):
    """A serialised state that does not fit the block (version, names or shapes)."""


def initial_state(
    spec: BlockSpec, params: Mapping[str, F64], init: Mapping[str, F64], n: int
) -> dict[str, F64]:
    """Every state array of ``spec`` at its initial value (resolved ``params`` and ``init``)."""
    out: dict[str, F64] = {}
    for s in spec.states:
        base = init[s.init] if s.init else np.full(n, s.value)
        out[s.name] = np.broadcast_to(base.reshape((n,) + (1,) * len(s.extra)), (n, *s.extra)).copy()
    if spec.start is not None:
        out.update(spec.start(params, init, n))
    return out


def pack_state(spec: BlockSpec, states: Mapping[str, F64]) -> dict[str, np.ndarray]:
    """A versioned array dict (``np.savez``-ready): ``_version``, ``_kind`` and one array per state."""
    out: dict[str, np.ndarray] = {
        "_version": np.array(STATE_FORMAT_VERSION),
        "_kind": np.array(spec.kind),
    }
    for s in spec.states:
        out[s.name] = np.array(states[s.name], dtype=np.float64, copy=True)
    return out


def unpack_state(
    spec: BlockSpec, arrays: Mapping[str, np.ndarray], n: int, *, units: tuple[int, ...] = ()
) -> dict[str, F64]:
    """The inverse of :func:`pack_state`; :class:`StateError` names the first mismatch. ``units``
    is the unit axis of a plan group's arrays ((N, U, *extra)), empty for one unit."""
    version = int(arrays.get("_version", np.array(-1)))
    if version != STATE_FORMAT_VERSION:
        raise StateError(f"state format version {version}, expected {STATE_FORMAT_VERSION}")
    kind = str(arrays.get("_kind", np.array("")))
    if kind != spec.kind:
        raise StateError(f"state of a {kind!r} block, expected {spec.kind!r}")
    out: dict[str, F64] = {}
    for s in spec.states:
        if s.name not in arrays:
            raise StateError(f"{spec.kind}: missing state array {s.name!r}")
        arr = np.asarray(arrays[s.name], dtype=np.float64)
        if arr.shape != (n, *units, *s.extra):
            raise StateError(f"{spec.kind}.{s.name}: shape {arr.shape}, expected {(n, *units, *s.extra)}")
        out[s.name] = arr.copy()
    extra = set(arrays) - {s.name for s in spec.states} - {"_version", "_kind"}
    if extra:
        raise StateError(f"{spec.kind}: unknown state arrays {sorted(extra)}")
    return out
