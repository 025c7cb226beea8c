"""The OPC UA TCP transport with limits: asyncua's protocol, processor and binary server, guarded.

What asyncua 2.1 does not do, done here before any memory or time is spent:

* **Message size from the header.** asyncua buffers a message until the size its header declares has
  arrived (a HEL declaring 4 GB and then streaming zeros is kept whole). :class:`GuardedProtocol`
  reads the 8-byte header first and answers a HEL larger than ``max_hello_size`` or any chunk larger
  than ``max_chunk_size`` with an ERR message BadTcpMessageTooLarge and closes the connection.
* **Operation counts from the array length.** Read, Write, Call, TranslateBrowsePaths,
  RegisterNodes and CreateMonitoredItems carry their item count in front of the items;
  :class:`GuardedProcessor` reads that count and refuses the whole request with BadTooManyOperations
  before asyncua decodes a single item.
* **Password checks off the event loop.** asyncua checks ActivateSession's user token synchronously
  on the loop (scrypt: ~100 ms each). The processor verifies the password in a worker thread first,
  with per-user/per-address backoff (:class:`.limits.LoginGuard`), and hands the verdict to the user
  manager, which then answers at once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asyncua import ua
from asyncua.common.utils import Buffer, ServiceError
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua.ua_binary import header_from_binary, struct_from_binary, uatcp_to_binary

from plc_emulator.opcua.limits import OpcUaLimits, RateLimitedLog, Rejection, RejectionCounter

__all__ = ["Guard", "GuardedBinaryServer"]

log = logging.getLogger(__name__)


def _enc(object_id: int) -> ua.NodeId:
    return ua.NodeId(object_id)


@dataclass
class Guard:
    """What the guarded transport needs: limits, counters, the log and the async login check."""

    limits: OpcUaLimits
    rejections: RejectionCounter = field(default_factory=RejectionCounter)
    ratelog: RateLimitedLog = field(default_factory=lambda: RateLimitedLog(log))
    # (user, password, peer address) -> verdict; set by the adapter when a users file is given
    check_login: Callable[[str, str, str], Awaitable[bool]] | None = None
    verdicts: dict[tuple[str, str], bool] = field(default_factory=dict)

    def refuse(self, reason: Rejection, detail: str, n: int = 1) -> None:
        self.rejections.add(reason, n)
        self.ratelog(logging.WARNING, f"opcua.refused.{reason.value}", "opcua.refused reason=%s %s",
                     reason.value, detail, n=n)


# Request type -> (bytes before the item array, limit attribute, Part 5 name). The array length is an
# Int32 right after those bytes (Part 6 5.2.5).
_COUNTED: dict[ua.NodeId, tuple[int, str]] = {
    _enc(ua.ObjectIds.ReadRequest_Encoding_DefaultBinary): (12, "max_nodes_per_read"),  # MaxAge, Timestamps
    _enc(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary): (0, "max_nodes_per_write"),
    _enc(ua.ObjectIds.CallRequest_Encoding_DefaultBinary): (0, "max_nodes_per_method_call"),
    _enc(ua.ObjectIds.TranslateBrowsePathsToNodeIdsRequest_Encoding_DefaultBinary): (0, "max_nodes_per_translate"),
    _enc(ua.ObjectIds.RegisterNodesRequest_Encoding_DefaultBinary): (0, "max_nodes_per_register"),
    _enc(ua.ObjectIds.CreateMonitoredItemsRequest_Encoding_DefaultBinary): (8, "max_monitored_items_per_call"),
    _enc(ua.ObjectIds.ModifyMonitoredItemsRequest_Encoding_DefaultBinary): (8, "max_monitored_items_per_call"),
    _enc(ua.ObjectIds.DeleteMonitoredItemsRequest_Encoding_DefaultBinary): (4, "max_monitored_items_per_call"),
    _enc(ua.ObjectIds.AddNodesRequest_Encoding_DefaultBinary): (0, "max_nodes_per_node_management"),
    _enc(ua.ObjectIds.DeleteNodesRequest_Encoding_DefaultBinary): (0, "max_nodes_per_node_management"),
}
_ACTIVATE = _enc(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)


def item_count(body: Buffer, skip: int) -> int | None:
    """The Int32 array length ``skip`` bytes into ``body`` (not consumed); None if absent."""
    peek = body.copy()
    try:
        peek.skip(skip)
        (n,) = struct.unpack("<i", peek.read(4))
    except Exception:
        return None
    return int(n)


class GuardedProcessor(UaProcessor):
    guard: Guard

    async def _process_message(self, typeid: ua.NodeId, requesthdr: Any, seqhdr: Any, body: Buffer) -> Any:
        counted = _COUNTED.get(typeid)
        if counted is not None:
            skip, attr = counted
            n = item_count(body, skip)
            limit = int(getattr(self.guard.limits, attr))
            if n is not None and n > limit:
                self.guard.refuse(Rejection.TOO_MANY_OPERATIONS, f"peer={self.name} items={n} limit={limit} "
                                  f"({attr})")
                raise ServiceError(ua.StatusCodes.BadTooManyOperations)
        elif typeid == _ACTIVATE and self.guard.check_login is not None and self.session is not None:
            await self._check_password(body)
        return await super()._process_message(typeid, requesthdr, seqhdr, body)

    async def _check_password(self, body: Buffer) -> None:
        """Verify a UserName token in a worker thread; the user manager then reads the verdict."""
        assert self.guard.check_login is not None
        assert self.session is not None
        try:
            params = struct_from_binary(ua.ActivateSessionParameters, body.copy())
            token = params.UserIdentityToken
            if not isinstance(token, ua.UserNameIdentityToken):
                return
            user, password = self.iserver.decrypt_user_token(self.session, token)
        except Exception:
            return
        peer = str(self.name[0]) if isinstance(self.name, tuple) else str(self.name)
        ok = await self.guard.check_login(str(user), str(password), peer)
        self.guard.verdicts[(str(user), str(password))] = ok


class GuardedProtocol(OPCUAProtocol):
    guard: Guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inbox = bytearray()
        self._refused = False
        super().connection_made(transport)
        if self.processor is not None:  # None: refused at max_connections
            # the same processor asyncua makes, with the request checks in front
            processor = GuardedProcessor(self.iserver, self.transport, self.limits)
            processor.set_policies(self.policies)
            processor.guard = self.guard
            self.processor = processor

    def data_received(self, data: bytes) -> None:
        if self._refused or self.transport is None:
            return
        inbox = self._inbox
        inbox += data
        limits = self.guard.limits
        while len(inbox) >= 8:
            kind = bytes(inbox[:3])
            (size,) = struct.unpack_from("<I", inbox, 4)
            limit = limits.max_hello_size if kind == b"HEL" else limits.max_chunk_size
            if size > limit or size < 8:
                self._refuse(kind, size, limit)
                return
            if len(inbox) < size:
                return
            buf = Buffer(bytes(inbox[:size]))
            del inbox[:size]
            try:
                header = header_from_binary(buf)
            except Exception:
                log.debug("opcua.malformed_header peer=%s", self.peer_name)
                self.transport.close()
                return
            try:
                self.messages.put_nowait((header, buf))
            except asyncio.QueueFull:
                self.guard.ratelog(logging.WARNING, "opcua.inbox_full", "opcua.inbox_full peer=%s",
                                   self.peer_name)
                self.transport.close()
                return

    def _refuse(self, kind: bytes, size: int, limit: int) -> None:
        self._refused = True
        self._inbox = bytearray()
        self.guard.refuse(Rejection.MESSAGE_TOO_LARGE, f"peer={self.peer_name} type={kind!r} size={size} "
                          f"limit={limit}")
        err = ua.ErrorMessage(ua.StatusCode(ua.StatusCodes.BadTcpMessageTooLarge),
                              f"message of {size} bytes exceeds the limit of {limit}")
        assert self.transport is not None
        self.transport.write(uatcp_to_binary(ua.MessageType.Error, err))
        self.transport.close()


class GuardedBinaryServer(BinaryServer):
    """asyncua's BinaryServer making :class:`GuardedProtocol` connections."""

    guard: Guard

    def _make_protocol(self) -> OPCUAProtocol:
        proto = GuardedProtocol(iserver=self.iserver, policies=self._policies, clients=self.clients,
                                closing_tasks=self.closing_tasks, limits=self.limits)
        proto.guard = self.guard
        return proto
