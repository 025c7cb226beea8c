"""At speed 1 simulated time is UTC: the OPC UA SourceTimestamp of a value that changes every scan,
read at wall time T, lies in [T - 2 scan periods - 0.2 s, T + 0.2 s] (the real ``plc-emulator run``)."""

from __future__ import annotations

import asyncio
import importlib.util
import signal
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT


def _soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


async def test_source_timestamp_is_wall_time_at_speed_1() -> None:
    soak = _soak()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = await asyncio.to_thread(soak.start, Path(tmp))
        try:
            samples = await soak.timestamp_offsets(port, reads=15)
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 60)
    assert proc.returncode == 0
    assert soak.timestamps_ok(samples), [round(src - after, 3) for _, src, after in samples]


def test_timestamp_check_can_fail() -> None:
    """The window is tight: a value one second old or 0.3 s in the future is out."""
    soak = _soak()
    assert soak.timestamps_ok([(100.0, 99.9, 100.01)])
    assert not soak.timestamps_ok([(100.0, 99.0, 100.01)])
    assert not soak.timestamps_ok([(100.0, 100.31, 100.01)])


@pytest.mark.slow
def test_one_hour_soak() -> None:
    """RSS levels off (< 1 % growth over the last half hour) and timestamps are still on the wall clock."""
    report = _soak().soak(3600.0, 10.0)
    assert report["timestamps_ok"], report
    assert report["rss_growth_last_half_pct"] < 1.0, report
