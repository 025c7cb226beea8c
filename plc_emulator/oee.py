"""Overall equipment effectiveness for a continuous process (pure: numpy only).

Per tick each unit of each plant is classified as planned-down, unplanned-down or running, and its
output rate is integrated exactly over the tick (no sampling error):

    PPT = calendar time - planned downtime        (turnaround, planned maintenance, no demand)
    A   = run time / PPT                          (trips, ESD and failures are unplanned downtime)
    P   = V_total / (nameplate rate x run time)   (rate loss; reported uncapped and capped at 1)
    Q   = V_on-spec / V_total
    OEE = A x P x Q = V_on-spec / (nameplate rate x PPT)

:class:`OeeAccumulator` is fed arrays of shape (plants, units); :func:`separation_train_inputs`
turns the separation train's outputs into those arrays for two units, the train and the export
pump PMP-P100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["TRAIN_UNITS", "OeeAccumulator", "OeeSpec", "oee_figures", "separation_train_inputs"]

F64 = npt.NDArray[np.float64]
BOOLS = npt.NDArray[np.bool_]

TRAIN_UNITS = ("train", "P100")


@dataclass(frozen=True, slots=True, kw_only=True)
class OeeSpec:
    """What counts as running and on-spec for the separation train (rates in bbl/day)."""

    nameplate_bpd: float = 20_000.0  # design rate: the default pump's rated flow and the well's initial oil rate
    min_rate_bpd: float = 200.0  # below this the unit is not producing (1 % of nameplate)
    spec_band_c: float = 5.0  # on-spec export: HX outlet within +/- this of the TIC100 setpoint


class OeeAccumulator:
    """Integrates running / planned-down time and volumes per plant and unit."""

    def __init__(self, n: int, units: Sequence[str], *, nameplate: Sequence[float]) -> None:
        self.units = tuple(units)
        u = len(self.units)
        self.nameplate = np.asarray(nameplate, dtype=np.float64).reshape(1, u)  # volume per second
        self.calendar = np.zeros((n, u))
        self.planned = np.zeros((n, u))
        self.run = np.zeros((n, u))
        self.volume = np.zeros((n, u))
        self.onspec = np.zeros((n, u))

    def add(self, dt: float, *, running: BOOLS, planned_down: BOOLS, rate: F64, on_spec: BOOLS) -> None:
        """One tick of ``dt`` seconds; ``rate`` in volume per second; arrays (plants, units)."""
        run = running & ~planned_down
        vol = np.where(run, np.maximum(rate, 0.0), 0.0) * dt
        self.calendar += dt
        self.planned += np.where(planned_down, dt, 0.0)
        self.run += np.where(run, dt, 0.0)
        self.volume += vol
        self.onspec += np.where(on_spec, vol, 0.0)

    def figures(self) -> dict[str, Any]:
        """Per unit: fleet totals and A, P, Q, OEE (fractions), plus the per-plant OEE."""
        return {u: oee_figures(self.calendar[:, j], self.planned[:, j], self.run[:, j], self.volume[:, j],
                               self.onspec[:, j], nameplate=float(self.nameplate[0, j]))
                for j, u in enumerate(self.units)}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def oee_figures(calendar: F64, planned: F64, run: F64, volume: F64, onspec: F64, *,
                nameplate: float) -> dict[str, Any]:
    """A, P, Q and OEE over all plants (sums, so a plant weighs by its time), and per plant."""
    ppt = float(np.sum(calendar - planned))
    r, v, q = float(np.sum(run)), float(np.sum(volume)), float(np.sum(onspec))
    perf = _ratio(v, nameplate * r)
    per_plant = [_ratio(float(o), nameplate * float(c - p)) for o, c, p in zip(onspec, calendar, planned, strict=True)]
    return {
        "calendar_h": float(np.sum(calendar)) / 3600.0,
        "planned_down_h": float(np.sum(planned)) / 3600.0,
        "run_h": r / 3600.0,
        "volume": v,
        "volume_on_spec": q,
        "availability": _ratio(r, ppt),
        "performance": perf,
        "performance_capped": None if perf is None else min(perf, 1.0),
        "quality": _ratio(q, v),
        "oee": _ratio(q, nameplate * ppt),
        "oee_per_plant": per_plant,
    }


def separation_train_inputs(values: F64, index: dict[str, int], spec: OeeSpec) -> dict[str, Any]:
    """Running / planned-down / rate / on-spec arrays (plants, 2) for the train and PMP-P100 from the
    engine's true values (catalogue columns in ``index``). The train runs while the ESD is not
    tripped and oil is exported; the pump runs while RUNNING with flow; a pump stopped by its run
    command is planned down (no demand); the train has no planned downtime in the model."""
    flow = values[:, index["P100.oil_flow"]]
    esd = values[:, index["ESD.active"]] > 0.5
    pump_on = values[:, index["P100.status"]] == 1.0
    demand = values[:, index["P100.run_cmd"]] > 0.5
    producing = flow > spec.min_rate_bpd
    temp, sp = values[:, index["E100.outlet_temperature"]], values[:, index["TIC100.sp"]]
    good = np.abs(temp - sp) <= spec.spec_band_c
    rate = flow / 86400.0  # bbl/s
    return {
        "running": np.stack([~esd & producing, pump_on & producing], axis=1),
        "planned_down": np.stack([np.zeros_like(esd), ~demand & ~esd], axis=1),
        "rate": np.stack([rate, rate], axis=1),
        "on_spec": np.stack([good, good], axis=1),
    }
