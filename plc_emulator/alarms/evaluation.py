"""Run-to-failure evaluation of the PM rules on a batch of plants (pure: engine + numpy, no I/O).

One :class:`~plc_emulator.engine.Engine` with ``n = plants`` steps every plant at a coarse ``dt``
(default 60 s: the P-F interval is weeks, and a 5-sample flatline window still fits in 10 minutes).
Per plant:

* pump degradation onset is drawn by the engine from Weibull(shape, scale) in days of running
  (the evaluation overrides ``process.vibration.weibull_*``; the rest of the tag map's ``process:``
  section is kept);
* sensor and valve faults are injected at random (Poisson, ``faults_per_30d`` per plant, kinds
  freeze, drift, bias, spike, noise, fail, comm_loss on a random field instrument; stuck, stiction
  on a random loop valve), each lasting 2-12 h, never overlapping on one plant;
* an operator round every 30 minutes resets an ESD whose cause has gone and restarts a tripped
  pump, as a crew would (otherwise a tripped pump stops ageing and the run says nothing).

Ground truth comes only from the engine's events (``degradation_onset``, ``failure``,
``fault_start``, ``fault_end``); the PM outputs are turned into rising-edge alerts and an hourly
RUL series, and :func:`plc_emulator.alarms.scoring.score` compares the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms.config import PmParams, pm_alarm_defs
from plc_emulator.alarms.fleet import (
    MEASURED,
    OEE_SIGNALS,
    SENSOR_KINDS,
    VALVE_KINDS,
    Crew,
    EvalConfig,
    Fleet,
    aged,
    fault_params,
    fault_schedule,
    fleet_engine,
    fleet_of,
)
from plc_emulator.alarms.pm import PmBlock
from plc_emulator.alarms.scoring import Alert, FaultTruth, PlantTruth, RulSeries, all_pass, goal, score
from plc_emulator.commands import Command
from plc_emulator.engine import PlantParams
from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.engine.plant import LoadedPlant
from plc_emulator.engine.types import GroundTruthEvent, Outputs
from plc_emulator.oee import TRAIN_UNITS, OeeAccumulator, OeeSpec, separation_train_inputs

__all__ = ["MEASURED", "SENSOR_KINDS", "VALVE_KINDS", "EvalConfig", "compare_detectors", "fault_params",
           "fault_schedule", "run_evaluation"]

def _rules(pm: PmParams) -> list[tuple[str, str]]:
    """(rule, subject) per column of [PM flags, bias/drift test, noise test]. The residual alarm
    itself ("residual:or", either test) is not scored: its two tests are, as rules residual and noise."""
    out = []
    for d in pm_alarm_defs(pm):
        subject, rule = d.id[len("PM.") :].rsplit(".", 1)
        out.append(("residual:or" if rule == "residual" else rule, subject))
    out += [("residual", sig) for sig, _ in pm.residuals.models]
    out += [("noise", sig) for sig in pm.residuals.noise_signals]
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    truths: list[PlantTruth]
    alerts: list[list[Alert]]
    ruls: list[RulSeries]
    onset_h: list[float | None]
    failure_h: list[float | None]
    hours_end: list[float]
    end: float
    oee: dict[str, Any] | str  # figures per unit, or why there are none


class _Truth:
    """Ground truth from the engine's events: the scored pump's onset and failure, the faults."""

    def __init__(self, n: int, pump: str | None) -> None:
        self.pump = pump
        self.onset: list[float | None] = [None] * n
        self.onset_h: list[float | None] = [None] * n
        self.failure: list[float | None] = [None] * n
        self.failure_h: list[float | None] = [None] * n
        self.open: dict[tuple[int, str], tuple[str, float]] = {}
        self.faults: list[list[FaultTruth]] = [[] for _ in range(n)]

    def add(self, events: Sequence[GroundTruthEvent], t: float, hours: npt.NDArray[np.float64]) -> None:
        for ev in events:
            if ev.plant < 0:
                continue
            if ev.kind == "degradation_onset" and ev.target == self.pump and self.onset[ev.plant] is None:
                self.onset[ev.plant], self.onset_h[ev.plant] = t, float(hours[ev.plant])
            elif ev.kind == "failure" and ev.target == self.pump and self.failure[ev.plant] is None:
                self.failure[ev.plant], self.failure_h[ev.plant] = t, float(hours[ev.plant])
            elif ev.kind == "fault_start":
                self.open[(ev.plant, ev.target)] = (str(ev.params.get("kind", "")), t)
            elif ev.kind == "fault_end" and (ev.plant, ev.target) in self.open:
                kind, start = self.open.pop((ev.plant, ev.target))
                self.faults[ev.plant].append(FaultTruth(kind=kind, target=ev.target, start=start, end=t))

    def truths(self) -> list[PlantTruth]:
        for (p, target), (kind, start) in self.open.items():
            self.faults[p].append(FaultTruth(kind=kind, target=target, start=start, end=math.inf))
        self.open = {}
        return [PlantTruth(onset=o, failure=f, faults=tuple(fs))
                for o, f, fs in zip(self.onset, self.failure, self.faults, strict=True)]


class _Detector:
    """One PM parameter set on the fleet's outputs: rising-edge alerts and the sampled RUL series."""

    def __init__(self, pm: PmParams, *, dt: float, n: int, catalogue: Catalogue) -> None:
        self.block = PmBlock(pm, dt=dt, n=n, catalogue=catalogue)
        self.rules = _rules(pm)
        self.prev = np.zeros((n, len(self.rules)), dtype=np.bool_)
        self.alerts: list[list[Alert]] = [[] for _ in range(n)]
        self.rul: list[npt.NDArray[np.float32]] = []

    def step(self, out: Outputs, k: int, t: float, sample: bool) -> None:
        res = self.block.step(out.values, out.status, tick=k)
        # the wire's residual alarm is the OR of two tests: score each test on its own edges
        tests = np.concatenate([res.flags, res.residuals.residual, res.residuals.noise], axis=1)
        rising = tests & ~self.prev
        self.prev = tests
        if rising.any():
            for p, f in zip(*np.nonzero(rising), strict=True):
                rule, subject = self.rules[f]
                if rule != "residual:or":
                    self.alerts[int(p)].append(Alert(time=t, rule=rule, subject=subject))
        if sample:
            self.rul.append(res.rul_h.astype(np.float32))


def _simulate(
    model: LoadedPlant | None,
    plant: PlantParams,
    fleet: Fleet,
    pms: Sequence[PmParams],
    *,
    n: int,
    dt: float,
    ticks: int,
    seed: int,
    phase: int,
    schedule: dict[int, list[Command]],
    operator_every: float,
    progress: Callable[[int, int], None] | None,
) -> list[_Run]:
    """One engine run; every detector in ``pms`` sees the same outputs. One _Run per detector."""
    engine = fleet_engine(model, plant, dt=dt, seed=seed, n=n, phase=phase)
    state = engine.initial_state()
    cat = fleet.catalogue
    detectors = [_Detector(pm, dt=dt, n=n, catalogue=cat) for pm in pms]
    every = max(1, round(operator_every / dt))
    hours_col = cat.index_of(f"{fleet.pump}.running_hours") if fleet.pump is not None else None
    truth = _Truth(n, fleet.pump)
    rul_t: list[float] = []
    sample_every = max(1, round(pms[0].vibration.sample / dt))
    operator: list[Command] = []
    crew = Crew(fleet, n)
    hours = np.zeros(n)
    spec = OeeSpec()
    oee = OeeAccumulator(n, TRAIN_UNITS, nameplate=[spec.nameplate_bpd / 86400.0] * 2) if fleet.oee else None
    oee_cols = {name: cat.index_of(name) for name in OEE_SIGNALS} if fleet.oee else {}
    for k in range(1, ticks + 1):
        state, events = engine.step(state, schedule.get(k, []) + operator)
        out = engine.outputs(state)
        if oee is not None:
            oee.add(dt, **separation_train_inputs(out.truth, oee_cols, spec))
        if hours_col is not None:
            hours = out.values[:, hours_col]
        t = k * dt
        truth.add(events, t, hours)
        sample = k % sample_every == 0
        if sample:
            rul_t.append(t)
        for d in detectors:
            d.step(out, k, t, sample)
        operator = crew.round(out.values) if k % every == 0 else []
        if progress is not None and k % 500 == 0:
            progress(k, ticks)
    times = np.asarray(rul_t, dtype=np.float64)
    oee_figures: dict[str, Any] | str = fleet.no_oee_reason if oee is None else {
        u: {k: v for k, v in f.items() if k != "oee_per_plant"} for u, f in oee.figures().items()}
    truths = truth.truths()
    runs = []
    for d in detectors:
        rul_all = np.stack(d.rul, axis=1) if d.rul else np.zeros((n, 0), dtype=np.float32)
        runs.append(_Run(truths=truths, alerts=d.alerts,
                         ruls=[RulSeries(times=times, rul_h=rul_all[p].astype(np.float64)) for p in range(n)],
                         onset_h=truth.onset_h, failure_h=truth.failure_h, hours_end=[float(h) for h in hours],
                         end=ticks * dt, oee=oee_figures))
    return runs


def run_evaluation(
    plant: PlantParams,
    pm: PmParams,
    cfg: EvalConfig,
    *,
    model: LoadedPlant | None = None,
    catalogue: Catalogue = LEGACY,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Phase A (degradation, ``days`` at ``dt``) and phase B (faults, ``fault_days`` at ``fault_dt``),
    scored against the engine's ground truth. Returns the result mapping (JSON-ready)."""
    return compare_detectors(plant, {"pm": pm}, cfg, model=model, catalogue=catalogue, progress=progress)["pm"]


def compare_detectors(
    plant: PlantParams,
    detectors: Mapping[str, PmParams],
    cfg: EvalConfig,
    *,
    model: LoadedPlant | None = None,
    catalogue: Catalogue = LEGACY,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Score several PM parameter sets on the very same simulated fleet (one engine run per phase).
    ``plant``: the tag map's parsed ``process:`` parameters (the built-in engine); ``model`` and
    ``catalogue``: a plant file's block engine and its signals instead. Phase A ages the scored pump
    per ``cfg``."""
    scale = cfg.weibull_scale_days if cfg.weibull_scale_days is not None else 0.6 * cfg.days
    fleet = fleet_of(catalogue, next(iter(detectors.values())))
    aged_model, aged_plant = aged(model, plant, fleet, cfg.weibull_shape, scale)
    # phase A: only the slow rules are scored (instrument and residual rules need a step the process is
    # smooth at, and the residual models are learned per fault-phase plant)
    slow = [
        replace(p, instruments=replace(p.instruments, signals=()), stiction=replace(p.stiction, loops=()),
                residuals=replace(p.residuals, models=(), noise_signals=()))
        for p in detectors.values()
    ]
    runs_a = _simulate(
        aged_model, aged_plant, fleet, slow, n=cfg.plants, dt=cfg.dt, ticks=round(cfg.days * 86400.0 / cfg.dt),
        seed=cfg.seed, phase=0, schedule={}, operator_every=cfg.operator_round,
        progress=(lambda k, t: progress("degradation", k, t)) if progress else None,
    )
    # phase B: the tag map's own plant (its pump ages as configured), one fault per plant
    runs_b = _simulate(
        model, plant, fleet, list(detectors.values()), n=cfg.plants, dt=cfg.fault_dt,
        ticks=round(cfg.fault_days * 86400.0 / cfg.fault_dt), seed=cfg.seed, phase=1,
        schedule=fault_schedule(cfg, fleet), operator_every=cfg.operator_round,
        progress=(lambda k, t: progress("faults", k, t)) if progress else None,
    )
    out: dict[str, dict[str, Any]] = {}
    for name, pm, a, b in zip(detectors, detectors.values(), runs_a, runs_b, strict=True):
        out[name] = _combine(cfg, pm, scale, a, b, fleet=fleet)
    return out


def _combine(cfg: EvalConfig, pm: PmParams, scale: float, a: _Run, b: _Run, *, fleet: Fleet) -> dict[str, Any]:
    ra = score(a.truths, a.alerts, a.ruls, horizon=a.end, grace=cfg.grace)
    why = fleet.no_pump_reason if fleet.pump is None else (
        None if pm.vibration.enabled else "the tag map has no PM vibration rule (pm: vibration: signal:)")
    if why is not None:  # nothing degrades, or nothing watches it: the pump goals are n/a, and say why
        ra["goals"] = {k: {**g, "value": None, "pass": None, "note": f"n/a: {why}"} for k, g in ra["goals"].items()}
    rb = score(b.truths, b.alerts, b.ruls, horizon=b.end, grace=cfg.grace)
    false_rate = ra["false_alerts_per_30_healthy_plant_days"] + rb["false_alerts_per_30_healthy_plant_days"]
    goals = dict(ra["goals"])
    healthy = ra["healthy_plant_days"] + rb["healthy_plant_days"]
    goals["false_alerts_per_30_healthy_days"] = goal(
        false_rate, "<= 1", false_rate <= 1.0, cases=1 if healthy > 0 else 0,
        none="no healthy plant-days; run longer",
    )
    goals["freeze_latency_p90_s"] = rb["goals"]["freeze_latency_p90_s"]
    goals["quiet_faults_detected_share"] = rb["goals"]["quiet_faults_detected_share"]
    for rule in ("residual", "noise"):  # the residual detectors run in phase B only
        rate = rb["false_alerts_per_30_healthy_plant_days_by_rule"].get(rule, 0.0)
        goals[f"{rule}_false_alerts_per_30_healthy_days"] = goal(
            rate, "<= 1", rate <= 1.0, cases=1 if rb["healthy_plant_days"] > 0 else 0,
            none="no healthy plant-days; run longer",
        )
    deg_keys = (
        "failed_plants",
        "lead_time_h",
        "missed_failures",
        "missed_share",
        "alerts",
        "healthy_plant_days",
        "false_alerts_per_30_healthy_plant_days",
        "rul",
        "rul_points",
    )
    fault_keys = ("alerts", "healthy_plant_days", "false_alerts_per_30_healthy_plant_days",
                  "false_alerts_per_30_healthy_plant_days_by_rule", "alert_latency_s", "quiet_faults")
    return {
        "config": {
            "plants": cfg.plants,
            "engine": "built-in" if fleet.catalogue is LEGACY else f"plant file ({fleet.catalogue.name})",
            "pump": fleet.pump,
            "days": cfg.days,
            "seed": cfg.seed,
            "dt_s": cfg.dt,
            "fault_days": cfg.fault_days,
            "fault_dt_s": cfg.fault_dt,
            "weibull_shape": cfg.weibull_shape,
            "weibull_scale_days": scale,
            "operator_round_s": cfg.operator_round,
            "grace_s": cfg.grace,
            "horizon_s": pm.vibration.horizon,
        },
        "degradation": {k: ra[k] for k in deg_keys}
        | {
            "onsets": sum(t.onset is not None for t in a.truths),
            "weibull": _weibull(a.onset_h, a.failure_h, cfg.weibull_shape, scale, a.hours_end),
        },
        "faults": {k: rb[k] for k in fault_keys} | {"injected": sum(len(t.faults) for t in b.truths)},
        "false_alerts_per_30_healthy_plant_days": false_rate,
        "oee": {"degradation_phase": a.oee, "fault_phase": b.oee},
        "goals": goals,
        "all_goals_pass": all_pass(goals),
    }


def _weibull(
    onset_h: list[float | None],
    failure_h: list[float | None],
    shape: float,
    scale: float,
    hours_now: list[float],
) -> dict[str, Any] | None:
    """Censored Weibull fit to failure times in running days vs the true failure-time MTTF."""
    from plc_emulator.alarms.scoring import fit_weibull

    fails = [f for f in failure_h if f is not None]
    if len(fails) < 2:
        return None
    times = [(f if f is not None else h) / 24.0 for f, h in zip(failure_h, hours_now, strict=True)]
    flags = [f is not None for f in failure_h]
    k, eta = fit_weibull(times, flags)
    delays = [
        (f - o) / 24.0 for f, o in zip(failure_h, onset_h, strict=True) if f is not None and o is not None
    ]
    d = float(np.mean(delays)) if delays else 0.0
    mttf_true = scale * math.gamma(1.0 + 1.0 / shape) + d
    mttf_fit = eta * math.gamma(1.0 + 1.0 / k)
    return {
        "fit_shape": k,
        "fit_scale_days": eta,
        "fit_mttf_days": mttf_fit,
        "true_onset_shape": shape,
        "true_onset_scale_days": scale,
        "mean_onset_to_failure_days": d,
        "true_mttf_days": mttf_true,
        "mttf_relative_error": abs(mttf_fit - mttf_true) / mttf_true,
        "failures": len(fails),
        "censored": len(failure_h) - len(fails),
    }
