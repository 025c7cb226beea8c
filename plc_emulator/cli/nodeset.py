"""``plc-emulator nodeset TAGMAP -o plant.xml``: the OPC UA address space as NodeSet2 XML."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "nodeset", help="export the OPC UA address space as NodeSet2 XML",
        description="Write the plant's OPC UA address space (objects, typed variables, EU/EURange, "
                    "state names, methods) as NodeSet2 XML for modelling tools or another server.")
    p.add_argument("tagmap", metavar="TAGMAP", help="tag map YAML")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="NodeSet2 XML file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plc_emulator.cli._common import BadInput
    from plc_emulator.opcua.nodeset import export_nodeset
    from plc_emulator.tagmap import load

    tagmap = load(args.tagmap)  # TagMapError -> exit 2, one line per problem
    try:
        count = asyncio.run(export_nodeset(tagmap, args.output))
    except OSError as exc:
        raise BadInput(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {count} nodes to {args.output}", file=sys.stderr)
    return 0
