"""The simulated fleet of an evaluation, built from the tag map's catalogue (pure: engine + numpy, no I/O).

Either engine runs the fleet: the built-in separation train, or a plant file's block engine
(``model:`` in the tag map) with one row seed per plant. What a campaign may touch comes from the
plant's :class:`~plc_emulator.engine.catalogue.Catalogue`: sensor faults on its measured signals,
stuck / stiction on ``LOOP.valve`` of loops ending in a control valve, the Weibull onset on the pump
the PM vibration rule watches (else the plant's first pump). A plant without what a metric needs
(no pump: no lead time) gets that metric as n/a with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from plc_emulator.alarms.config import PmParams, span_of
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.engine.params import PlantParams
from plc_emulator.engine.plant import LoadedPlant, PlantEngine
from plc_emulator.engine.protocol import ProcessEngine, make_engine
from plc_emulator.engine.types import F64
from plc_emulator.oee import TRAIN_UNITS

__all__ = ["MEASURED", "OEE_SIGNALS", "SENSOR_KINDS", "VALVE_KINDS", "Crew", "EvalConfig", "Fleet", "aged",
           "fault_params", "fault_schedule", "fleet_engine", "fleet_of"]

SENSOR_KINDS = ("freeze", "drift", "bias", "spike", "noise", "fail", "comm_loss")
VALVE_KINDS = ("stuck", "stiction")
MEASURED = LEGACY.measured  # the built-in engine's field instruments
OEE_SIGNALS = ("P100.oil_flow", "ESD.active", "P100.status", "P100.run_cmd", "E100.outlet_temperature",
                "TIC100.sp")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalConfig:
    plants: int = 200
    days: float = 120.0  # phase A (pump degradation) length
    seed: int = 1
    dt: float = 60.0  # phase A step: vibration and fouling are slow
    fault_days: float = 1.0  # phase B (sensor and valve faults) length; one fault per plant
    fault_dt: float = 10.0  # phase B step: fine enough that the process itself is smooth
    weibull_shape: float = 2.0
    weibull_scale_days: float | None = None  # None: 0.6 x days, so most pumps fail inside the run
    operator_round: float = 1800.0  # s
    grace: float = 3600.0  # s after a fault ends during which an alert still counts as true
    fault_start_h: float = 4.0  # phase B faults start after this: the residual models learn first


@dataclass(frozen=True, slots=True, kw_only=True)
class Fleet:
    """What the campaigns and the operator round use of one plant, by catalogue name."""

    catalogue: Catalogue
    sensors: tuple[str, ...]  # measured signals (sensor fault targets)
    valves: tuple[str, ...]  # LOOP.valve of loops ending in a control valve
    pumps: tuple[str, ...]  # every pump (trip resets)
    pump: str | None  # the pump whose degradation is scored (None: no lead time)
    esd: bool  # ESD.active / ESD.reset exist
    slugs: tuple[str, ...] = ()  # WELL.slug_active of every well
    oee: bool  # the separation train's OEE signals exist

    @property
    def no_pump_reason(self) -> str:
        return "the plant has no pump with a degradation model (no lead time, RUL or Weibull fit)"

    @property
    def no_oee_reason(self) -> str:
        missing = [s for s in OEE_SIGNALS if s not in self.catalogue]
        return "n/a: the plant lacks the separation train's OEE signals " + ", ".join(missing)


def fleet_of(catalogue: Catalogue, pm: PmParams) -> Fleet:
    pumps = tuple(p for p in catalogue.action_targets.get("start_degradation", ())
                  if f"{p}.status" in catalogue and f"{p}.running_hours" in catalogue)
    watched = pm.vibration.signal.split(".", 1)[0] if pm.vibration.enabled else None
    pump = watched if watched in pumps else (pumps[0] if pumps else None)
    slugs = tuple(f"{w}.slug_active" for w in catalogue.action_targets.get("force_slug", ())
                  if f"{w}.slug_active" in catalogue)
    return Fleet(catalogue=catalogue, sensors=catalogue.measured, valves=catalogue.valves, pumps=pumps, pump=pump,
                 esd="ESD.active" in catalogue and "ESD.reset" in catalogue, slugs=slugs,
                 oee=all(s in catalogue for s in OEE_SIGNALS) and len(TRAIN_UNITS) == 2)


def aged(model: LoadedPlant | None, params: PlantParams, fleet: Fleet, shape: float | None,
         scale_days: float) -> tuple[LoadedPlant | None, PlantParams]:
    """The plant with the scored pump's onset drawn from Weibull(shape, scale_days) (shape None: the
    plant's): the built-in engine's ``vibration.weibull_*``, or the pump unit's ``weibull_*``
    parameters of a plant file."""
    new_params: dict[str, float] = {"weibull_scale_days": scale_days}
    if shape is not None:
        new_params["weibull_shape"] = shape
    if model is None:
        return None, replace(params, vibration=replace(params.vibration, **new_params))
    if fleet.pump is None:
        return model, params
    g = model.graph
    unit = g.units[fleet.pump]
    new = replace(unit, params={**unit.params, **new_params})
    return replace(model, graph=replace(g, units={**g.units, fleet.pump: new})), params


def fleet_engine(model: LoadedPlant | None, params: PlantParams, *, dt: float, seed: int, n: int,
                 phase: int, epoch: float = 0.0) -> ProcessEngine:
    """``n`` plants; a plant file's rows each get their own seed, drawn from (seed, phase)."""
    if model is None:
        return make_engine(None, params, dt=dt, seed=seed + phase, n=n, epoch=epoch)
    rows = np.random.SeedSequence([seed, phase, 0x5EED]).generate_state(n, np.uint64)
    return PlantEngine(model, dt=dt, seed=seed, n=n, epoch=epoch, row_seeds=[int(r) for r in rows])


def fault_params(kind: str, target: str, rng: np.random.Generator,
                 catalogue: Catalogue = LEGACY) -> dict[str, float | str]:
    out: dict[str, float | str] = {"kind": kind}
    if kind in VALVE_KINDS:
        if kind == "stiction":
            out.update(S=float(rng.uniform(4.0, 8.0)), J=float(rng.uniform(1.0, 3.0)))
        return out
    span = span_of(target, catalogue)
    if kind == "drift":
        out["rate"] = float(rng.uniform(0.5, 2.0)) / 100.0 * span / 86400.0
    elif kind == "bias":
        out["offset"] = float(rng.choice([-1.0, 1.0]) * rng.uniform(2.0, 5.0)) / 100.0 * span
    elif kind == "spike":
        out.update(
            probability=float(rng.uniform(0.005, 0.02)),
            amplitude=float(rng.uniform(15.0, 50.0)) / 100.0 * span,
        )
    elif kind == "noise":
        out["factor"] = float(rng.uniform(3.0, 10.0))
    elif kind == "comm_loss":
        out["timeout"] = 10.0
    return out


def fault_schedule(cfg: EvalConfig, fleet: Fleet | None = None) -> dict[int, list[Command]]:
    """Phase B: one fault per plant, kind cycling through every kind the plant has targets for (so
    each kind gets plants/9 on the separation train), target, start (``fault_start_h`` .. 40 % of the
    window) and duration (2-6 h; a drift lasts to the end of the phase) drawn from their own stream."""
    cat = LEGACY if fleet is None else fleet.catalogue
    sensors = MEASURED if fleet is None else fleet.sensors
    valves = LEGACY.valves if fleet is None else fleet.valves
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0xFA17]))
    sched: dict[int, list[Command]] = {}
    kinds = (SENSOR_KINDS if sensors else ()) + (VALVE_KINDS if valves else ())
    window = cfg.fault_days * 86400.0
    for plant in range(cfg.plants if kinds else 0):
        kind = kinds[plant % len(kinds)]
        target = valves[int(rng.integers(len(valves)))] if kind in VALVE_KINDS else str(rng.choice(sensors))
        first = cfg.fault_start_h * 3600.0
        start = float(rng.uniform(first, max(0.4 * window, first + cfg.fault_dt)))
        duration = min(float(rng.uniform(2.0, 6.0)) * 3600.0, window - start - cfg.fault_dt)
        if kind == "drift":  # a drift stays until someone recalibrates: to the end of the phase
            duration = window - start - cfg.fault_dt
        t0 = max(1, round(start / cfg.fault_dt))
        t1 = max(t0 + 1, round((start + duration) / cfg.fault_dt))
        params = {**fault_params(kind, target, rng, cat), "plant": plant}
        sched.setdefault(t0, []).append(
            Command(kind=CommandKind.INJECT_FAULT, target=target, params=params, source="evaluate")
        )
        sched.setdefault(t1, []).append(
            Command(kind=CommandKind.CLEAR_FAULT, target=target, params={"plant": plant}, source="evaluate")
        )
    return sched


class Crew:
    """A crew's round every ``operator_round`` s: reset an ESD whose cause has gone and restart every
    tripped pump (otherwise a tripped pump stops ageing and the run says nothing). An ESD that stays
    tripped for a whole round (a plant whose cause only the stopped pump could clear, such as a full
    vessel upstream of it) gets a start-up bypass for one round where the interlock has one, as a
    crew would; the bypass is removed at the next round. Its writes are audited ground-truth events."""

    def __init__(self, fleet: Fleet, n: int) -> None:
        self.fleet = fleet
        self.can_bypass = fleet.esd and "ESD.bypass" in fleet.catalogue
        self.tripped = np.zeros(n, dtype=np.bool_)  # ESD active at the previous round
        self.bypassed = np.zeros(n, dtype=np.bool_)

    def round(self, values: F64) -> list[Command]:
        fleet, cat = self.fleet, self.fleet.catalogue
        out: list[Command] = []
        esd = values[:, cat.index_of("ESD.active")] > 0.5 if fleet.esd else np.zeros(values.shape[0], np.bool_)
        if self.can_bypass:
            for p in np.flatnonzero(self.bypassed):
                out.append(_write("ESD.bypass", 0.0, int(p)))
            self.bypassed = esd & self.tripped
            for p in np.flatnonzero(self.bypassed):
                out.append(_write("ESD.bypass", 1.0, int(p)))
            self.tripped = esd & ~self.bypassed
        for p in np.flatnonzero(esd):
            out.append(_write("ESD.reset", 1.0, int(p)))
        for pump in fleet.pumps:
            if f"{pump}.trip_reset" not in cat:
                continue
            for p in np.flatnonzero((values[:, cat.index_of(f"{pump}.status")] == 2.0) & (~esd | self.bypassed)):
                out.append(_write(f"{pump}.trip_reset", 1.0, int(p)))
        return out


def _write(target: str, value: float, plant: int) -> Command:
    return Command(kind=CommandKind.WRITE, target=target, value=value, params={"plant": plant}, source="operator")
