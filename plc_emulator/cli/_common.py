"""Shared command-line helpers: durations, ports and the flag > env > tag map > default rule."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

__all__ = ["MAX_RUN_SECONDS", "BadInput", "add_db_arg", "check_text_file", "check_ticks", "db_path", "env_or",
           "parse_duration"]

# The longest run any command accepts, in simulated time: ten years. Beyond it a typo (1e12 ticks)
# would otherwise look like a hang.
MAX_RUN_SECONDS = 10 * 365 * 86400.0

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


def check_ticks(ticks: float, dt: float, what: str) -> float:
    """``ticks`` if in 0..MAX_RUN_SECONDS/dt, else BadInput naming ``what`` (no run that looks hung)."""
    limit = int(MAX_RUN_SECONDS / dt)
    if not 0 <= ticks <= limit:  # NaN, negative, too long
        raise BadInput(f"{what} is {ticks:g} ticks of {dt:g} s; at most {limit} ticks (10 years) are allowed")
    return ticks


def check_text_file(path: str, what: str) -> None:
    """A readable regular UTF-8 text file, or one BadInput line (a FIFO would block, binary would crash)."""
    from plc_emulator.tagmap._loader import special_file_kind

    kind = special_file_kind(path)
    if kind is not None:
        raise BadInput(f"{what} {path} is {kind}, not a regular file")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise BadInput(f"{what} {path} is not UTF-8 text (byte 0x{byte:02x} at offset {exc.start})") from None
