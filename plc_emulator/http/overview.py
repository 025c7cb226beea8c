"""What the HMI overview draws, derived from the plant description: :func:`plant_overview`.

Today the plant is described by the tag map alone, so the overview is read from it:

* **units**: the tag map's devices that carry field instruments or control loops (vessels, pumps,
  exchangers), in document order; other devices (PLC system points, the alarm block) are listed as
  ``system`` devices and not drawn;
* **instruments**: tags bound to a measured engine signal (the field transmitters);
* **loops**: tags bound to ``<LOOP>.sp`` / ``.mode`` / ``.out`` / ``.valve`` grouped by loop id, with the
  loop's PV tag (its ``<LOOP>.pv`` tag if mapped, else the field instrument the controller reads);
* **streams**: units chained in document order (the tag map has no topology of its own).

Everything the HMI shows is computed here from the plant, so a new tag map needs no new screen.
When plant files describe units and streams, only this function changes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from plc_emulator.engine._commands import SENSOR_FAULTS, VALVE_FAULTS
from plc_emulator.engine.catalogue import SignalKind
from plc_emulator.signals import lookup
from plc_emulator.tagmap.model import Tag, TagMap

__all__ = ["Loop", "Overview", "Unit", "plant_overview"]

_LOOP_PARTS = ("sp", "pv", "out", "mode", "valve")


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop:
    id: str
    description: str
    unit: str  # engineering unit of SP/PV
    sp: str | None  # tag keys (None when the map does not serve that point)
    pv: str | None
    out: str | None
    mode: str | None
    valve: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    name: str
    description: str
    instruments: tuple[str, ...]  # tag keys of field instruments
    loops: tuple[Loop, ...]
    others: tuple[str, ...]  # other tags of the unit (commands, diagnostics), by key


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    plant: str
    description: str
    units: tuple[Unit, ...]
    streams: tuple[tuple[str, str], ...]  # (from unit, to unit)
    system: tuple[str, ...]  # devices not drawn as units
    fault_targets: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (target, tag key shown, fault kinds)

    def to_json(self) -> dict[str, Any]:
        return {
            "plant": self.plant, "description": self.description,
            "units": [{"name": u.name, "description": u.description, "instruments": list(u.instruments),
                       "loops": [{"id": lp.id, "description": lp.description, "unit": lp.unit, "sp": lp.sp,
                                  "pv": lp.pv, "out": lp.out, "mode": lp.mode, "valve": lp.valve}
                                 for lp in u.loops],
                       "others": list(u.others)} for u in self.units],
            "streams": [{"from": a, "to": b} for a, b in self.streams],
            "system": list(self.system),
            "fault_targets": [{"target": t, "label": label, "kinds": list(kinds)}
                              for t, label, kinds in self.fault_targets],
        }


def _loop_part(tag: Tag, loop_pv: dict[str, str | None]) -> tuple[str, str] | None:
    loop, _, part = tag.signal.partition(".")
    if loop in loop_pv and part in _LOOP_PARTS:
        return loop, part
    return None


def plant_overview(tagmap: TagMap) -> Overview:
    """Units, instruments, loops and streams of ``tagmap`` (see the module docstring)."""
    by_signal = {t.signal: t.key for t in tagmap.tags}
    cat = tagmap.catalogue
    descriptions = {lp.id: lp.description for lp in cat.loops}
    loop_units = {lp.id: lp.unit for lp in cat.loops}
    loop_pv = {lp.id: lp.pv for lp in cat.loops}  # the measured signal each controller reads
    units: list[Unit] = []
    system: list[str] = []
    for dev in tagmap.devices:
        instruments: list[str] = []
        parts: dict[str, dict[str, str]] = {}
        others: list[str] = []
        for tag in dev.tags:
            spec = lookup(tag.signal, cat)
            lp = _loop_part(tag, loop_pv)
            if spec is not None and spec.kind is SignalKind.MEASURED:
                instruments.append(tag.key)
            elif lp is not None:
                parts.setdefault(lp[0], {})[lp[1]] = tag.key
            else:
                others.append(tag.key)
        if not instruments and not parts:
            system.append(dev.name)
            continue
        loops = []
        for loop, p in parts.items():
            pv_signal = loop_pv[loop]
            pv = p.get("pv") or (by_signal.get(pv_signal) if pv_signal else None)
            loops.append(Loop(id=loop, description=descriptions[loop], unit=loop_units[loop], sp=p.get("sp"),
                              pv=pv, out=p.get("out"), mode=p.get("mode"), valve=p.get("valve")))
        units.append(Unit(name=dev.name, description=dev.description, instruments=tuple(instruments),
                          loops=tuple(loops), others=tuple(others)))
    streams = tuple((a.name, b.name) for a, b in itertools.pairwise(units))
    return Overview(plant=tagmap.plant, description=tagmap.description, units=tuple(units), streams=streams,
                    system=tuple(system), fault_targets=_fault_targets(tagmap, units))


def _fault_targets(tagmap: TagMap, units: list[Unit]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """What the fault panel offers: every served field instrument and loop valve, with its fault kinds."""
    signal_of = {t.key: t.signal for t in tagmap.tags}
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for u in units:
        out += [(signal_of[k], k, SENSOR_FAULTS) for k in u.instruments]
        out += [(f"{lp.id}.valve", lp.valve or f"{lp.id}.valve", VALVE_FAULTS) for lp in u.loops]
    return tuple(out)
