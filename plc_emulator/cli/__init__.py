"""`plc-emulator` entry point: one vocabulary for every subcommand (docs/runtime.md, command line).

Each subcommand lives in its own module in this package and exposes ``register(subparsers)``, which
adds its parser and sets ``func=handler``; ``handler(args) -> int`` returns the exit status. Modules
are discovered, so adding a subcommand touches no shared file.

Exit status: 0 success, 2 bad input (tag map, arguments), 1 anything else. Errors are one clear line
each, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from plc_emulator import __version__
from plc_emulator.cli._common import BadInput
from plc_emulator.errors import EmulatorError, TagMapError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="plc-emulator", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"plc-emulator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
        module = importlib.import_module(f"{__name__}.{mod}")
        module.register(sub)
    return parser


# options whose value may be a negative relative time (``--from -3min``); argparse would take
# ``-3min`` for an option, so such a value is glued to its option (``--from=-3min``) before parsing
_DASH_VALUE_OPTIONS = ("--from", "--to")


def join_dash_values(argv: Sequence[str]) -> list[str]:
    """``[--from, -3min]`` -> ``[--from=-3min]`` for the options that take relative times."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if tok in _DASH_VALUE_OPTIONS and len(nxt) > 1 and nxt[0] == "-" and (nxt[1].isdigit() or nxt[1] == "."):
            out.append(f"{tok}={nxt}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_dash_values(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args))
    except TagMapError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except BadInput as exc:
        print(f"plc-emulator: error: {exc}", file=sys.stderr)
        return 2
    except EmulatorError as exc:
        print(f"plc-emulator: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`plc-emulator blocks | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not raise again
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
