"""Fixtures: a Modbus adapter on 127.0.0.1:0 serving a fake PLC built from a real register image."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterator, Callable

import pytest

from plc_emulator.modbus import ModbusAdapter
from tests.image.maps import full_map
from tests.modbus.fakeplc import FakePlc

TIMEOUT = 5.0


class RawClient:
    """A bare socket client speaking MBAP by hand, every read bounded by a timeout."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.tid = 0

    @classmethod
    async def open(cls, port: int) -> RawClient:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
        return cls(r, w)

    def frame(self, pdu: bytes, unit: int = 1, tid: int | None = None, pid: int = 0) -> bytes:
        if tid is None:
            self.tid = (self.tid + 1) & 0xFFFF
            tid = self.tid
        return struct.pack(">HHHB", tid, pid, len(pdu) + 1, unit) + pdu

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, limit: float = TIMEOUT) -> tuple[int, int, bytes]:
        head = await asyncio.wait_for(self.reader.readexactly(7), limit)
        tid, pid, length, unit = struct.unpack(">HHHB", head)
        assert pid == 0
        pdu = await asyncio.wait_for(self.reader.readexactly(length - 1), limit)
        return tid, unit, pdu

    async def call(self, pdu: bytes, unit: int = 1) -> bytes:
        await self.send(self.frame(pdu, unit))
        tid, u, resp = await self.recv()
        assert (tid, u) == (self.tid, unit)
        return resp

    async def closed_by_peer(self, limit: float = TIMEOUT) -> bool:
        data = await asyncio.wait_for(self.reader.read(1024), limit)
        return data == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), TIMEOUT)


async def until(cond: Callable[[], bool], limit: float = TIMEOUT, what: str = "condition") -> None:
    """Poll a counter the server updates from its own callbacks, bounded by ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@pytest.fixture
def fake_plc() -> FakePlc:
    return FakePlc(full_map())


@pytest.fixture
async def adapter(fake_plc: FakePlc) -> AsyncIterator[ModbusAdapter]:
    async with ModbusAdapter(fake_plc.tagmap, fake_plc) as mb:
        yield mb


@pytest.fixture
async def raw(adapter: ModbusAdapter) -> AsyncIterator[RawClient]:
    c = await RawClient.open(adapter.port)
    yield c
    await c.close()


def pytest_asyncio_loop_factories(config: pytest.Config,
                                  item: pytest.Item) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests marked ``uvloop`` run on asyncio's loop and on uvloop (what ``plc-emulator run`` uses);
    ``PLC_TEST_LOOP=uvloop`` runs every Modbus test on uvloop only."""
    import uvloop

    if os.environ.get("PLC_TEST_LOOP") == "uvloop":
        return {"uvloop": uvloop.new_event_loop}
    if item.get_closest_marker("uvloop") is not None:
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
