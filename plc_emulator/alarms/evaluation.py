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

from plc_emulator.alarms.config import PmParams, pm_alarm_defs, span_of
from plc_emulator.alarms.pm import PmBlock
from plc_emulator.alarms.scoring import Alert, FaultTruth, PlantTruth, RulSeries, all_pass, goal, score
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import Engine, PlantParams
from plc_emulator.engine.catalogue import CATALOGUE, LOOPS, SignalKind, index_of
from plc_emulator.oee import TRAIN_UNITS, OeeAccumulator, OeeSpec, separation_train_inputs

__all__ = ["EvalConfig", "compare_detectors", "fault_params", "fault_schedule", "run_evaluation"]

SENSOR_KINDS = ("freeze", "drift", "bias", "spike", "noise", "fail", "comm_loss")
VALVE_KINDS = ("stuck", "stiction")
MEASURED = tuple(s.name for s in CATALOGUE if s.kind is SignalKind.MEASURED)


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


def fault_params(kind: str, target: str, rng: np.random.Generator) -> dict[str, float | str]:
    out: dict[str, float | str] = {"kind": kind}
    if kind in VALVE_KINDS:
        if kind == "stiction":
            out.update(S=float(rng.uniform(4.0, 8.0)), J=float(rng.uniform(1.0, 3.0)))
        return out
    span = span_of(target)
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


def fault_schedule(cfg: EvalConfig) -> dict[int, list[Command]]:
    """Phase B: one fault per plant, kind cycling through every kind (so each kind gets plants/9),
    target, start (``fault_start_h`` .. 40 % of the window) and duration (2-6 h; a drift lasts to the
    end of the phase) drawn from their own stream."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0xFA17]))
    sched: dict[int, list[Command]] = {}
    kinds = SENSOR_KINDS + VALVE_KINDS
    window = cfg.fault_days * 86400.0
    for plant in range(cfg.plants):
        kind = kinds[plant % len(kinds)]
        target = (
            f"{LOOPS[int(rng.integers(len(LOOPS)))][0]}.valve"
            if kind in VALVE_KINDS
            else str(rng.choice(MEASURED))
        )
        first = cfg.fault_start_h * 3600.0
        start = float(rng.uniform(first, max(0.4 * window, first + cfg.fault_dt)))
        duration = min(float(rng.uniform(2.0, 6.0)) * 3600.0, window - start - cfg.fault_dt)
        if kind == "drift":  # a drift stays until someone recalibrates: to the end of the phase
            duration = window - start - cfg.fault_dt
        t0 = max(1, round(start / cfg.fault_dt))
        t1 = max(t0 + 1, round((start + duration) / cfg.fault_dt))
        params = {**fault_params(kind, target, rng), "plant": plant}
        sched.setdefault(t0, []).append(
            Command(kind=CommandKind.INJECT_FAULT, target=target, params=params, source="evaluate")
        )
        sched.setdefault(t1, []).append(
            Command(kind=CommandKind.CLEAR_FAULT, target=target, params={"plant": plant}, source="evaluate")
        )
    return sched


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
    oee: dict[str, Any]


def _simulate(
    plant: PlantParams,
    pms: Sequence[PmParams],
    *,
    n: int,
    dt: float,
    ticks: int,
    seed: int,
    schedule: dict[int, list[Command]],
    operator_round: float,
    progress: Callable[[int, int], None] | None,
) -> list[_Run]:
    """One engine run; every detector in ``pms`` sees the same outputs. One _Run per detector."""
    engine = Engine(plant, dt=dt, seed=seed, n=n)
    state = engine.initial_state()
    blocks = [PmBlock(pm, dt=dt, n=n) for pm in pms]
    rules = [_rules(pm) for pm in pms]
    every = max(1, round(operator_round / dt))
    esd_col, status_col, hours_col = (
        index_of("ESD.active"),
        index_of("P100.status"),
        index_of("P100.running_hours"),
    )
    alerts: list[list[list[Alert]]] = [[[] for _ in range(n)] for _ in pms]
    onset: list[float | None] = [None] * n
    onset_h: list[float | None] = [None] * n
    failure: list[float | None] = [None] * n
    failure_h: list[float | None] = [None] * n
    open_faults: dict[tuple[int, str], tuple[str, float]] = {}
    faults: list[list[FaultTruth]] = [[] for _ in range(n)]
    rul_t: list[float] = []
    rul_v: list[list[npt.NDArray[np.float32]]] = [[] for _ in pms]
    sample_every = max(1, round(pms[0].vibration.sample / dt))
    prev = [np.zeros((n, len(r)), dtype=np.bool_) for r in rules]
    operator: list[Command] = []
    hours = np.zeros(n)
    spec = OeeSpec()
    oee = OeeAccumulator(n, TRAIN_UNITS, nameplate=[spec.nameplate_bpd / 86400.0] * 2)
    oee_cols = {name: index_of(name) for name in
                ("P100.oil_flow", "ESD.active", "P100.status", "P100.run_cmd", "E100.outlet_temperature", "TIC100.sp")}
    for k in range(1, ticks + 1):
        cmds = schedule.get(k, []) + operator
        operator = []
        state, events = engine.step(state, cmds)
        out = engine.outputs(state)
        oee.add(dt, **separation_train_inputs(out.truth, oee_cols, spec))
        hours = out.values[:, hours_col]
        t = k * dt
        for ev in events:
            if ev.kind == "degradation_onset" and onset[ev.plant] is None:
                onset[ev.plant], onset_h[ev.plant] = t, float(hours[ev.plant])
            elif ev.kind == "failure" and failure[ev.plant] is None:
                failure[ev.plant], failure_h[ev.plant] = t, float(hours[ev.plant])
            elif ev.kind == "fault_start":
                open_faults[(ev.plant, ev.target)] = (str(ev.params.get("kind", "")), t)
            elif ev.kind == "fault_end" and (ev.plant, ev.target) in open_faults:
                kind, start = open_faults.pop((ev.plant, ev.target))
                faults[ev.plant].append(FaultTruth(kind=kind, target=ev.target, start=start, end=t))
        if k % sample_every == 0:
            rul_t.append(t)
        for d, block in enumerate(blocks):
            res = block.step(out.values, out.status, tick=k)
            # the wire's residual alarm is the OR of two tests: score each test on its own edges
            tests = np.concatenate([res.flags, res.residuals.residual, res.residuals.noise], axis=1)
            rising = tests & ~prev[d]
            prev[d] = tests
            if rising.any():
                for p, f in zip(*np.nonzero(rising), strict=True):
                    rule, subject = rules[d][f]
                    if rule != "residual:or":
                        alerts[d][int(p)].append(Alert(time=t, rule=rule, subject=subject))
            if k % sample_every == 0:
                rul_v[d].append(res.rul_h.astype(np.float32))
        if k % every == 0:  # the operator round
            for p in np.flatnonzero(out.values[:, esd_col] > 0.5):
                operator.append(
                    Command(
                        kind=CommandKind.WRITE,
                        target="ESD.reset",
                        value=1.0,
                        params={"plant": int(p)},
                        source="operator",
                    )
                )
            for p in np.flatnonzero((out.values[:, status_col] == 2.0) & (out.values[:, esd_col] < 0.5)):
                operator.append(
                    Command(
                        kind=CommandKind.WRITE,
                        target="P100.trip_reset",
                        value=1.0,
                        params={"plant": int(p)},
                        source="operator",
                    )
                )
        if progress is not None and k % 500 == 0:
            progress(k, ticks)
    for (p, target), (kind, start) in open_faults.items():
        faults[p].append(FaultTruth(kind=kind, target=target, start=start, end=math.inf))
    times = np.asarray(rul_t, dtype=np.float64)
    oee_figures = {u: {k: v for k, v in f.items() if k != "oee_per_plant"} for u, f in oee.figures().items()}
    truths = [PlantTruth(onset=onset[p], failure=failure[p], faults=tuple(faults[p])) for p in range(n)]
    runs = []
    for d in range(len(pms)):
        rul_all = np.stack(rul_v[d], axis=1) if rul_v[d] else np.zeros((n, 0), dtype=np.float32)
        runs.append(
            _Run(
                truths=truths,
                alerts=alerts[d],
                ruls=[RulSeries(times=times, rul_h=rul_all[p].astype(np.float64)) for p in range(n)],
                onset_h=onset_h,
                failure_h=failure_h,
                hours_end=[float(h) for h in hours],
                end=ticks * dt,
                oee=oee_figures,
            )
        )
    return runs


def run_evaluation(
    plant: PlantParams,
    pm: PmParams,
    cfg: EvalConfig,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Phase A (degradation, ``days`` at ``dt``) and phase B (faults, ``fault_days`` at ``fault_dt``),
    scored against the engine's ground truth. Returns the result mapping (JSON-ready)."""
    return compare_detectors(plant, {"pm": pm}, cfg, progress=progress)["pm"]


def compare_detectors(
    plant: PlantParams,
    detectors: Mapping[str, PmParams],
    cfg: EvalConfig,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Score several PM parameter sets on the very same simulated fleet (one engine run per phase);
    ``plant``: the tag map's parsed ``process:`` parameters (phase A ages its pump per ``cfg``)."""
    scale = cfg.weibull_scale_days if cfg.weibull_scale_days is not None else 0.6 * cfg.days
    aged = replace(plant, vibration=replace(plant.vibration, weibull_shape=cfg.weibull_shape,
                                            weibull_scale_days=scale))
    names = list(detectors)
    # phase A: only the slow rules are scored (instrument and residual rules need a step the process is
    # smooth at, and the residual models are learned per fault-phase plant)
    slow = [
        replace(p, instruments=replace(p.instruments, signals=()), stiction=replace(p.stiction, loops=()),
                residuals=replace(p.residuals, models=(), noise_signals=()))
        for p in detectors.values()
    ]
    runs_a = _simulate(
        aged,
        slow,
        n=cfg.plants,
        dt=cfg.dt,
        ticks=round(cfg.days * 86400.0 / cfg.dt),
        seed=cfg.seed,
        schedule={},
        operator_round=cfg.operator_round,
        progress=(lambda k, t: progress("degradation", k, t)) if progress else None,
    )
    # phase B: the tag map's own plant (its pump ages as configured), one fault per plant
    runs_b = _simulate(
        plant,
        list(detectors.values()),
        n=cfg.plants,
        dt=cfg.fault_dt,
        ticks=round(cfg.fault_days * 86400.0 / cfg.fault_dt),
        seed=cfg.seed + 1,
        schedule=fault_schedule(cfg),
        operator_round=cfg.operator_round,
        progress=(lambda k, t: progress("faults", k, t)) if progress else None,
    )
    out: dict[str, dict[str, Any]] = {}
    for name, pm, a, b in zip(names, detectors.values(), runs_a, runs_b, strict=True):
        out[name] = _combine(cfg, pm, scale, a, b)
    return out


def _combine(cfg: EvalConfig, pm: PmParams, scale: float, a: _Run, b: _Run) -> dict[str, Any]:
    ra = score(a.truths, a.alerts, a.ruls, horizon=a.end, grace=cfg.grace)
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
