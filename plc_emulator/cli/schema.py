"""``plc-emulator schema``: print the JSON Schema (draft 2020-12) of the tag map format."""

from __future__ import annotations

import argparse
from typing import Any

from plc_emulator.tagmap import schema_text

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of the tag map format",
        description="Print the JSON Schema (draft 2020-12) of the tag map format, for editors "
        "(e.g. the YAML language server: # yaml-language-server: $schema=FILE).",
    )
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return 0
