"""``plc-emulator fleet``: check and expand a fleet file (docs/fleet.md).

    plc-emulator fleet validate FLEET                 one summary line, or every problem and exit 2
    plc-emulator fleet expand FLEET [--shard I/K] [--format text|csv|json|targets] [--host HOST]
    plc-emulator fleet schema                         the JSON Schema of the fleet format

``--shard I/K`` keeps the RTUs shard I of K serves (0-based, like a StatefulSet pod ordinal).
``--format targets`` prints what a master polls, ``HOST PORT UNIT START COUNT`` per RTU (all its
holding registers), the input of the C fleet poller ``tools/mbfleet/mbfleet``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter
from typing import Any

from plc_emulator.cli._common import BadInput

__all__ = ["COLUMNS", "register"]

COLUMNS = ("id", "tagmap", "seed", "modbus_port", "unit", "gateway", "opcua", "historian", "scenario",
           "parameters")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("fleet", help="check a fleet file of many RTUs, print its expanded RTU table",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="fleet_command", metavar="COMMAND", parser_class=type(p))
    sub.required = True
    v = sub.add_parser("validate", help="check a fleet file; one summary line, or every problem (exit 2)")
    v.add_argument("fleet", metavar="FLEET", help="fleet YAML file")
    v.set_defaults(func=_validate)
    e = sub.add_parser("expand", help="print one row per RTU after templates are expanded")
    e.add_argument("fleet", metavar="FLEET", help="fleet YAML file")
    e.add_argument("--shard", default=None, metavar="I/K", help="only the RTUs of shard I of K (0-based)")
    e.add_argument("--format", choices=("text", "csv", "json", "targets"), default="text",
                   help="output format (targets: HOST PORT UNIT START COUNT lines for tools/mbfleet)")
    e.add_argument("--host", default="127.0.0.1", help="host to put in --format targets lines")
    e.set_defaults(func=_expand)
    s = sub.add_parser("schema", help="print the JSON Schema (draft 2020-12) of the fleet format")
    s.set_defaults(func=_schema)


def _load(path: str) -> Any:
    from plc_emulator.fleet import load_fleet

    return load_fleet(path)  # FleetError -> every problem on stderr, exit 2 (plc_emulator.cli.main)


def summary(fleet: Any) -> str:
    rtus = fleet.rtus
    own = sum(1 for r in rtus if r.modbus.gateway is None)
    tagmaps = Counter(r.tagmap.name for r in rtus)
    plants = ", ".join(f"{n} x {name}" for name, n in sorted(tagmaps.items()))
    return (f"ok: fleet {fleet.name}: {len(rtus)} RTUs ({plants}); {own} on own ports, {len(rtus) - own} on "
            f"{len(fleet.gateways)} gateways; {sum(r.opcua for r in rtus)} with OPC UA, "
            f"{sum(r.historian for r in rtus)} with historian; seed {fleet.seed}")


def _validate(args: argparse.Namespace) -> int:
    print(summary(_load(args.fleet)))
    return 0


def _row(rtu: Any) -> dict[str, Any]:
    return {
        "id": rtu.id, "tagmap": str(rtu.tagmap), "seed": rtu.seed, "modbus_port": rtu.modbus.port,
        "unit": rtu.modbus.unit, "gateway": rtu.modbus.gateway or "", "opcua": rtu.opcua,
        "historian": rtu.historian, "scenario": str(rtu.scenario) if rtu.scenario else "",
        "parameters": {k: rtu.parameters[k] for k in sorted(rtu.parameters)},
    }


def _expand(args: argparse.Namespace) -> int:
    from plc_emulator.fleet import parse_shard, shard_rtus

    fleet = _load(args.fleet)
    rtus = fleet.rtus
    if args.shard is not None:
        try:
            index, count = parse_shard(args.shard)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        rtus = shard_rtus(fleet, index, count)
    if args.format == "targets":
        from plc_emulator.fleet.targets import poll_lines
        from plc_emulator.tagmap import load

        print("\n".join(poll_lines(rtus, args.host, load)))
        return 0
    rows = [_row(r) for r in rtus]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    if args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow(dict(row, parameters=" ".join(f"{k}={v:.6g}" for k, v in row["parameters"].items())))
        print(buf.getvalue(), end="")
        return 0
    print(f"{'id':<14} {'modbus':<22} {'seed':>20} {'opcua':<5} {'hist':<5} tagmap / parameters")
    for rtu, row in zip(rtus, rows, strict=True):
        params = " ".join(f"{k}={v:.6g}" for k, v in row["parameters"].items())
        print(f"{rtu.id:<14} {rtu.modbus!s:<22} {rtu.seed:>20} {rtu.opcua!s:<5} {rtu.historian!s:<5} "
              f"{rtu.tagmap.name} {params}".rstrip())
    return 0


def _schema(args: argparse.Namespace) -> int:
    from plc_emulator.fleet import build_schema

    print(json.dumps(build_schema(), indent=2))
    return 0
