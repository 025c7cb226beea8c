"""Fixtures for the OPC UA tests: a fake PLC + the real adapter + an asyncua client, on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from asyncua import Client, ua

from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.tagmap.model import TagMap
from tests.opcua.fakes import FakePlc, make_tagmap


@dataclass
class Plant:
    tagmap: TagMap
    plc: FakePlc
    adapter: OpcUaAdapter
    client: Client
    ns: int

    def node(self, node_id: str) -> object:
        return self.client.get_node(ua.NodeId(node_id, self.ns))

    async def settle(self, limit: float = 10.0) -> int:
        """Wait until the adapter has published the PLC's current snapshot; return its tick."""
        deadline = time.monotonic() + limit
        while True:
            tick = self.plc.snapshot.tick
            if self.adapter.publisher.last_tick == tick:
                return tick
            if time.monotonic() > deadline:
                raise TimeoutError(f"adapter stuck at tick {self.adapter.publisher.last_tick}, plc at {tick}")
            await asyncio.sleep(0.005)

    async def pause(self) -> int:
        self.plc.pause()
        t = -1
        # the scan thread may finish one tick that was already running
        for _ in range(100):
            t2 = await self.settle()
            if t2 == t:
                return t
            t = t2
            await asyncio.sleep(0.02)
        return t


async def wait_for(cond: Callable[[], bool], limit: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def tagmap() -> TagMap:
    return make_tagmap()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_plant(tagmap: TagMap) -> AsyncIterator[Plant]:
    """One fake PLC + adapter + client per test module (asyncua's init alone takes 1-3 s)."""
    plc = FakePlc(tagmap).start()
    adapter = OpcUaAdapter(tagmap, plc)
    await adapter.start()
    client = Client(adapter.endpoint, timeout=10)
    try:
        await client.connect()
        ns = await client.get_namespace_index(tagmap.opcua.namespace_uri)
        yield Plant(tagmap=tagmap, plc=plc, adapter=adapter, client=client, ns=ns)
    finally:
        await client.disconnect()
        await adapter.stop()
        plc.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def plant(shared_plant: Plant) -> Plant:
    """The module's plant, reset: running at speed 1, no faults, nothing queued or recorded."""
    plc = shared_plant.plc
    with plc._cond:
        plc._faults.clear()
        plc._held.clear()
        plc._queue.clear()
        plc.submitted.clear()
        plc._steps = 0
    plc.set_speed(1.0)
    plc.resume()
    await plc.wait_tick(plc.tick + 1)
    await shared_plant.settle()
    return shared_plant
