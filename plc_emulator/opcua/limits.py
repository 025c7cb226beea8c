"""Limits that protect the OPC UA server, the login guard and rate-limited logging (no asyncua import).

Every limit is checked **before** the server spends memory or time on a request: a message larger
than a chunk is refused from its 8-byte header, an operation count from the array length in front of
the request's items, a monitored item before asyncua creates it. The values are advertised in the
address space (``Server/ServerCapabilities`` and its ``OperationLimits``, OPC UA Part 5 6.3.2/6.3.11)
so well-behaved clients split their requests themselves.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = ["LoginGuard", "OpcUaLimits", "RateLimitedLog", "Rejection", "RejectionCounter"]


class Rejection(StrEnum):
    """Why a request was refused; the ``reason`` label of ``plc_opcua_rejected_requests_total``."""

    MESSAGE_TOO_LARGE = "message_too_large"         # BadTcpMessageTooLarge
    TOO_MANY_SESSIONS = "too_many_sessions"         # BadTooManySessions
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"  # BadTooManySubscriptions
    TOO_MANY_MONITORED_ITEMS = "too_many_monitored_items"  # BadTooManyMonitoredItems
    TOO_MANY_OPERATIONS = "too_many_operations"     # BadTooManyOperations
    CERTIFICATE = "certificate"                     # BadCertificate* (untrusted, expired, ...)
    LOGIN = "login"                                 # BadUserAccessDenied on ActivateSession
    LOGIN_BACKOFF = "login_backoff"                 # refused while the user/address is backing off
    WRITE = "write"                                 # a rejected write item (range, type, role, node)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpcUaLimits:
    """Server limits. Defaults fit 10,000 tags subscribed in one subscription (created in calls of 100)."""

    max_sessions: int = 50
    max_subscriptions: int = 200
    max_subscriptions_per_session: int = 10
    max_monitored_items: int = 25_000
    max_monitored_items_per_subscription: int = 12_000
    # Per call: asyncua decodes and encodes a request on the event loop that also serves Modbus, in
    # pure Python (~15 us per monitored item, ~10 us per written value, 3-4x that on a loaded machine;
    # docs/opcua.md, "Limits and isolation"). These keep one request well under 10 ms of loop time.
    max_monitored_items_per_call: int = 100
    max_monitored_items_per_node: int = 100      # server-wide; not a Part 5 property (see docs)
    max_nodes_per_read: int = 500
    max_nodes_per_write: int = 250
    max_nodes_per_browse: int = 250
    max_nodes_per_method_call: int = 100
    max_nodes_per_translate: int = 250
    max_nodes_per_register: int = 250
    max_nodes_per_history_read: int = 100
    max_nodes_per_node_management: int = 0       # AddNodes/DeleteNodes are not offered
    max_chunk_size: int = 65_535                 # receive buffer (bytes per chunk)
    max_message_size: int = 16 * 1024 * 1024     # bytes per message, all chunks
    max_hello_size: int = 8_192                  # HEL: 32-byte header + endpoint URL (<= 4096)
    max_pending_logins: int = 4                  # password checks waiting for the hashing thread

    @property
    def max_chunk_count(self) -> int:
        return -(-self.max_message_size // self.max_chunk_size)

    @classmethod
    def unlimited(cls) -> OpcUaLimits:
        """asyncua's own behaviour (for the isolation spike's before/after comparison only)."""
        big = 2**31 - 1
        return cls(max_sessions=big, max_subscriptions=big, max_subscriptions_per_session=big,
                   max_monitored_items=big, max_monitored_items_per_subscription=big,
                   max_monitored_items_per_call=big, max_monitored_items_per_node=big,
                   max_nodes_per_read=big, max_nodes_per_write=big,
                   max_nodes_per_browse=big, max_nodes_per_method_call=big, max_nodes_per_translate=big,
                   max_nodes_per_register=big, max_nodes_per_history_read=big, max_chunk_size=65_535,
                   max_message_size=100 * 1024 * 1024, max_hello_size=2**32 - 1, max_pending_logins=big)


@dataclass
class RejectionCounter:
    """Refused requests by reason (read by /metrics)."""

    counts: Counter[Rejection] = field(default_factory=Counter)

    def add(self, reason: Rejection, n: int = 1) -> None:
        self.counts[reason] += n


class RateLimitedLog:
    """One line per key per interval: the first event is logged, the rest are counted and summed up
    in one line when the next interval starts (a flood of 20,000 bad items is two lines, not 20,000)."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval = interval
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, suppressed)

    def __call__(self, level: int, key: str, msg: str, *args: object, n: int = 1) -> None:
        now = self._clock()
        start, suppressed = self._windows.get(key, (-1e18, 0))
        if now - start < self._interval:
            self._windows[key] = (start, suppressed + n)
            return
        if suppressed:
            self._log.log(level, "%s suppressed=%d in the last %.0f s", key, suppressed, now - start)
        self._windows[key] = (now, n - 1)
        self._log.log(level, msg, *args)


_BACKOFF_FREE: Final = 3        # failures before any delay
_BACKOFF_BASE: Final = 0.5      # seconds after the first delayed failure, doubled per failure
_BACKOFF_MAX: Final = 30.0
_FORGET_AFTER: Final = 600.0    # a key with no failure for this long starts clean


class LoginGuard:
    """Per-user and per-address failure counts -> how long the next attempt must wait.

    After ``_BACKOFF_FREE`` failures of a user name or of a client address, each further attempt is
    answered only after 0.5 s, 1 s, 2 s ... (at most 30 s) - whichever of the two keys is worse. A
    success clears the user's count. Unknown users count like known ones (no enumeration).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._fails: dict[str, tuple[int, float]] = {}  # key -> (failures, last failure time)

    def _count(self, key: str, now: float) -> int:
        n, last = self._fails.get(key, (0, now))
        if now - last > _FORGET_AFTER:
            self._fails.pop(key, None)
            return 0
        return n

    def delay(self, user: str, address: str) -> float:
        now = self._clock()
        n = max(self._count(f"u:{user}", now), self._count(f"a:{address}", now))
        if n < _BACKOFF_FREE:
            return 0.0
        return float(min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** (n - _BACKOFF_FREE)))

    def failed(self, user: str, address: str) -> None:
        now = self._clock()
        for key in (f"u:{user}", f"a:{address}"):
            self._fails[key] = (self._count(key, now) + 1, now)
        if len(self._fails) > 10_000:  # bound memory under a spray of names/addresses
            for key in sorted(self._fails, key=lambda k: self._fails[k][1])[:5_000]:
                del self._fails[key]

    def succeeded(self, user: str) -> None:
        self._fails.pop(f"u:{user}", None)
