"""A plant file's signal table as a :class:`~plc_emulator.engine.catalogue.Catalogue`: the one
vocabulary every consumer (tag map, image, OPC UA, alarms, checkpoints) reads signals from.

The columns are in :attr:`PlantEngine.names` order (the plan's signal table), so an engine's
``outputs`` and the catalogue agree without a lookup table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plc_emulator.engine.blocks import Signal
from plc_emulator.engine.catalogue import Catalogue, LoopSpec, SignalKind, SignalSpec, ValueType

if TYPE_CHECKING:  # the tag map loader imports this module while the plant package may still be loading
    from plc_emulator.engine.plant._api import LoadedPlant

__all__ = ["plant_catalogue"]

_KIND = {"measured": SignalKind.MEASURED, "input": SignalKind.INPUT, "state": SignalKind.STATE}


def _vtype(sig: Signal) -> ValueType:
    if not sig.states:
        return ValueType.FLOAT
    return ValueType.BOOL if len(sig.states) == 2 else ValueType.ENUM


def _spec(name: str, sig: Signal) -> SignalSpec:
    rng = (float(sig.range[0]), float(sig.range[1]))
    limits = None if sig.limits is None else (float(sig.limits[0]), float(sig.limits[1]))
    return SignalSpec(name=name, unit=sig.unit, kind=_KIND[sig.kind.value], vtype=_vtype(sig), range=rng,
                      limits=limits, states=tuple(sig.states), description=sig.description)


def plant_catalogue(plant: LoadedPlant) -> Catalogue:
    """The catalogue of a loaded plant: every signal of its plan, and its loops (PV unit and range)."""
    refs = plant.graph.signals
    specs = tuple(_spec(name, ref.spec) for name, ref in refs.items())
    loops = []
    for lp in plant.file.loops:
        pv = refs.get(lp.pv)
        if pv is None:
            continue
        rng = (float(pv.spec.range[0]), float(pv.spec.range[1]))
        loops.append(LoopSpec(id=lp.name, description=pv.spec.description or lp.pv, unit=pv.spec.unit, range=rng,
                              sp_limits=lp.sp_limits or rng, pv=lp.pv))
    pumps = tuple(u.name for u in plant.file.units if u.block == "pump")
    wells = tuple(u.name for u in plant.file.units if u.block == "well")
    return Catalogue(name=plant.file.name, specs=specs, loops=tuple(loops),
                     action_targets={"start_degradation": pumps, "force_slug": wells, "trip_pump": pumps})
