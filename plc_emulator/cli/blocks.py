"""``plc-emulator blocks``: the block library (parameters, units, defaults, ports, signals)."""

from __future__ import annotations

import argparse
from typing import Any

from plc_emulator.cli._common import BadInput
from plc_emulator.engine.blocks import LIBRARY
from plc_emulator.engine.blocks._doc import block_markdown, library_markdown
from plc_emulator.tagmap._reader import did_you_mean

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "blocks",
        help="list the block library for plant files (parameters, units, defaults, signals)",
        description="Print the block library as Markdown: every block kind with its parameters (unit, "
        "default, physical range), initial conditions, ports and signals. docs/blocks.md holds the same.",
    )
    p.add_argument("kind", nargs="?", help="only this block kind")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.kind is None:
        print(library_markdown(LIBRARY), end="")
        return 0
    spec = LIBRARY.get(args.kind)
    if spec is None:
        raise BadInput(f"unknown block {args.kind!r}{did_you_mean(args.kind, LIBRARY)}; "
                       f"known: {', '.join(LIBRARY)}")
    print("\n".join(block_markdown(spec)).rstrip())
    return 0
