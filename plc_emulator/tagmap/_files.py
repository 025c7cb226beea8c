"""Bounded reading of the text files the loaders parse (tag maps, plant files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from plc_emulator.errors import TagMapError

__all__ = ["MAX_FILE_BYTES", "read_text_file", "special_file_kind"]

MAX_FILE_BYTES = 16 * 2**20


def special_file_kind(path: str | Path) -> str | None:
    """``"a FIFO"``, ``"a character device"``... for a path that is not a regular file or directory
    (reading one could block forever); None otherwise, also when it does not exist."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return None


def read_text_file(path: str | Path, what: str, error: type[TagMapError] = TagMapError) -> tuple[str, bytes]:
    """Bounded read of a UTF-8 text file for a loader: ``(text, raw bytes)``, or ``error`` with one
    ``FILE:LINE:COL`` line (special file, directory, unreadable, too large, not UTF-8)."""
    name = str(path)
    kind = special_file_kind(path)
    if kind is not None:
        raise error([f"{name}:1:1: cannot read the {what}: it is {kind}, not a regular file"])
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # bounded: /dev/zero or a huge file must not hang us
    except IsADirectoryError:
        raise error([f"{name}:1:1: cannot read the {what}: it is a directory"]) from None
    except OSError as exc:
        raise error([f"{name}:1:1: cannot read the {what}: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise error([f"{name}:1:1: cannot read the {what}: larger than {MAX_FILE_BYTES // 2**20} MiB"])
    try:
        return data.decode("utf-8-sig"), data
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            [f"{name}:{line}:{col}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"]
        ) from None
