"""The Modbus TCP adapter: an asyncio server in front of :class:`ModbusService` (see docs/modbus.md).

Each connection has its own frame buffer, so garbage, a half frame or a hang-up on one connection
never reaches another. Pipelined requests are answered in order with one write per received
segment. A client that stops reading is paused (transport flow control) instead of growing our
buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from pymodbus.pdu.device import ModbusDeviceIdentification

from plc_emulator.image.codec import RegisterImage
from plc_emulator.modbus.frames import FrameBuffer, FramingError, mbap
from plc_emulator.modbus.service import ModbusService, ModbusStats, PlcLike
from plc_emulator.tagmap.model import TagMap

__all__ = ["ModbusAdapter"]


class _Connection(asyncio.Protocol):
    __slots__ = ("_adapter", "_frames", "_service", "_stats", "transport")

    def __init__(self, adapter: ModbusAdapter) -> None:
        self._adapter = adapter
        self._service = adapter.service
        self._stats = adapter.stats
        self._frames = FrameBuffer()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._adapter._connections.add(self)
        self._stats.connected_clients += 1
        self._stats.connections_total += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self._adapter._connections:
            self._adapter._connections.discard(self)
            self._stats.connected_clients -= 1
        self.transport = None

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        skipped = self._frames.skipped
        try:
            requests = self._frames.feed(data)
        except FramingError:
            self._stats.framing_errors += 1
            transport.abort()
            return
        if self._frames.skipped != skipped:
            self._stats.skipped_frames += self._frames.skipped - skipped
        if not requests:
            return
        handle = self._service.handle
        out: list[bytes] = []
        for req in requests:
            resp = handle(req.unit, req.pdu)
            if resp is not None:
                out.append(mbap(req.tid, req.unit, resp))
        if out:
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()


class ModbusAdapter:
    """Serve ``plc``'s current snapshot over Modbus TCP.

    ``async with ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0) as mb:`` listens until the
    block ends; ``mb.port`` is the bound port, ``mb.stats`` the counters exported to Prometheus.
    ``plc`` provides ``.snapshot`` and a thread-safe ``.submit(cmd)`` (``.submit_many`` is used
    when present so a multi-point write is queued atomically). ``unit_id`` overrides the tag map's.
    """

    def __init__(self, tagmap: TagMap, plc: PlcLike, host: str = "127.0.0.1", port: int = 0,
                 unit_id: int | None = None, *, image: RegisterImage | None = None,
                 identity: ModbusDeviceIdentification | None = None) -> None:
        self.tagmap = tagmap
        self.host = host
        self.requested_port = port
        self.stats = ModbusStats()
        self.service = ModbusService(tagmap, plc, unit_id=unit_id, image=image, stats=self.stats,
                                     identity=identity)
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self.port = 0

    @property
    def unit_id(self) -> int:
        return self.service.unit_id

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.requested_port,
                                                reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), timeout=5.0)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
