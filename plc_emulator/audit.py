"""Audit records: who changed what, from where, with which result - one type for every interface.

Every write and method call a client makes (OPC UA now; Modbus and HTTP through the same call) is
turned into one :class:`AuditRecord` and handed to :meth:`AuditLog.record`, which logs it (one
``audit`` line) and passes it to every sink registered with :meth:`AuditLog.add_sink` (the runtime
registers the historian's event table; the OPC UA server raises AuditWriteUpdateEvent /
AuditUpdateMethodEvent). A failing sink is logged once and never stops the others or the write.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["AuditAction", "AuditLog", "AuditRecord"]

log = logging.getLogger("plc_emulator.audit")


class AuditAction(StrEnum):
    WRITE = "write"
    CALL = "call"


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, bool | int | float | str) or v is None:
        return v
    return str(v)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One client action. ``user`` is the authenticated name (None: anonymous); ``client`` the peer
    address; ``result`` the protocol's status name (Good, BadUserAccessDenied, IllegalDataValue ...)."""

    interface: str                 # opcua, modbus, http
    action: AuditAction
    target: str                    # tag key, node id or method name
    user: str | None
    client: str
    old: Any = None
    new: Any = None
    result: str = "Good"
    time: float = field(default_factory=time.time)  # wall clock, Unix seconds

    @property
    def ok(self) -> bool:
        return self.result == "Good"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["action"] = self.action.value
        d["old"], d["new"] = _plain(self.old), _plain(self.new)
        return d


class AuditLog:
    """Fan-out of audit records to the log and the registered sinks."""

    def __init__(self) -> None:
        self._sinks: list[Callable[[AuditRecord], None]] = []
        self._failed: set[int] = set()
        self.count = 0

    def add_sink(self, sink: Callable[[AuditRecord], None]) -> None:
        self._sinks.append(sink)

    def record(self, rec: AuditRecord) -> None:
        self.count += 1
        # accepted changes always; refused ones at debug (a flood is summed up by the server's refusal log)
        log.log(logging.INFO if rec.ok else logging.DEBUG,
                "audit interface=%s action=%s target=%s user=%s client=%s old=%s new=%s result=%s",
                 rec.interface, rec.action.value, rec.target, rec.user or "anonymous", rec.client,
                 _plain(rec.old), _plain(rec.new), rec.result)
        for i, sink in enumerate(self._sinks):
            try:
                sink(rec)
            except Exception:  # a sink must not stop a write or the other sinks
                if i not in self._failed:
                    self._failed.add(i)
                    log.exception("audit.sink_failed sink=%d", i)
