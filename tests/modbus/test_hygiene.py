"""Connection hygiene: limits per listener and per address, idle and frame timeouts, metrics, logs.

The scale test runs the REAL runtime (PlcRuntime + Modbus + HTTP): 1,000 idle connections are
refused or held without slowing a polling client or /health, and produce a handful of log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from structlog.testing import capture_logs

from plc_emulator.modbus import ModbusAdapter
from plc_emulator.modbus.config import Limits, default_max_connections
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.http import HttpServer
from plc_emulator.runtime.metrics import Metrics
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.modbus.conftest import RawClient, until
from tests.modbus.fakeplc import FakePlc

pytestmark = [pytest.mark.asyncio, pytest.mark.uvloop]  # also on uvloop (conftest.py)
READ = struct.pack(">BHH", 3, 0, 2)


@asynccontextmanager
async def adapter(fake_plc: FakePlc, limits: Limits) -> AsyncIterator[ModbusAdapter]:
    async with ModbusAdapter(fake_plc.tagmap, fake_plc, limits=limits) as mb:
        yield mb


async def refused(port: int) -> bool:
    """Open a connection; True if the server drops it at once (reset or EOF) without serving it."""
    c = await RawClient.open(port)
    try:
        await c.send(c.frame(READ))
        return await c.closed_by_peer(2.0)
    except ConnectionError:
        return True
    finally:
        with contextlib.suppress(ConnectionError):
            await c.close()


async def test_per_address_and_listener_limits(fake_plc: FakePlc) -> None:
    async with adapter(fake_plc, Limits(max_connections=5, max_per_address=3)) as mb:
        held = [await RawClient.open(mb.port) for _ in range(3)]
        assert await refused(mb.port)  # a 4th from 127.0.0.1
        for c in held:
            assert (await c.call(READ))[0] == 3  # the three are still served
        assert mb.stats.connections_refused == 1
        for c in held:
            await c.close()
    async with adapter(fake_plc, Limits(max_connections=2, max_per_address=10)) as mb:
        held = [await RawClient.open(mb.port) for _ in range(2)]
        for c in held:
            assert (await c.call(READ))[0] == 3
        assert await refused(mb.port)
        await held[0].close()
        await until(lambda: mb.stats.connected_clients <= 1, what="the server to see the close")
        again = await RawClient.open(mb.port)  # a slot came free
        assert (await again.call(READ))[0] == 3
        await again.close()
        await held[1].close()


async def test_idle_connection_is_closed_and_a_polling_one_is_not(fake_plc: FakePlc) -> None:
    async with adapter(fake_plc, Limits(idle_timeout=0.3, frame_timeout=0)) as mb:
        idle, poller = await RawClient.open(mb.port), await RawClient.open(mb.port)
        t0 = time.monotonic()

        async def poll() -> int:
            n = 0
            while time.monotonic() - t0 < 1.0:
                assert (await poller.call(READ))[0] == 3
                n += 1
                await asyncio.sleep(0.05)
            return n

        polls, closed = await asyncio.gather(poll(), idle.closed_by_peer(3.0))
        assert closed
        assert time.monotonic() - t0 >= 0.3
        assert polls >= 10
        assert mb.stats.idle_closed == 1
        await poller.close()


async def test_half_sent_frame_is_closed_after_the_frame_timeout(fake_plc: FakePlc) -> None:
    async with adapter(fake_plc, Limits(idle_timeout=0, frame_timeout=0.3)) as mb:
        c = await RawClient.open(mb.port)
        frame = c.frame(READ)
        t0 = time.monotonic()
        await c.send(frame[:5])  # slowloris: a header, never the rest
        await asyncio.sleep(0.1)
        await c.send(frame[5:7])
        assert await c.closed_by_peer(3.0)
        assert time.monotonic() - t0 >= 0.3
        assert mb.stats.frame_timeouts == 1


async def test_valid_request_then_bad_length_in_one_segment_is_answered_then_closed(raw: RawClient) -> None:
    good = raw.frame(READ)
    bad = struct.pack(">HHHB", 99, 0, 999, 1) + b"\x03\x00\x00\x00\x01"
    await raw.send(good + bad)
    tid, unit, pdu = await raw.recv()
    assert (tid, unit, pdu[0]) == (raw.tid, 1, 3)
    assert await raw.closed_by_peer()


async def test_default_limits_follow_the_descriptor_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 8 <= default_max_connections() <= 256
    if soft != resource.RLIM_INFINITY:
        assert default_max_connections() <= max(8, soft // 4)


async def test_thousand_idle_clients_do_not_hurt_polling_or_health_on_the_real_runtime() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 3000
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"descriptor hard limit {hard} < {want}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    tagmap = load(str(DEFAULT_TAGMAP))
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        async with (PlcRuntime(tagmap, RuntimeConfig(speed=1.0)) as plc,
                    ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0,
                                  limits=Limits(max_connections=256, max_per_address=200)) as mb):
            metrics = Metrics(plc)
            metrics.add_modbus(mb.stats)
            async with HttpServer(plc, metrics, host="127.0.0.1", port=0) as http:
                poller = await RawClient.open(mb.port)

                async def latency() -> float:
                    t = time.perf_counter()
                    assert (await poller.call(READ))[0] == 3
                    return time.perf_counter() - t

                before = sorted([await latency() for _ in range(50)])
                with capture_logs() as logs:
                    for _ in range(1000):
                        idle.append(await asyncio.wait_for(asyncio.open_connection("127.0.0.1", mb.port), 5))
                    during = sorted([await latency() for _ in range(50)])
                    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", http.port), 5)
                    w.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    health = await asyncio.wait_for(r.read(), 5)
                    w.close()
                assert health.startswith(b"HTTP/1.1 200"), health[:80]
                await until(lambda: mb.stats.connected_clients + mb.stats.connections_refused >= 1001,
                            what="every connect to reach the server")
                assert mb.stats.connected_clients == 200  # the poller + 199 idle: the per-address limit
                assert mb.stats.connections_refused == 801
                assert during[-1] < max(0.1, 20 * before[len(before) // 2])
                lines = [e for e in logs if e["event"] == "modbus.connection_refused"]
                assert 1 <= len(lines) <= 3  # rate-limited: not one line per refused connection
                text = metrics.render().decode()
                assert "plc_modbus_connections_refused_total" in text or "plc_modbus_connections_refused" in text
                await poller.close()
    finally:
        for _, w in idle:
            w.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        Limits(max_per_address=0)
    with pytest.raises(ValueError, match=">= 0 s"):
        Limits(idle_timeout=-1)
