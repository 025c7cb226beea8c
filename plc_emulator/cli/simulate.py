"""``plc-emulator simulate TAGMAP --duration 7d``: run headless as fast as possible, print the digest.

The run goes through :class:`~plc_emulator.scan.ScanCycle`, the same scan the live runtime and
``replay`` use, so the printed ``digest: <sha256>`` is the one a live run with the same tag map, seed
and commands would publish. ``--out run.csv`` writes every tag's value and StatusCode every
``--every`` of simulated time (default 1 s, so a week is 604,800 rows, not 6 million).

``--plants N --out DIR|FILE.parquet|FILE.csv`` writes a labelled dataset instead (the batch axis:
N plants in one engine): per plant and recorded tick every engine tag's measured value, true value
and StatusCode, the fault kind active per instrument and valve, the pump's degradation stage and
health index, slug and ESD flags; plus an events table and a metadata JSON. Faults are injected at
random (``--faults-per-day``, default 1 per plant-day) on top of the scenario. docs/datasets.md is
the data card.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput, check_ticks, duration_arg

__all__ = ["handler", "register", "simulate"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="run the plant headless as fast as possible and print the digest",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("tagmap", metavar="TAGMAP", help="tag map YAML (e.g. tag_maps/separation_train.yaml)")
    p.add_argument("--scenario", default=None, metavar="FILE", help="scenario YAML of timed events")
    p.add_argument("--seed", type=int, default=None, help="RNG seed (default: the scenario's, else the tag map's)")
    p.add_argument(
        "--duration",
        type=duration_arg,
        default=None,
        help="simulated time to run, e.g. 30s, 2h, 7d (default: the scenario's duration)",
    )
    p.add_argument("--out", default=None, metavar="CSV|DIR|FILE.parquet",
                   help="write tag values and StatusCodes to this CSV; a labelled dataset with --plants, "
                        "a directory or a .parquet file")
    p.add_argument("--plants", type=int, default=None,
                   help="labelled dataset of N plants (batch axis); needs --out")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="file format when --out is a directory (default parquet)")
    p.add_argument("--faults-per-day", type=float, default=1.0,
                   help="dataset: random faults per plant-day, at most one active at a time (default 1; 0 = none)")
    p.add_argument("--weibull-scale", type=float, default=None, metavar="DAYS",
                   help="dataset: pump degradation onset Weibull scale in running days (default: the tag map's)")
    p.add_argument("--every", type=duration_arg, default=1.0, help="CSV row interval in simulated time (default 1s)")
    p.add_argument(
        "--scan-period",
        type=duration_arg,
        default=None,
        help="override the tag map's scan period (engine dt); changes the digest",
    )
    p.set_defaults(func=handler)


def simulate(
    tagmap: Any,
    *,
    ticks: int,
    seed: int | None = None,
    schedule: dict[int, list[Any]] | None = None,
    out: Path | None = None,
    every: int = 10,
    progress: bool = False,
) -> Any:
    """Run ``ticks`` scans; return the last Snapshot. Rows every ``every`` ticks go to ``out``."""
    from plc_emulator.scan import ScanCycle

    cycle = ScanCycle(tagmap, seed=seed)
    sched = schedule or {}
    tags = tagmap.tags
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=ticks, unit="tick", unit_scale=True, file=sys.stderr, mininterval=0.5)
    fh = None
    writer: Any = None
    try:
        if out is not None:
            fh = out.open("w", newline="", encoding="utf-8")
            writer = csv.writer(fh)
            header = ["tick", "time"]
            for t in tags:
                header += [t.key, f"{t.key}.status"]
            writer.writerow(header)
            _row(writer, cycle.snapshot)
        snap = cycle.snapshot
        step = cycle.step
        chunk = 0
        for _ in range(ticks):
            snap = step(sched.get(cycle.tick + 1, ()))
            if writer is not None and snap.tick % every == 0:
                _row(writer, snap)
            if bar is not None:
                chunk += 1
                if chunk >= 1000:
                    bar.update(chunk)
                    chunk = 0
        if bar is not None and chunk:
            bar.update(chunk)
        return snap
    finally:
        if bar is not None:
            bar.close()
        if fh is not None:
            fh.close()


def _row(writer: Any, snap: Any) -> None:
    row: list[Any] = [snap.tick, f"{snap.sim_time:.3f}"]
    for v, s in zip(snap.values.tolist(), snap.status.tolist(), strict=True):
        row += [repr(v), s]
    writer.writerow(row)


def handler(args: argparse.Namespace) -> int:
    from plc_emulator.scenario import load_scenario
    from plc_emulator.tagmap import load

    if not Path(args.tagmap).is_file():
        raise BadInput(f"tag map not found: {args.tagmap}")
    tagmap = load(args.tagmap)
    if args.scan_period is not None:
        if not 0.001 <= args.scan_period <= 10.0:
            raise BadInput(f"--scan-period must be 1ms to 10s (got {args.scan_period:g} s)")
        tagmap = dataclasses.replace(tagmap, scan_period=float(args.scan_period))
    schedule: dict[int, list[Any]] = {}
    duration = args.duration
    seed = args.seed
    if args.scenario:
        if not Path(args.scenario).is_file():
            raise BadInput(f"scenario file not found: {args.scenario}")
        scen = load_scenario(args.scenario, tagmap, seed=seed)
        schedule = {k: list(v) for k, v in scen.schedule.items()}
        duration = duration if duration is not None else scen.duration
        seed = seed if seed is not None else scen.seed
    if duration is None:
        raise BadInput("--duration is required (e.g. --duration 7d) unless the scenario gives one")
    if duration <= 0:
        raise BadInput(f"--duration must be > 0 (got {duration:g} s)")
    if args.every <= 0:
        raise BadInput(f"--every must be > 0 (got {args.every:g} s)")
    dt = tagmap.scan_period
    ticks = max(1, round(check_ticks(duration / dt, dt, "--duration")))
    every = max(1, round(args.every / dt))
    out = Path(args.out) if args.out else None
    if args.plants is not None or (out is not None and out.suffix != ".csv"):
        return _dataset(args, tagmap, ticks=ticks, every=every, seed=seed, schedule=schedule)
    if out is not None and not out.parent.exists():
        raise BadInput(f"output directory does not exist: {out.parent}")
    snap = simulate(
        tagmap, ticks=ticks, seed=seed, schedule=schedule, out=out, every=every, progress=sys.stderr.isatty()
    )
    print(f"digest: {snap.digest}", flush=True)
    print(f"ticks: {snap.tick}", flush=True)
    _print_oee_tags(tagmap, snap.values)
    return 0


def _print_oee_tags(tagmap: Any, values: Any) -> None:
    """The run's OEE when the tag map binds the oee.* signals (cumulative: the last scan has it)."""
    got = {t.signal: float(values[i]) for i, t in enumerate(tagmap.tags) if t.signal.startswith("oee.")}
    for unit in ("train", "P100"):
        f = {k: got.get(f"oee.{unit}.{k}") for k in ("oee", "availability", "performance", "quality")}
        if any(v is not None for v in f.values()):
            shown = {k: "n/a" if v is None else f"{v:.1f} %" for k, v in f.items()}
            print(f"oee {unit}: {shown['oee']} (availability {shown['availability']}, performance "
                  f"{shown['performance']}, quality {shown['quality']})", flush=True)


def _dataset(
    args: argparse.Namespace, tagmap: Any, *, ticks: int, every: int, seed: int | None,
    schedule: dict[int, list[Any]],
) -> int:
    """``--plants N --out ...``: the labelled dataset (plc_emulator.datasets)."""
    import hashlib
    import json

    from plc_emulator.datasets import DatasetConfig, FaultCampaign, build_dataset, dataset_paths

    plants = 1 if args.plants is None else args.plants
    if plants < 1:
        raise BadInput(f"--plants must be >= 1 (got {plants})")
    if args.out is None:
        raise BadInput("--plants needs --out DIR, FILE.parquet or FILE.csv")
    if not (args.faults_per_day >= 0 and args.faults_per_day < 1e6):
        raise BadInput(f"--faults-per-day must be >= 0 (got {args.faults_per_day})")
    if args.weibull_scale is not None and not args.weibull_scale > 0:
        raise BadInput(f"--weibull-scale must be > 0 (got {args.weibull_scale})")
    out = Path(args.out)
    if out.suffix in (".parquet", ".csv"):
        if not out.parent.exists():
            raise BadInput(f"output directory does not exist: {out.parent}")
    elif out.suffix:
        raise BadInput(f"--out must be a directory, FILE.parquet or FILE.csv (got {out})")
    else:
        out.mkdir(parents=True, exist_ok=True)
    paths = dataset_paths(out, args.format)
    scenario = None
    if args.scenario:
        data = Path(args.scenario).read_bytes()
        scenario = {"path": str(args.scenario), "sha256": hashlib.sha256(data).hexdigest()}
    cfg = DatasetConfig(
        plants=plants, ticks=ticks, dt=tagmap.scan_period, seed=tagmap.seed if seed is None else seed,
        every=every, campaign=FaultCampaign(rate_per_day=args.faults_per_day),
        weibull_scale_days=args.weibull_scale,
    )
    bar: Any = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=ticks, unit="tick", unit_scale=True, file=sys.stderr, mininterval=0.5)

    def progress(k: int, total: int) -> None:
        if bar is not None:
            bar.n = k
            bar.refresh()

    try:
        summary = build_dataset(tagmap, cfg, paths, schedule=schedule, scenario=scenario, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"rows: {summary['rows']} ({plants} plants, {summary['row_groups']} row groups)", flush=True)
    print(f"events: {summary['events']} {json.dumps(summary['events_by_kind'])}", flush=True)
    if "oee_note" in summary:
        print(f"oee: {summary['oee_note']}", flush=True)
    for unit, f in summary["oee"].items():
        print(f"oee {unit}: {_pct(f['oee'])} (availability {_pct(f['availability'])}, performance "
              f"{_pct(f['performance'])}, quality {_pct(f['quality'])})", flush=True)
    print(f"wrote {paths.data}, {paths.events} and {paths.metadata}", flush=True)
    return 0


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100.0 * x:.1f} %"
