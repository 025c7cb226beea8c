"""Rate-limited warnings: at most one line per event name per interval, with the count suppressed.

A flood of bad clients (thousands of refused connections a second) must not become a flood of log
lines; the counters in /metrics carry the exact numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["RateLimitedLog"]

_log = structlog.get_logger("plc_emulator.modbus")


class RateLimitedLog:
    def __init__(self, interval: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, event: str, **fields: Any) -> bool:
        """Log ``event`` unless it was logged less than ``interval`` ago; True when a line was written."""
        now = self._clock()
        if now - self._last.get(event, -1e18) < self.interval:
            self._suppressed[event] = self._suppressed.get(event, 0) + 1
            return False
        self._last[event] = now
        _log.warning(event, suppressed=self._suppressed.pop(event, 0), **fields)
        return True
