"""``plc-emulator plant PLANTFILE``: validate a plant file, show its evaluation plan, optionally run it.

    plc-emulator plant FILE                                   # check + plan
    plc-emulator plant FILE --duration 2h --dt 1s --out run.csv   # and a headless run as CSV
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any, TextIO

from plc_emulator.cli._common import BadInput, duration_arg
from plc_emulator.engine.blocks import SignalKind
from plc_emulator.engine.plant import LoadedPlant, PlantEngine, compile_plan, load_plant
from plc_emulator.engine.plant._schema import plant_schema_text

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "plant",
        help="check a plant file and print its evaluation plan (exit 2 listing every problem)",
        description="Check a plant file (format: docs/blocks.md). Exit 0 with a summary and the plan "
        "(groups of one block kind evaluated together), or exit 2 with every problem as "
        "FILE:LINE:COL: path: message.",
    )
    p.add_argument("plant", metavar="PLANTFILE", nargs="?", help="plant file YAML")
    p.add_argument("--schema", action="store_true", help="print the JSON Schema of the plant file format")
    p.add_argument("--duration", type=duration_arg, help="also run the plant headless this long (e.g. 2h)")
    p.add_argument("--dt", type=duration_arg, default=1.0, help="step for --duration (default 1s)")
    p.add_argument("--every", type=duration_arg, default=60.0, help="CSV row interval (default 60s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="CSV file for --duration (default: stdout)")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.schema:
        print(plant_schema_text(), end="")
        return 0
    if args.plant is None:
        raise BadInput("plant: give a PLANTFILE (or --schema)")
    loaded = load_plant(args.plant)  # PlantError (a TagMapError) -> every problem, exit 2
    plan = compile_plan(loaded.graph, n=1)
    f = loaded.file
    measured = sum(1 for s in plan.signals.values() if s.spec.kind is SignalKind.MEASURED)
    writable = sum(1 for s in plan.signals.values() if s.spec.kind is SignalKind.INPUT)
    print(f"ok: plant {f.name}: {len(loaded.graph.units)} units ({len(f.units)} declared, "
          f"{len(f.instruments)} instruments, {len(f.loops)} loops, {len(f.interlocks)} interlocks), "
          f"{len(loaded.graph.connections)} connections, {len(plan.signals)} signals "
          f"({measured} measured, {writable} writable); {len(plan.groups)} groups")
    for g in plan.groups:
        print(f"  level {g.level}  {g.kind:<18} x{len(g.units):<3} {', '.join(g.units)}",
              file=sys.stderr if args.duration and not args.out else sys.stdout)
    if args.duration:
        if args.dt <= 0 or args.every < args.dt:
            raise BadInput("plant: --dt must be > 0 and --every at least --dt")
        if args.out:
            with open(args.out, "w", newline="", encoding="utf-8") as fh:
                _run(loaded, args, fh)
        else:
            _run(loaded, args, sys.stdout)
    return 0


def _run(loaded: LoadedPlant, args: argparse.Namespace, out: TextIO) -> None:
    """Headless run: one CSV row of every signal's published value every ``--every`` seconds."""
    eng = PlantEngine(loaded, dt=args.dt, seed=args.seed)
    every = max(round(args.every / args.dt), 1)
    w = csv.writer(out)
    w.writerow(["time_s", *eng.names])
    s = eng.initial_state()
    w.writerow([0.0, *(f"{v:.6g}" for v in s.values[0])])
    for _ in range(round(args.duration / args.dt) // every):
        s, _ = eng.run(s, every)
        w.writerow([f"{s.tick * args.dt:g}", *(f"{v:.6g}" for v in s.values[0])])
