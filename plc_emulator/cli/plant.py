"""``plc-emulator plant PLANTFILE``: validate a plant file and show its compiled evaluation plan."""

from __future__ import annotations

import argparse
from typing import Any

from plc_emulator.cli._common import BadInput
from plc_emulator.engine.blocks import SignalKind
from plc_emulator.engine.plant import compile_plan, load_plant
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
        print(f"  level {g.level}  {g.kind:<18} x{len(g.units):<3} {', '.join(g.units)}")
    return 0
