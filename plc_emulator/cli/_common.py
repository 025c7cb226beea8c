"""Shared command-line helpers: durations, ports and the flag > env > tag map > default rule."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

__all__ = ["BadInput", "add_db_arg", "db_path", "env_or", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_SCALE = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class BadInput(ValueError):
    """Raised for bad command-line input; the CLI prints it and exits with status 2."""


def parse_duration(text: str | float | int) -> float:
    """``500ms``, ``30s``, ``2h``, ``7d`` (or a bare number of seconds) -> seconds."""
    if isinstance(text, int | float):
        return float(text)
    m = _DURATION.match(str(text))
    if not m:
        raise BadInput(f"not a duration: {text!r} (use e.g. 500ms, 30s, 2h, 7d)")
    return float(m.group(1)) * _SCALE[m.group(2)]


def duration_arg(text: str) -> float:
    """argparse ``type=`` wrapper around :func:`parse_duration`."""
    try:
        return parse_duration(text)
    except BadInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def env_or(flag: object, env: str, fallback: object) -> object:
    """A flag beats an environment variable, which beats the tag map or built-in fallback."""
    if flag is not None:
        return flag
    if env in os.environ and os.environ[env] != "":
        return os.environ[env]
    return fallback


def add_db_arg(p: argparse.ArgumentParser) -> None:
    """``--db FILE``: the historian database, the same way for ``trend`` and ``historian``."""
    p.add_argument(
        "--db",
        default=None,
        metavar="FILE",
        help="historian database (default $DATA_DIR/historian.db, ./data/historian.db)",
    )


def db_path(flag: str | None) -> Path:
    """The historian database: ``--db``, else ``$DATA_DIR/historian.db``, else ``./data/historian.db``."""
    if flag:
        return Path(flag)
    return Path(str(env_or(None, "DATA_DIR", "data"))) / "historian.db"
