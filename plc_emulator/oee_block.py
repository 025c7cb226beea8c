"""OEE as PLC signals: ``oee.<unit>.availability|performance|quality|oee`` computed every scan.

Like the alarm block, a pure block the scan feeds with the engine's true values once per tick (a plant
whose catalogue lacks the separation train's export signals has no OEE signals); tags
bound to these signals carry them on Modbus, OPC UA and to the historian. Units are ``train`` (the
separation train's export) and ``P100`` (the export pump PMP-P100), with the definitions of
:mod:`plc_emulator.oee` (docs/oee.md): cumulative since the PLC started (a restart starts over),
percent, performance capped at 100 %; a figure with no time or volume behind it yet reads 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from plc_emulator.engine.catalogue import LEGACY, Catalogue, SignalKind, SignalSpec
from plc_emulator.oee import F64, TRAIN_UNITS, OeeAccumulator, OeeSpec, separation_train_inputs

__all__ = ["OEE_FIGURES", "OeeBlock", "is_oee_signal", "oee_signal_spec"]

OEE_FIGURES: Final = ("availability", "performance", "quality", "oee")
_KEYS: Final = {"availability": "availability", "performance": "performance_capped", "quality": "quality",
                "oee": "oee"}
_WHAT: Final = {"availability": "availability (run time / planned production time)",
                "performance": "performance (volume / nameplate rate x run time, capped at 100 %)",
                "quality": "quality (on-spec volume / volume)",
                "oee": "OEE (availability x performance x quality)"}
_UNIT_NAME: Final = {"train": "separation train export", "P100": "export pump PMP-P100"}
_INPUTS: Final = ("P100.oil_flow", "ESD.active", "P100.status", "P100.run_cmd", "E100.outlet_temperature",
                  "TIC100.sp")


def is_oee_signal(name: str) -> bool:
    return name.startswith("oee.")


def _parse(name: str) -> tuple[str, str] | None:
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "oee" and parts[1] in TRAIN_UNITS and parts[2] in OEE_FIGURES:
        return parts[1], parts[2]
    return None


def oee_signal_spec(name: str, catalogue: Catalogue = LEGACY) -> SignalSpec | None:
    """The spec of an OEE signal, if ``catalogue``'s plant has the signals OEE is computed from."""
    parsed = _parse(name)
    if parsed is None or any(s not in catalogue for s in _INPUTS):
        return None
    unit, figure = parsed
    return SignalSpec(name=name, unit="%", kind=SignalKind.STATE, range=(0.0, 100.0),
                      description=f"{_UNIT_NAME[unit]} {_WHAT[figure]} since start")


class OeeBlock:
    """Accumulates one plant's OEE from the engine's true values; publishes the bound signals."""

    def __init__(self, signals: Sequence[str], dt: float, catalogue: Catalogue = LEGACY,
                 spec: OeeSpec | None = None) -> None:
        self.signals = tuple(signals)
        bad = [s for s in self.signals if _parse(s) is None]
        if bad:
            raise ValueError(f"not OEE signals: {', '.join(bad)}")
        self.dt = float(dt)
        self.spec = spec or OeeSpec()
        self.acc = OeeAccumulator(1, TRAIN_UNITS, nameplate=[self.spec.nameplate_bpd / 86400.0] * len(TRAIN_UNITS))
        self.index = {name: catalogue.index_of(name) for name in _INPUTS}  # KeyError: not this plant
        self.tick = 0

    @classmethod
    def for_signals(cls, signals: Sequence[str], dt: float, catalogue: Catalogue = LEGACY) -> OeeBlock | None:
        return cls(signals, dt, catalogue) if signals else None

    def step(self, truth: F64, tick: int) -> None:
        """Count the tick ``tick`` (true values, (1, catalogue columns)); a republished tick is not counted."""
        if tick <= self.tick:
            return
        self.acc.add(self.dt * (tick - self.tick), **separation_train_inputs(truth, self.index, self.spec))
        self.tick = tick

    def values(self) -> F64:
        """The bound signals' values, percent, in ``signals`` order."""
        figures = self.acc.figures()
        out = np.zeros(len(self.signals))
        for k, name in enumerate(self.signals):
            parsed = _parse(name)
            assert parsed is not None
            v = figures[parsed[0]][_KEYS[parsed[1]]]
            out[k] = 0.0 if v is None else 100.0 * float(v)
        return out
