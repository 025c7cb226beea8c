"""HTTP /health (scans on time + registered checks) and /metrics (Prometheus text)."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from plc_emulator.image.snapshot import Snapshot
from plc_emulator.runtime.http import HttpServer
from plc_emulator.runtime.metrics import Metrics
from plc_emulator.tagmap.model import TagMap
from tests.runtime.conftest import running

pytestmark = pytest.mark.integration


async def _get(port: int, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}") as r:
        body = await (r.json() if path == "/health" else r.text())
        return r.status, body


async def _poll_health(port: int, want: int, deadline: float) -> dict[str, Any]:
    """Bounded poll of /health until it answers ``want`` (fails at the deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    status, body = await _get(port, "/health")
    while status != want:
        assert loop.time() < end, f"/health stayed {status}: {body}"
        await asyncio.sleep(0.05)
        status, body = await _get(port, "/health")
    return dict(body)


class TestHealth:
    async def test_503_while_scans_are_held_up(self, tagmap: TagMap) -> None:
        """A callback that blocks the scan thread makes /health 503 (late), and overruns keep it 503."""
        gate = threading.Event()
        hold = threading.Event()

        def stall(_snap: Snapshot) -> None:
            if hold.is_set():
                gate.wait(20)

        async with running(tagmap, paused=False, speed=1.0) as plc:
            plc.on_snapshot(stall)
            metrics = Metrics(plc)
            async with HttpServer(plc, metrics, host="127.0.0.1", port=0) as http:
                body = await _poll_health(http.port, 200, 10)
                assert body["status"] == "ok"
                hold.set()
                body = await _poll_health(http.port, 503, 10)
                assert body["status"] == "unhealthy"
                assert body["reason"].startswith("scan late")
                hold.clear()
                gate.set()
                # the held scan overran its period: still unhealthy, now because overruns grew
                async with asyncio.timeout(10):
                    await plc.wait_until(lambda s: plc.stats.overruns > 0)
                status, body = await _get(http.port, "/health")
                assert status == 503
                assert "overruns increasing" in body["reason"]

    async def test_paused_is_healthy_and_checks_count(self, tagmap: TagMap) -> None:
        """Paused on purpose is healthy; a failing registered check (e.g. the historian) makes it 503."""
        async with running(tagmap) as plc, HttpServer(plc, Metrics(plc), host="127.0.0.1", port=0) as http:
            status, body = await _get(http.port, "/health")
            assert (status, body["reason"]) == (200, "paused")
            state = {"ok": True}
            http.add_health_check("historian", lambda: (state["ok"], "writer behind by 12 s"))
            assert (await _get(http.port, "/health"))[0] == 200
            state["ok"] = False
            status, body = await _get(http.port, "/health")
            assert status == 503
            assert body["reason"] == "historian: writer behind by 12 s"

            def broken() -> tuple[bool, str]:
                raise OSError("disk gone")

            state["ok"] = True
            http.add_health_check("broken", broken)
            status, body = await _get(http.port, "/health")
            assert status == 503
            assert "disk gone" in body["reason"]


class TestMetrics:
    async def test_metrics_parse_and_track_the_scan(self, tagmap: TagMap) -> None:
        """/metrics parses with prometheus_client's parser; counts follow the runtime and Modbus stats."""
        modbus_stats = SimpleNamespace(requests={3: 7, 16: 2}, exceptions={(3, 2): 1}, connected_clients=2,
                                       connections_total=5)
        async with running(tagmap) as plc:
            metrics = Metrics(plc)
            metrics.add_modbus(modbus_stats)

            def hook() -> list[GaugeMetricFamily]:
                g = GaugeMetricFamily("historian_backlog_rows", "rows not yet forwarded")
                g.add_metric([], 42)
                return [g]

            metrics.add_collector(hook)
            async with asyncio.timeout(30):
                await plc.wait_tick(plc.step(6))
            async with HttpServer(plc, metrics, host="127.0.0.1", port=0) as http:
                status, text = await _get(http.port, "/metrics")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in families.values() for s in f.samples}
        assert families["plc_scan_duration_seconds"].type == "histogram"
        assert samples[("plc_scan_duration_seconds_count", ())] == 6
        assert samples[("plc_scan_duration_seconds_bucket", (("le", "+Inf"),))] == 6
        assert samples[("plc_scans_total", ())] == 6
        assert samples[("plc_tick", ())] == 6
        assert samples[("plc_scan_overruns_total", ())] == 0
        assert samples[("plc_command_queue_depth", ())] == 0
        assert samples[("plc_paused", ())] == 1
        assert samples[("plc_modbus_requests_total", (("function_code", "3"),))] == 7
        assert samples[("plc_modbus_requests_total", (("function_code", "16"),))] == 2
        exc_labels = (("exception_code", "2"), ("function_code", "3"))
        assert samples[("plc_modbus_exceptions_total", exc_labels)] == 1
        assert samples[("plc_modbus_connected_clients", ())] == 2
        assert samples[("historian_backlog_rows", ())] == 42
