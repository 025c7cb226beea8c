"""The engine's signal catalogue: every value the process model exposes, by stable name.

A tag in the tag map binds to one signal by name (``signal: V100.pressure``). The engine's output
arrays are indexed in catalogue order. Signal kinds:

* ``measured`` - a field instrument: true value -> instrument model (noise, quantisation, NE 43 clamp,
  injected faults) -> measured value + OPC UA StatusCode. Faults can be injected on these.
* ``input``    - a writable input of the PLC program (setpoint, mode, manual output, tuning, pump
  command, ESD). Written with ``Command(kind=WRITE, target=name, value=...)``. ``limits`` are the
  default write limits (a tag map may narrow them, never widen them).
* ``state``    - a computed value the PLC exposes read-only (valve position, controller PV, pump
  status, well rates, ...). Always quality Good unless the model says otherwise.

Additions are allowed; renames break tag maps and golden traces.

A :class:`Catalogue` is the signal table of one plant: :data:`LEGACY` is this module's table (the
built-in separation train engine); a plant file's is built from its signal table
(:func:`plc_emulator.engine.plant.plant_catalogue`). A tag map carries the catalogue of its plant.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = ["CATALOGUE", "LEGACY", "LOOPS", "Catalogue", "LoopSpec", "SignalKind", "SignalSpec", "ValueType",
           "index_of"]


class SignalKind(StrEnum):
    MEASURED = "measured"
    INPUT = "input"
    STATE = "state"


class ValueType(StrEnum):
    FLOAT = "float"
    BOOL = "bool"
    ENUM = "enum"  # integer index into ``states``
    INT = "int"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalSpec:
    name: str
    unit: str
    kind: SignalKind
    vtype: ValueType = ValueType.FLOAT
    range: tuple[float, float] = (0.0, 100.0)  # default EU range
    limits: tuple[float, float] | None = None  # default write limits (inputs only)
    states: tuple[str, ...] = ()  # state names for BOOL (2) / ENUM
    description: str = ""

    @property
    def writable(self) -> bool:
        return self.kind is SignalKind.INPUT


M, IN, S = SignalKind.MEASURED, SignalKind.INPUT, SignalKind.STATE
B, E, N = ValueType.BOOL, ValueType.ENUM, ValueType.INT

# (loop id, PV description, PV unit, PV range, default SP, SP limits)
LOOPS: Final[tuple[tuple[str, str, str, tuple[float, float], tuple[float, float]], ...]] = (
    ("LIC100", "SEP-V100 oil level", "%", (0.0, 100.0), (20.0, 80.0)),
    ("PIC100", "SEP-V100 gas pressure", "PSI", (0.0, 1500.0), (600.0, 1300.0)),
    ("LIC200", "SEP-V200 liquid level", "%", (0.0, 100.0), (20.0, 80.0)),
    ("PIC200", "SEP-V200 gas pressure", "PSI", (0.0, 500.0), (100.0, 350.0)),
    ("LIC300", "SEP-V300 oil level", "%", (0.0, 100.0), (20.0, 80.0)),
    ("LIC301", "SEP-V300 water interface level", "%", (0.0, 100.0), (15.0, 70.0)),
    ("PIC300", "SEP-V300 gas pressure", "PSI", (0.0, 150.0), (20.0, 100.0)),
    ("TIC100", "HX-E100 crude outlet temperature", "°C", (0.0, 100.0), (25.0, 60.0)),
)

_MODE = ("MAN", "AUTO")


def _loop_signals() -> list[SignalSpec]:
    out: list[SignalSpec] = []
    for loop, desc, unit, rng, sp_lim in LOOPS:
        out += [
            SignalSpec(name=f"{loop}.sp", unit=unit, kind=IN, range=rng, limits=sp_lim,
                       description=f"{loop} setpoint ({desc})"),
            SignalSpec(name=f"{loop}.mode", unit="", kind=IN, vtype=E, range=(0, 1), limits=(0, 1),
                       states=_MODE, description=f"{loop} mode, 0 = manual, 1 = auto"),
            SignalSpec(name=f"{loop}.out", unit="%", kind=IN, range=(0, 100), limits=(0, 100),
                       description=f"{loop} controller output; writes take effect in manual only"),
            SignalSpec(name=f"{loop}.kc", unit="", kind=IN, range=(0, 100), limits=(0.01, 50),
                       description=f"{loop} proportional gain Kc (ISA form)"),
            SignalSpec(name=f"{loop}.ti", unit="s", kind=IN, range=(0, 20000), limits=(1, 20000),
                       description=f"{loop} integral time Ti"),
            SignalSpec(name=f"{loop}.pv", unit=unit, kind=S, range=rng,
                       description=f"{loop} process variable as the controller sees it ({desc})"),
            SignalSpec(name=f"{loop}.valve", unit="%", kind=S, range=(0, 100),
                       description=f"{loop} valve stem position"),
        ]
    return out


CATALOGUE: Final[tuple[SignalSpec, ...]] = (
    # --- the twelve field instruments ---------------------------------------------------------
    SignalSpec(name="V100.pressure", unit="PSI", kind=M, range=(0, 1500), description="SEP-V100 inlet pressure"),
    SignalSpec(name="V100.temperature", unit="°C", kind=M, range=(0, 150),
               description="SEP-V100 outlet temperature"),
    SignalSpec(name="V100.oil_level", unit="%", kind=M, range=(0, 100), description="SEP-V100 oil level"),
    SignalSpec(name="V200.pressure", unit="PSI", kind=M, range=(0, 500), description="SEP-V200 inlet pressure"),
    SignalSpec(name="V200.temperature", unit="°C", kind=M, range=(0, 150),
               description="SEP-V200 outlet temperature"),
    SignalSpec(name="V200.gas_flow", unit="MMSCFD", kind=M, range=(0, 30), description="SEP-V200 flash gas flow"),
    SignalSpec(name="V300.pressure", unit="PSI", kind=M, range=(0, 150), description="SEP-V300 inlet pressure"),
    SignalSpec(name="V300.water_level", unit="%", kind=M, range=(0, 100),
               description="SEP-V300 water interface level"),
    SignalSpec(name="P100.discharge_pressure", unit="PSI", kind=M, range=(0, 2000),
               description="PMP-P100 discharge pressure"),
    SignalSpec(name="P100.vibration", unit="mm/s", kind=M, range=(0, 20),
               description="PMP-P100 bearing housing vibration, velocity RMS 10-1000 Hz"),
    SignalSpec(name="P100.oil_flow", unit="bbl/day", kind=M, range=(0, 30000), description="PMP-P100 oil flow"),
    SignalSpec(name="E100.outlet_temperature", unit="°C", kind=M, range=(0, 100),
               description="HX-E100 crude outlet temperature"),
    # --- controllers ---------------------------------------------------------------------------
    *_loop_signals(),
    # --- export pump ---------------------------------------------------------------------------
    SignalSpec(name="P100.run_cmd", unit="", kind=IN, vtype=B, range=(0, 1), limits=(0, 1),
               states=("STOP", "RUN"), description="PMP-P100 run command"),
    SignalSpec(name="P100.speed_sp", unit="rpm", kind=IN, range=(0, 3600), limits=(1500, 3600),
               description="PMP-P100 speed setpoint (VSD)"),
    SignalSpec(name="P100.trip_reset", unit="", kind=IN, vtype=B, range=(0, 1), limits=(0, 1),
               states=("-", "RESET"), description="PMP-P100 trip reset (write 1)"),
    SignalSpec(name="P100.speed", unit="rpm", kind=S, range=(0, 3600), description="PMP-P100 actual speed"),
    SignalSpec(name="P100.status", unit="", kind=S, vtype=E, range=(0, 2),
               states=("STOPPED", "RUNNING", "TRIPPED"), description="PMP-P100 status"),
    SignalSpec(name="P100.suction_pressure", unit="PSI", kind=S, range=(0, 200),
               description="PMP-P100 suction pressure"),
    SignalSpec(name="P100.running_hours", unit="h", kind=S, range=(0, 100000),
               description="PMP-P100 running hours"),
    # --- emergency shutdown --------------------------------------------------------------------
    SignalSpec(name="ESD.active", unit="", kind=S, vtype=B, range=(0, 1), states=("NORMAL", "TRIPPED"),
               description="ESD trip status"),
    SignalSpec(name="ESD.trip", unit="", kind=IN, vtype=B, range=(0, 1), limits=(0, 1), states=("-", "TRIP"),
               description="Manual ESD push-button (write 1)"),
    SignalSpec(name="ESD.reset", unit="", kind=IN, vtype=B, range=(0, 1), limits=(0, 1), states=("-", "RESET"),
               description="ESD reset (write 1)"),
    # --- well stream, heat exchanger, ambient --------------------------------------------------
    SignalSpec(name="well.oil_rate", unit="bbl/day", kind=S, range=(0, 40000), description="Well oil rate"),
    SignalSpec(name="well.water_cut", unit="%", kind=S, range=(0, 100), description="Well water cut"),
    SignalSpec(name="well.gas_rate", unit="MMSCFD", kind=S, range=(0, 60), description="Well gas rate"),
    SignalSpec(name="well.slug_active", unit="", kind=S, vtype=B, range=(0, 1), states=("NO", "YES"),
               description="A slug is arriving"),
    SignalSpec(name="E100.inlet_temperature", unit="°C", kind=S, range=(0, 150),
               description="HX-E100 crude inlet temperature"),
    SignalSpec(name="E100.seawater_temperature", unit="°C", kind=S, range=(0, 40),
               description="Seawater supply temperature"),
    SignalSpec(name="E100.ua", unit="kW/K", kind=S, range=(0, 200), description="HX-E100 overall UA (fouling)"),
    SignalSpec(name="ambient.air_temperature", unit="°C", kind=S, range=(-20, 50),
               description="Ambient air temperature"),
    # --- additions: vibration spectrum components (peak amplitudes, mm/s) ------------------------
    SignalSpec(name="P100.vib_1x", unit="mm/s", kind=S, range=(0, 20),
               description="PMP-P100 1x running-speed component (unbalance), peak"),
    SignalSpec(name="P100.vib_2x", unit="mm/s", kind=S, range=(0, 20),
               description="PMP-P100 2x running-speed component (misalignment), peak"),
    SignalSpec(name="P100.vib_vane", unit="mm/s", kind=S, range=(0, 20),
               description="PMP-P100 vane-pass component, peak"),
    SignalSpec(name="P100.vib_bearing", unit="mm/s", kind=S, range=(0, 20),
               description="PMP-P100 rolling-bearing defect tones, peak"),
)

_INDEX: Final[dict[str, int]] = {s.name: i for i, s in enumerate(CATALOGUE)}
if len(_INDEX) != len(CATALOGUE):  # pragma: no cover - guards edits to the list above
    raise RuntimeError("duplicate signal name in CATALOGUE")


def index_of(name: str) -> int:
    """Column of ``name`` in the engine's output arrays; KeyError if unknown."""
    return _INDEX[name]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopSpec:
    """A control loop of the plant: ``<id>.sp/.mode/.out/.kc/.ti/.pv`` inputs and states and, when its
    final element is a control valve, ``<id>.valve``."""

    id: str
    description: str
    unit: str
    range: tuple[float, float]
    sp_limits: tuple[float, float]
    pv: str | None = None  # the measured signal the controller reads (None: an internal level, no transmitter)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    """The signal table of one plant: specs in the engine's output column order, and its loops."""

    name: str
    specs: tuple[SignalSpec, ...]
    loops: tuple[LoopSpec, ...] = ()
    # scenario actions on equipment -> the units they may target (pumps, wells)
    action_targets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {s.name: i for i, s in enumerate(self.specs)}
        if len(index) != len(self.specs):
            dup = sorted({s.name for s in self.specs if sum(t.name == s.name for t in self.specs) > 1})
            raise ValueError(f"duplicate signal name in the catalogue of {self.name}: {', '.join(dup)}")
        object.__setattr__(self, "_index", index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self.specs)

    def get(self, name: str) -> SignalSpec | None:
        i = self._index.get(name)
        return None if i is None else self.specs[i]

    def index_of(self, name: str) -> int:
        """Column of ``name`` in the engine's output arrays; KeyError (with a did-you-mean) if unknown."""
        try:
            return self._index[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._index, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise KeyError(f'unknown signal "{name}" in plant {self.name}{hint}') from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    @property
    def measured(self) -> tuple[str, ...]:
        """The field instruments' signals, in column order."""
        return tuple(s.name for s in self.specs if s.kind is SignalKind.MEASURED)

    @property
    def loop_ids(self) -> tuple[str, ...]:
        return tuple(lp.id for lp in self.loops)

    @property
    def inputs(self) -> dict[str, SignalSpec]:
        """The writable signals by name."""
        return {s.name: s for s in self.specs if s.kind is SignalKind.INPUT}

    @property
    def valves(self) -> tuple[str, ...]:
        """``LOOP.valve`` of every loop whose final element is a control valve (valve fault targets)."""
        return tuple(f"{lp.id}.valve" for lp in self.loops if f"{lp.id}.valve" in self)

    def range_of(self, name: str) -> tuple[float, float]:
        return self.specs[self.index_of(name)].range


# the built-in engine's loop -> PV instrument (engine/_design.py PV_SOURCE; a test keeps them equal)
_LEGACY_PV: Final[dict[str, str | None]] = {
    "LIC100": "V100.oil_level", "PIC100": "V100.pressure", "LIC200": None, "PIC200": "V200.pressure",
    "LIC300": None, "LIC301": "V300.water_level", "PIC300": "V300.pressure", "TIC100": "E100.outlet_temperature",
}

LEGACY: Final = Catalogue(
    name="separation_train (built-in engine)",
    specs=CATALOGUE,
    loops=tuple(LoopSpec(id=i, description=d, unit=u, range=r, sp_limits=lim, pv=_LEGACY_PV[i])
                for i, d, u, r, lim in LOOPS),
    action_targets={"start_degradation": ("P100",), "force_slug": ("well",), "trip_pump": ("P100",)},
)
