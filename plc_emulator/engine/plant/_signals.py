"""The plant's signal namespace: ``UNIT.signal`` for every unit, with instruments' readings as
``measured`` signals under the name of what they measure, and each loop's ``valve`` position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from plc_emulator.engine.blocks import LIBRARY, Signal, SignalKind
from plc_emulator.engine.plant._model import PlantFile, Unit
from plc_emulator.tagmap._reader import Problems, did_you_mean

__all__ = ["SignalRef", "signal_table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRef:
    """Where a signal's value comes from: ``unit``'s block signal ``source`` (or a transmitter)."""

    name: str
    unit: str
    source: str
    spec: Signal
    instrument: str | None = None


def _canon(unit: str) -> str:
    return unit.replace(" ", "").replace("psig", "PSI").replace("psi", "PSI").lower()


def signal_table(
    p: PlantFile, units: Mapping[str, Unit], problems: Problems
) -> tuple[dict[str, SignalRef], set[str]]:
    """The signals by name, and the names an instrument was meant to measure (even if refused)."""
    table: dict[str, SignalRef] = {}
    attempted = {ins.measures for ins in p.instruments}
    for u in units.values():
        if u.block == "transmitter":
            continue
        for s in LIBRARY[u.block].signals:
            name = f"{u.name}.{s.name}"
            table[name] = SignalRef(name=name, unit=u.name, source=s.name, spec=replace(s, name=name))
    for lp in p.loops:
        dst = lp.output.split(".", 1)[0]
        if dst in units and units[dst].block == "control_valve":
            name = f"{lp.name}.valve"
            table[name] = SignalRef(name=name, unit=dst, source="position",
                                    spec=replace(LIBRARY["control_valve"].signals[0], name=name,
                                                 description=f"{lp.name} valve stem position"))
    for ins in p.instruments:
        at = (ins.where.line, ins.where.col)
        ref = table.get(ins.measures)
        if ref is None:
            unit = ins.measures.split(".", 1)[0]
            hint = did_you_mean(ins.measures, table)
            what = f'unknown unit "{unit}"' if unit not in units else f'unknown signal "{ins.measures}"'
            problems.add(at, f"instruments.{ins.name}.measures", what + hint)
            continue
        if ref.instrument is not None:
            problems.add(at, f"instruments.{ins.name}.measures", f'"{ins.measures}" is already measured by '
                         f"{ref.instrument}")
            continue
        if ins.unit is not None and _canon(ins.unit) != _canon(ref.spec.unit):
            problems.add(at, f"instruments.{ins.name}.unit", f'unit mismatch: "{ins.measures}" is in '
                         f"{ref.spec.unit}, the instrument says {ins.unit}")
            continue
        spec = replace(ref.spec, kind=SignalKind.MEASURED, range=ins.range,
                       description=f"{ins.name}: {ref.spec.description}")
        table[ins.measures] = replace(ref, spec=spec, instrument=ins.name)
    _loop_units(p, table)
    return table, attempted


def _loop_units(p: PlantFile, table: dict[str, SignalRef]) -> None:
    """A loop's SP and PV are in its PV's unit and range; SP writes are limited to sp_limits."""
    for lp in p.loops:
        pv = table.get(lp.pv)
        if pv is None:
            continue
        unit, rng = pv.spec.unit, pv.spec.range
        for field in ("sp", "pv"):
            ref = table.get(f"{lp.name}.{field}")
            if ref is not None:
                limits = (lp.sp_limits or rng) if field == "sp" else None
                table[ref.name] = replace(ref, spec=replace(ref.spec, unit=unit, range=rng, limits=limits))
