"""Audit records raised as OPC UA events: AuditWriteUpdateEventType for writes, AuditUpdateMethodEventType
for method calls (Part 5 6.4.26 / 6.4.30), emitted by the Server object, with Server.Auditing = true.

:class:`AuditEvents` is an :class:`plc_emulator.audit.AuditLog` sink: it queues the record (at most
1,000 waiting; more are counted as dropped) and one task triggers the events in order, so a write
never waits for event delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any

from asyncua import Server, ua

from plc_emulator.audit import AuditAction, AuditRecord

__all__ = ["AuditEvents"]

log = logging.getLogger(__name__)

_MAX_WAITING = 1000


def _variant(v: Any) -> ua.Variant:
    if isinstance(v, bool):
        return ua.Variant(v, ua.VariantType.Boolean)
    if isinstance(v, int):
        return ua.Variant(v, ua.VariantType.Int64)
    if isinstance(v, float):
        return ua.Variant(v, ua.VariantType.Double)
    if v is None:
        return ua.Variant()
    return ua.Variant(str(v), ua.VariantType.String)


class AuditEvents:
    def __init__(self, server: Server, source_of: Any) -> None:
        self.server = server
        self.source_of = source_of  # target -> (NodeId, SourceName)
        self._gens: dict[AuditAction, Any] = {}
        self._waiting: deque[AuditRecord] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.dropped = 0

    async def start(self) -> None:
        server_node = self.server.nodes.server
        await self.server.write_attribute_value(ua.NodeId(ua.ObjectIds.Server_Auditing),
                                                ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
        self._gens[AuditAction.WRITE] = await self.server.get_event_generator(
            ua.NodeId(ua.ObjectIds.AuditWriteUpdateEventType), server_node)
        self._gens[AuditAction.CALL] = await self.server.get_event_generator(
            ua.NodeId(ua.ObjectIds.AuditUpdateMethodEventType), server_node)
        for gen in self._gens.values():  # subtypes of builtin types asyncua cannot encode by NodeId
            for fname, vtype in (("ActionTimeStamp", ua.VariantType.DateTime), ("IndexRange", ua.VariantType.String)):
                if fname in gen.event.data_types:
                    gen.event.data_types[fname] = vtype
        self._task = asyncio.create_task(self._run(), name="opcua[audit-events]")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def __call__(self, rec: AuditRecord) -> None:
        if len(self._waiting) >= _MAX_WAITING:
            self.dropped += 1
            return
        self._waiting.append(rec)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                rec = self._waiting.popleft()
                try:
                    await self._trigger(rec)
                    self.sent += 1
                except Exception:  # an event that cannot be built must not stop the others
                    log.exception("opcua.audit_event_failed target=%s", rec.target)

    async def _trigger(self, rec: AuditRecord) -> None:
        gen = self._gens[rec.action]
        ev = gen.event
        node, name = self.source_of(rec.target)
        ev.SourceNode = node
        ev.SourceName = name
        ev.ActionTimeStamp = datetime.fromtimestamp(rec.time, UTC)
        ev.Status = rec.ok
        ev.ServerId = "plc-emulator"
        ev.ClientAuditEntryId = rec.client
        ev.ClientUserId = rec.user or "anonymous"
        ev.Severity = 100 if rec.ok else 300
        # BaseDataType fields: asyncua needs a concrete VariantType per field to encode them
        if rec.action is AuditAction.WRITE:
            ev.AttributeId = int(ua.AttributeIds.Value)
            for fname, value in (("OldValue", rec.old), ("NewValue", rec.new)):
                var = _variant(value)
                setattr(ev, fname, var.Value)
                ev.data_types[fname] = var.VariantType
        else:
            ev.MethodId = node
            ev.InputArguments = [str(a) for a in (rec.new if isinstance(rec.new, list) else [])]
            ev.data_types["InputArguments"] = ua.VariantType.String
        who = rec.user or "anonymous"
        await gen.trigger(message=f"{rec.action.value} {rec.target} by {who} from {rec.client}: {rec.result}")
