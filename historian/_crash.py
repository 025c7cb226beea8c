"""Test hook: die (SIGKILL) at a named point, to test what a kill at exactly that moment leaves.

``PLC_EMULATOR_KILL_AT=historian-commit:3`` kills the process inside the third historian commit
(after the rows are written, before COMMIT); ``checkpoint-rename:2`` between the second checkpoint's
fsync and its rename. Unset (always, outside tests) this is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["crash_point"]

_SPEC = os.environ.get("PLC_EMULATOR_KILL_AT", "")
_NAME, _, _NTH = _SPEC.partition(":")
_COUNTS: dict[str, int] = {}
_LOCK = threading.Lock()


def crash_point(name: str) -> None:
    if not _SPEC or name != _NAME:
        return
    with _LOCK:
        _COUNTS[name] = n = _COUNTS.get(name, 0) + 1
    if n >= int(_NTH or 1):
        os.kill(os.getpid(), signal.SIGKILL)
