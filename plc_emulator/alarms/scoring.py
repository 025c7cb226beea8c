"""Score predictive-maintenance flags against the engine's ground truth (definitions in docs/alarms.md).

Pure functions over plain arrays so a test can feed them a perfect, a useless or a broken detector.
Times are seconds of simulated time from the start of the run.

Definitions used (documented in docs/alarms.md):

* **lead time**: failure time (vibration reaches zone D, ground truth) minus the first vibration
  alert at or after degradation onset. A failed plant with no such alert before failure is missed.
* **false alert**: a rising edge of a PM flag with no matching ground truth: a vibration alert
  before onset; an instrument or stiction alert raised while no fault is active on the plant (in
  ``[start, end + grace]``). An instrument alert on another signal while a fault is active is a
  knock-on effect through the control loops and counted apart (``knock_on``), not as false.
  Fouling alerts are not counted here. The rate is per 30 *healthy plant-days*: time
  before onset and outside every fault window (plus grace).
* **RUL** at 50 % and 80 % of life (life = onset to failure): the prediction nearest that time
  against the true remaining time; MAE in hours and the share within +/-alpha (20 %).
* **Weibull MTTF**: a right-censored maximum-likelihood Weibull fit to the failure times (plants
  that did not fail are censored at the end of the run), compared with the true failure-time MTTF
  ``eta * Gamma(1 + 1/beta) + d`` (onset distribution plus the mean onset-to-failure delay d).
* **alert latency** per fault kind: first relevant alert at or after fault start, minus the start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Alert",
    "FaultTruth",
    "Goals",
    "PlantTruth",
    "RulSeries",
    "all_pass",
    "fit_weibull",
    "goal",
    "score",
]

F64 = npt.NDArray[np.float64]


QUIET_KINDS = ("bias", "drift", "noise")  # the faults a single signal cannot show: need a residual


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultTruth:
    kind: str  # freeze, drift, bias, spike, noise, fail, comm_loss, stuck, stiction
    target: str  # signal (or LIC100.valve for valve faults)
    start: float  # s
    end: float  # s (inf = never cleared)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantTruth:
    onset: float | None = None  # degradation onset, s
    failure: float | None = None  # zone D reached, s
    faults: tuple[FaultTruth, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    time: float  # s, rising edge
    rule: str  # "vibration", "flatline", "implausible", "stiction", "fouling"
    subject: str  # signal for instrument rules, loop for stiction, equipment otherwise


@dataclass(frozen=True, slots=True, kw_only=True)
class RulSeries:
    times: F64  # (T,) s
    rul_h: F64  # (T,) predicted hours (inf or cap = none)


@dataclass(frozen=True, slots=True, kw_only=True)
class Goals:
    median_lead_h: float = 72.0  # at least
    missed_share: float = 0.05  # at most
    false_per_30_days: float = 1.0  # at most
    freeze_latency_s: float = 600.0  # frozen sensors flagged within (median and p90)
    quiet_detected: float = 0.9  # share of bias, drift and noise faults detected (at least)
    alpha: float = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class _Latency:
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)


def fit_weibull(times: Sequence[float], failed: Sequence[bool]) -> tuple[float, float]:
    """Right-censored Weibull MLE: (shape beta, scale eta). Needs at least two failures."""
    t = np.asarray(times, dtype=np.float64)
    d = np.asarray(failed, dtype=np.bool_)
    r = int(d.sum())
    if r < 2 or np.any(t <= 0):
        raise ValueError(f"a Weibull fit needs >= 2 failures and positive times (got {r} failures)")
    lt = np.log(t)
    mean_lf = float(lt[d].mean())

    def g(k: float) -> float:
        w = np.exp(k * (lt - lt.max()))  # scaled t^k, avoids overflow
        return float((w * lt).sum() / w.sum() - 1.0 / k - mean_lf)

    lo, hi = 0.02, 100.0
    if g(lo) > 0 or g(hi) < 0:
        raise ValueError("Weibull fit did not bracket a shape in [0.02, 100]")
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if g(mid) > 0:
            hi = mid
        else:
            lo = mid
    k = math.sqrt(lo * hi)
    eta = float((np.sum(t**k) / r) ** (1.0 / k))
    return k, eta


def _quantiles(xs: Sequence[float]) -> dict[str, float | int | None]:
    if not xs:
        return {"n": 0, "median": None, "p10": None, "p90": None, "min": None, "max": None}
    a = np.asarray(xs, dtype=np.float64)
    return {
        "n": len(xs),
        "median": float(np.median(a)),
        "p10": float(np.percentile(a, 10)),
        "p90": float(np.percentile(a, 90)),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def _fault_subject(f: FaultTruth) -> str:
    return f.target.split(".")[0] if f.target.endswith(".valve") else f.target


def _is_true(alert: Alert, truth: PlantTruth, grace: float) -> bool | None:
    """True (matches the truth), False (raised in healthy time), None (not scored: fouling, or an
    instrument alert on another signal while a fault is active on the plant - a knock-on effect)."""
    if alert.rule == "fouling":
        return None
    if alert.rule == "vibration":
        return truth.onset is not None and alert.time >= truth.onset
    busy = False
    for f in truth.faults:
        if f.start <= alert.time <= f.end + grace:
            if _fault_subject(f) == alert.subject:
                return True
            busy = True
    return None if busy else False


def _healthy_seconds(truth: PlantTruth, horizon: float, grace: float) -> float:
    end = min(horizon, truth.onset) if truth.onset is not None else horizon
    if end <= 0:
        return 0.0
    spans = sorted((max(0.0, f.start), min(end, f.end + grace)) for f in truth.faults if f.start < end)
    covered, cur_s, cur_e = 0.0, -1.0, -1.0
    for s, e in spans:
        if s > cur_e:
            covered += max(0.0, cur_e - cur_s)
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    covered += max(0.0, cur_e - cur_s)
    return max(0.0, end - covered)


_RELEVANT = {
    "freeze": ("flatline",),
    "drift": ("implausible", "flatline", "residual"),
    "bias": ("implausible", "residual"),
    "spike": ("implausible",),
    "noise": ("implausible", "noise"),
    "fail": ("implausible", "flatline"),
    "comm_loss": ("implausible", "flatline"),
    "stuck": ("stiction",),
    "stiction": ("stiction",),
}


def score(
    truths: Sequence[PlantTruth],
    alerts: Sequence[Sequence[Alert]],
    ruls: Sequence[RulSeries],
    *,
    horizon: float,
    grace: float,
    weibull_true: tuple[float, float] | None = None,
    goals: Goals = Goals(),
) -> dict[str, Any]:
    """Every figure of the evaluation, plus ``goals`` with value, target and pass per goal."""
    if not (len(truths) == len(alerts) == len(ruls)):
        raise ValueError("truths, alerts and ruls must have one entry per plant")
    leads: list[float] = []
    missed = failed = 0
    false_alerts = true_alerts = knock_on = 0
    healthy = 0.0
    rul_points: dict[str, list[tuple[float, float]]] = {"50": [], "80": []}
    lat = _Latency()
    false_by_rule: dict[str, int] = {}
    quiet: dict[str, dict[str, list[int]]] = {}  # kind -> target -> [detected, injected]
    for truth, plant_alerts, rul in zip(truths, alerts, ruls, strict=True):
        healthy += _healthy_seconds(truth, horizon, grace)
        for a in plant_alerts:
            verdict = _is_true(a, truth, grace)
            if verdict is True:
                true_alerts += 1
            elif verdict is False:
                false_alerts += 1
                false_by_rule[a.rule] = false_by_rule.get(a.rule, 0) + 1
            elif a.rule != "fouling":
                knock_on += 1
        if truth.failure is not None and truth.onset is not None:
            failed += 1
            firsts = [
                a.time
                for a in plant_alerts
                if a.rule == "vibration" and truth.onset <= a.time <= truth.failure
            ]
            if firsts:
                leads.append((truth.failure - min(firsts)) / 3600.0)
            else:
                missed += 1
            life = truth.failure - truth.onset
            for key, frac in (("50", 0.5), ("80", 0.8)):
                t_q = truth.onset + frac * life
                if len(rul.times) == 0:
                    continue
                i = int(np.argmin(np.abs(rul.times - t_q)))
                true_h = (truth.failure - rul.times[i]) / 3600.0
                rul_points[key].append((true_h, float(rul.rul_h[i])))
        for f in truth.faults:
            rules = _RELEVANT.get(f.kind, ())
            hits = [
                a.time - f.start
                for a in plant_alerts
                if a.rule in rules and a.subject == _fault_subject(f) and f.start <= a.time <= f.end + grace
            ]
            if hits:
                lat.by_kind.setdefault(f.kind, []).append(min(hits))
            else:
                lat.missed[f.kind] = lat.missed.get(f.kind, 0) + 1
            if f.kind in QUIET_KINDS:
                cell = quiet.setdefault(f.kind, {}).setdefault(f.target, [0, 0])
                cell[0] += bool(hits)
                cell[1] += 1

    rul_scores: dict[str, Any] = {}
    for key, pts in rul_points.items():
        finite = [(t, p) for t, p in pts if math.isfinite(p) and p < 1e5]
        within = [abs(p - t) <= goals.alpha * t for t, p in finite]
        rul_scores[f"at_{key}pct_life"] = {
            "plants": len(pts),
            "with_prediction": len(finite),
            "mae_h": float(np.mean([abs(p - t) for t, p in finite])) if finite else None,
            "share_within_20pct": (sum(within) / len(pts)) if pts else None,
        }

    healthy_days = healthy / 86400.0
    false_rate = false_alerts / (healthy_days / 30.0) if healthy_days > 0 else math.inf
    latency: dict[str, Any] = {}
    for kind in sorted(set(lat.by_kind) | set(lat.missed)):
        q = _quantiles(lat.by_kind.get(kind, []))
        latency[kind] = {**q, "undetected": lat.missed.get(kind, 0)}

    weibull: dict[str, Any] | None = None
    fail_times = [t.failure for t in truths if t.failure is not None]
    if weibull_true is not None and len(fail_times) >= 2:
        times = [t.failure if t.failure is not None else horizon for t in truths]
        flags = [t.failure is not None for t in truths]
        shape, eta = fit_weibull([x / 86400.0 for x in times], flags)
        delays = [
            (t.failure - t.onset) / 86400.0 for t in truths if t.failure is not None and t.onset is not None
        ]
        d = float(np.mean(delays)) if delays else 0.0
        true_shape, true_eta = weibull_true
        mttf_true = true_eta * math.gamma(1.0 + 1.0 / true_shape) + d
        mttf_fit = eta * math.gamma(1.0 + 1.0 / shape)
        weibull = {
            "fit_shape": shape,
            "fit_scale_days": eta,
            "fit_mttf_days": mttf_fit,
            "true_onset_shape": true_shape,
            "true_onset_scale_days": true_eta,
            "mean_onset_to_failure_days": d,
            "true_mttf_days": mttf_true,
            "mttf_relative_error": abs(mttf_fit - mttf_true) / mttf_true,
            "failures": len(fail_times),
            "censored": len(truths) - len(fail_times),
        }

    median_lead = float(np.median(leads)) if leads else 0.0
    missed_share = missed / failed if failed else 0.0
    quiet_hit = sum(c[0] for t in quiet.values() for c in t.values())
    quiet_all = sum(c[1] for t in quiet.values() for c in t.values())
    quiet_share = quiet_hit / quiet_all if quiet_all else 0.0
    per_30 = 30.0 / healthy_days if healthy_days > 0 else math.inf
    false_rate_by_rule = {r: c * per_30 for r, c in sorted(false_by_rule.items())}
    freeze = lat.by_kind.get("freeze", [])
    freeze_missed = lat.missed.get("freeze", 0)
    freeze_p90 = float(np.percentile(freeze, 90)) if freeze else math.inf
    goal_table = {
        "median_lead_h": goal(
            median_lead, f">= {goals.median_lead_h:g}", bool(leads) and median_lead >= goals.median_lead_h,
            cases=failed, none="no failures; run longer",
        ),
        "missed_share": goal(
            missed_share, f"<= {goals.missed_share:g}", missed_share <= goals.missed_share,
            cases=failed, none="no failures; run longer",
        ),
        "false_alerts_per_30_healthy_days": goal(
            false_rate, f"<= {goals.false_per_30_days:g}", false_rate <= goals.false_per_30_days,
            cases=1 if healthy_days > 0 else 0, none="no healthy plant-days; run longer",
        ),
        "freeze_latency_p90_s": goal(
            freeze_p90, f"<= {goals.freeze_latency_s:g}",
            freeze_missed == 0 and freeze_p90 <= goals.freeze_latency_s,
            cases=len(freeze) + freeze_missed, none="no freeze faults injected; run more plants",
        ),
        "quiet_faults_detected_share": goal(
            quiet_share, f">= {goals.quiet_detected:g}", quiet_share >= goals.quiet_detected,
            cases=quiet_all, none="no bias, drift or noise faults injected; run more plants",
        ),
    }
    return {
        "plants": len(truths),
        "failed_plants": failed,
        "lead_time_h": {**_quantiles(leads), "values": [round(x, 2) for x in sorted(leads)]},
        "missed_failures": missed,
        "missed_share": missed_share,
        "alerts": {
            "true": true_alerts,
            "false": false_alerts,
            "knock_on": knock_on,
            "false_by_rule": false_by_rule,
        },
        "healthy_plant_days": healthy_days,
        "false_alerts_per_30_healthy_plant_days": false_rate,
        "false_alerts_per_30_healthy_plant_days_by_rule": false_rate_by_rule,
        "quiet_faults": {
            "detected": quiet_hit,
            "injected": quiet_all,
            "share": quiet_share if quiet_all else None,
            "by_kind_and_target": {k: {t: {"detected": c[0], "injected": c[1]} for t, c in sorted(v.items())}
                                   for k, v in sorted(quiet.items())},
        },
        "rul": rul_scores,
        "rul_points": {
            k: [[round(t, 2), round(p, 2) if math.isfinite(p) else None] for t, p in v]
            for k, v in rul_points.items()
        },
        "weibull": weibull,
        "alert_latency_s": latency,
        "goals": goal_table,
        "all_goals_pass": all_pass(goal_table),
    }


def goal(value: float, target: str, ok: bool, *, cases: int, none: str) -> dict[str, Any]:
    """One goal row. With no cases to judge (``cases == 0``) the goal is not applicable: ``pass`` is
    None and ``note`` says why, instead of a misleading FAIL on a value of 0."""
    if cases == 0:
        return {"value": None, "target": target, "pass": None, "note": f"n/a: {none}"}
    return {"value": value, "target": target, "pass": bool(ok)}


def all_pass(goals: Mapping[str, Mapping[str, Any]]) -> bool:
    """Every applicable goal passes (a not-applicable one neither passes nor fails)."""
    return all(g["pass"] is not False for g in goals.values())


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """Human-readable lines for the CLI (the mapping of :func:`run_evaluation` or :func:`score`)."""
    deg = result.get("degradation", result)
    out = [f"failed plants {deg['failed_plants']}, healthy plant-days {deg['healthy_plant_days']:.1f}"]
    for name, g in result["goals"].items():
        if g["pass"] is None:
            out.append(f"  n/a   {name} (goal {g['target']}): {g.get('note', 'n/a')}")
            continue
        v = g["value"]
        vs = f"{v:.3g}" if isinstance(v, float) and math.isfinite(v) else str(v)
        out.append(f"  {'PASS' if g['pass'] else 'FAIL'}  {name} = {vs} (goal {g['target']})")
    return out
