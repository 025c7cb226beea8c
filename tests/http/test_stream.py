"""SSE: one change set per scan encoded once for every client; a stalled client never stalls the scan."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp
import pytest

from plc_emulator.tagmap.model import TagMap
from tests.http.conftest import Rig, rig

pytestmark = pytest.mark.integration


async def next_event(resp: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]]:
    while True:
        block = (await resp.content.readuntil(b"\n\n")).decode()
        if block.startswith(":"):
            continue  # keep-alive comment
        fields = dict(line.split(": ", 1) for line in block.strip().splitlines())
        return fields["event"], json.loads(fields["data"])


async def test_snapshot_then_only_what_changed(plant: Rig) -> None:
    async with plant.session.get(plant.base + "/stream") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        kind, snap = await next_event(resp)
        assert kind == "snapshot"
        assert len(snap["values"]) == len(plant.plc.tagmap.tags)
        t0 = snap["tick"]
        await plant.call("PUT", "/tags/SEP-V100.LIC100_SP", body={"value": 44})
        kind, ch = await next_event(resp)  # PLC memory semantics: the write is served at once, same tick
        assert kind == "changes"
        assert ch["tick"] == t0
        assert ch["values"]["SEP-V100.LIC100_SP"] == [44.0, 0]
        assert "PLC.esd_trip" not in ch["values"]  # unchanged tags are not sent
        assert ch["sim"]["paused"] is True
        assert ch["alarms"]["transitions"] == []
        await plant.step()
        kind, ch = await next_event(resp)
        assert kind == "changes"
        assert ch["tick"] == t0 + 1
        assert "SEP-V100.LIC100_SP" not in ch["values"]  # the engine took the value already served
        await plant.call("POST", "/faults", body={"action": "trip_pump"})
        await plant.step()
        kind, ch = await next_event(resp)
        assert any(t["alarm"] == "PMP-P100.status.TRIPPED" and t["new"] == "UNACKED"
                   for t in ch["alarms"]["transitions"])


async def test_fifty_clients_one_encoding_per_scan(plant: Rig) -> None:
    stats = plant.http.broadcaster.stats
    async with contextlib_sessions(50) as sessions:
        streams = [await s.get(plant.base + "/stream") for s in sessions]
        for r in streams:
            assert (await next_event(r))[0] == "snapshot"
        encodes0, snaps0 = stats.encodes, stats.snapshot_encodes
        ticks = 10
        for _ in range(ticks):
            await plant.step()
        for r in streams:
            got = [await next_event(r) for _ in range(ticks)]
            assert [k for k, _ in got] == ["changes"] * ticks
        assert stats.encodes - encodes0 == ticks  # not 50 x ticks
        assert stats.snapshot_encodes == snaps0
        assert stats.clients == 50
        for r in streams:
            r.close()


class contextlib_sessions:
    def __init__(self, n: int) -> None:
        self.sessions = [aiohttp.ClientSession() for _ in range(n)]

    async def __aenter__(self) -> list[aiohttp.ClientSession]:
        return self.sessions

    async def __aexit__(self, *exc: object) -> None:
        for s in self.sessions:
            await s.close()


async def test_a_stalled_client_drops_to_a_snapshot_and_the_scan_goes_on(tagmap: TagMap) -> None:
    async with rig(tagmap) as plant:  # no historian: more scans per second, the buffers fill sooner
        await _stall(plant)


async def _stall(plant: Rig) -> None:
    stats = plant.http.broadcaster.stats
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader: a small window
    sock.connect(("127.0.0.1", plant.http.port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    try:
        async with asyncio.timeout(10):
            await reader.readuntil(b"event: snapshot")  # the server is serving this client now
        # shrink the server side of this connection's buffers too (a slow link), so a few scans fill them
        assert plant.http._runner is not None
        assert plant.http._runner.server is not None
        for handler in plant.http._runner.server.connections:
            transport = handler.transport
            if transport is not None:
                transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
                transport.set_write_buffer_limits(high=16384)
        # never read: the socket buffers fill, the client's task blocks on write, its backlog overflows
        t0 = plant.plc.tick
        plant.plc.set_speed(0)
        plant.plc.resume()
        async with asyncio.timeout(60):  # re-checked at every scan, no sleeping
            await plant.plc.wait_until(lambda _s: stats.clients == 1 and stats.dropped_to_snapshot >= 1)
        plant.plc.pause()
        client = next(iter(plant.http.broadcaster._clients))
        assert len(client.pending) <= plant.http.settings.stream_client_buffer
        assert plant.plc.tick > t0 + 2 * plant.http.settings.stream_client_buffer  # the scan never waited
        # once it reads again it gets a snapshot, then changes
        async with asyncio.timeout(20):
            data = b""
            while b"event: snapshot" not in data:  # the first one was consumed above
                data += await reader.read(1 << 20)
    finally:
        writer.close()
