"""Backlog gauges tell the truth during a broker outage: they match the store, and /health says so."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from historian import ForwardConfig, Forwarder, Historian, HistorianConfig, MqttSink
from tests.historian.conftest import Broker

pytestmark = [pytest.mark.integration, pytest.mark.external]


async def _until(pred: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def _unforwarded(db: Path, sink: str) -> int:
    """The truth, straight from SQLite: rows above the sink's cursor not acknowledged."""
    with sqlite3.connect(db) as c:
        acked, live_from, live_acked = c.execute(
            "SELECT acked, live_from, live_acked FROM cursors WHERE sink=?", (sink,)).fetchone()
        n = int(c.execute("SELECT count(*) FROM samples WHERE seq>?", (acked,)).fetchone()[0])
        if live_from is not None:
            n -= int(c.execute("SELECT count(*) FROM samples WHERE seq>? AND seq<=?",
                               (live_from, live_acked)).fetchone()[0])
        return n


async def test_backlog_gauge_matches_count_during_outage(broker: Broker, tmp_path: Path) -> None:
    """Broker stopped: after each burst of rows the gauge equals SELECT count(*) of unforwarded rows,
    the oldest-unforwarded age grows with the data, and /health fails past the configured bound."""
    db = tmp_path / "h.db"
    hist = Historian(db, HistorianConfig(commit_interval=0.05))
    cfg = ForwardConfig(poll_interval=0.05, backoff_initial=0.2, backoff_max=5.0, gauge_interval=0.1,
                        max_backlog_age=60.0, publish_timeout=1.0)
    fwd = Forwarder(db, MqttSink(broker.url, plant="m", timeout=1.0), cfg)
    task = asyncio.create_task(fwd.run())
    t = 1000.0
    try:
        hist.record_many((f"D.t{i % 4}", t + i * 0.1, float(i), 0) for i in range(100))
        await _until(lambda: fwd.metrics().forwarded_rows == 100 and fwd.metrics().backlog_rows == 0, 10,
                     "first rows forwarded")
        broker.stop()
        await _until(lambda: not fwd.connected, 10, "disconnect noticed")
        seen = []
        for burst in range(4):
            t += 10.0
            hist.record_many((f"D.t{i % 4}", t + i * 0.01, float(i), 0) for i in range(250))
            assert hist.flush()
            want = await asyncio.to_thread(_unforwarded, db, fwd.sink.name)
            assert want == 250 * (burst + 1)
            await _until(lambda w=want: fwd.metrics().backlog_rows == w, 3,  # type: ignore[misc]
                         f"gauge = {want} while disconnected")
            seen.append(fwd.metrics().oldest_unforwarded_age_seconds)
        assert not fwd.connected
        assert seen == sorted(seen), seen
        assert seen[-1] > seen[0] > 0, seen
        assert fwd.health()[0], fwd.health()
        t += 60.0  # the oldest unforwarded sample is now 90 s older than the newest (bound 60 s)
        hist.record_value("D.t0", t, 1.0)
        assert hist.flush()
        await _until(lambda: not fwd.health()[0], 3, "health failing on an old backlog")
        assert "rows unforwarded, oldest" in fwd.health()[1]
        broker.start()
        await _until(lambda: fwd.metrics().backlog_rows == 0, 20, "drained")
        assert await asyncio.to_thread(_unforwarded, db, fwd.sink.name) == 0
        assert fwd.health()[0]
    finally:
        fwd.stop()
        await asyncio.wait_for(task, 10)
        hist.close()
