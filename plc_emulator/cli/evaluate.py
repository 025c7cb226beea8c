"""`plc-emulator evaluate TAGMAP`: score the PM flags on a simulated fleet against ground truth.

Phase A runs ``--plants`` plants for ``--days`` at ``--dt`` (default 60 s) with Weibull-drawn pump
degradation onsets; phase B runs the same number of plants for ``--fault-days`` at ``--fault-dt``
(default 10 s) with one injected sensor or valve fault each. Writes the figures as JSON and a PNG
of predicted vs true RUL with the +/-20 % band. See docs/alarms.md for every definition.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("evaluate", help="score the predictive-maintenance flags on a simulated fleet",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("tagmap", metavar="TAGMAP")
    p.add_argument("--plants", type=int, default=200, help="plants in the batch (default 200)")
    p.add_argument("--days", type=float, default=120.0, help="degradation phase length in days (default 120)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the tag map's)")
    p.add_argument("--dt", type=float, default=60.0, help="degradation phase step, s (default 60)")
    p.add_argument("--fault-days", type=float, default=1.0, help="fault phase length in days (default 1)")
    p.add_argument("--fault-dt", type=float, default=10.0, help="fault phase step, s (default 10)")
    p.add_argument("--weibull-shape", type=float, default=2.0, help="onset Weibull shape (default 2)")
    p.add_argument("--weibull-scale", type=float, default=None,
                   help="onset Weibull scale in running days (default 0.6 x --days)")
    p.add_argument("--out", default="evaluation.json", help="JSON output (default evaluation.json)")
    p.add_argument("--png", default=None, help="RUL plot (default: --out with .png)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    p.set_defaults(func=handler)


def _check(args: argparse.Namespace) -> None:
    if args.plants < 1:
        raise BadInput(f"--plants must be >= 1 (got {args.plants})")
    for name in ("days", "dt", "fault_days", "fault_dt", "weibull_shape"):
        v = getattr(args, name)
        if not (math.isfinite(v) and v > 0):
            raise BadInput(f"--{name.replace('_', '-')} must be > 0 (got {v})")
    if args.weibull_scale is not None and not args.weibull_scale > 0:
        raise BadInput(f"--weibull-scale must be > 0 (got {args.weibull_scale})")
    if args.days * 86400.0 / args.dt < 10 or args.fault_days * 86400.0 / args.fault_dt < 10:
        raise BadInput("each phase needs at least 10 steps "
                       "(raise --days, --fault-days or lower --dt, --fault-dt)")


def handler(args: argparse.Namespace) -> int:
    _check(args)
    from plc_emulator.alarms.evaluation import EvalConfig, run_evaluation
    from plc_emulator.alarms.scoring import summary_lines
    from plc_emulator.tagmap import load

    tagmap = load(args.tagmap)
    pm = tagmap.pm_params  # parsed and checked when the tag map loaded
    cfg = EvalConfig(plants=args.plants, days=args.days, seed=tagmap.seed if args.seed is None else args.seed,
                     dt=args.dt, fault_days=args.fault_days, fault_dt=args.fault_dt,
                     weibull_shape=args.weibull_shape, weibull_scale_days=args.weibull_scale)
    bar: dict[str, Any] = {}

    def progress(phase: str, k: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        from tqdm import tqdm

        if phase not in bar:
            for b in bar.values():
                b.close()
            bar[phase] = tqdm(total=total, desc=phase, unit="step", file=sys.stderr)
        bar[phase].n = k
        bar[phase].refresh()

    try:
        result = run_evaluation(tagmap.plant_params, pm, cfg, model=tagmap.plant_model,
                                catalogue=tagmap.catalogue, progress=progress)
    finally:
        for b in bar.values():
            b.close()
    result["tagmap"] = {"path": str(args.tagmap), "sha256": tagmap.sha256}
    out = Path(args.out)
    out.write_text(json.dumps(_clean(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    png = Path(args.png) if args.png else out.with_suffix(".png")
    drawn = plot_rul(result, png)
    for line in summary_lines(result):
        print(line)
    oee = result["oee"]["degradation_phase"]
    for unit, f in (oee.items() if isinstance(oee, dict) else ()):
        print(f"  oee {unit} (degradation phase): {_pct(f['oee'])} (availability {_pct(f['availability'])}, "
              f"performance {_pct(f['performance'])}, quality {_pct(f['quality'])})")
    if drawn:
        print(f"wrote {out} and {png}")
    else:
        print(f"wrote {out} (no RUL plot: no pump reached zone D with a prediction; run longer)")
    return 1 if args.strict and not result["all_goals_pass"] else 0


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100.0 * x:.1f} %"


def _clean(obj: Any) -> Any:
    """JSON has no infinity: write non-finite floats as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _rul_points(result: dict[str, Any]) -> dict[str, tuple[list[float], list[float]]]:
    pts = result["degradation"]["rul_points"]
    out: dict[str, tuple[list[float], list[float]]] = {}
    for key in ("50", "80"):
        usable = [(t, p) for t, p in pts.get(key, []) if p is not None and p < 1e5]
        out[key] = ([t for t, _ in usable], [p for _, p in usable])
    return out


def plot_rul(result: dict[str, Any], path: Path) -> bool:
    """Predicted vs true RUL at 50 % and 80 % of life, with the +/-20 % band. Writes nothing and
    returns False when there is no point to draw (no pump failed with a prediction)."""
    series = _rul_points(result)
    if not any(xs for xs, _ in series.values()):
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    top = 1.0
    for key, marker in (("50", "o"), ("80", "s")):
        xs, ys = series[key]
        top = max([top, *xs, *ys])
        ax.scatter(xs, ys, marker=marker, s=22, alpha=0.75, label=f"at {key} % of life (n={len(xs)})")
    line = [0.0, top * 1.05]
    ax.plot(line, line, color="black", linewidth=1, label="perfect")
    ax.fill_between(line, [0.8 * x for x in line], [1.2 * x for x in line], color="tab:green", alpha=0.15,
                    label="±20 %")
    ax.set_xlim(0, line[1])
    ax.set_ylim(0, line[1])
    ax.set_xlabel("true RUL to zone D (h)")
    ax.set_ylabel("predicted RUL (h)")
    cfg = result["config"]
    ax.set_title(f"{cfg.get('pump') or 'pump'} RUL: {cfg['plants']} plants, {cfg['days']:g} days, seed {cfg['seed']}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
