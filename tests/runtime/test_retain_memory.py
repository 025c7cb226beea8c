"""Retentive PLC memory: free memory registers (``mem.*``, docs/modbus.md) survive a warm restart by
default, as setpoints do; a cold restart starts them from their initial value; watchdog points do not."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.runtime import PlcRuntime
from plc_emulator.runtime.checkpoint import StartMode, read_checkpoint
from plc_emulator.runtime.epoch import EpochPlan
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import TagMap
from tests.modbus.test_memory_points import memory_map
from tests.runtime.conftest import column, running

WALL = 1_800_000_000.0


@pytest.fixture(scope="module")
def mem_tagmap(tmp_path_factory: pytest.TempPathFactory) -> TagMap:
    return load(str(memory_map(tmp_path_factory.mktemp("mem"))))


def test_memory_registers_are_retained_by_default_watchdog_points_are_not(mem_tagmap: TagMap) -> None:
    retain = {t.signal: t.retain for t in mem_tagmap.tags}
    assert retain["mem.buffer"]
    assert retain["mem.flag"]
    assert not retain["wd.hmi.counter"]
    assert not retain["hs.recipe.cmd"]
    assert not retain["comm.tcp.fault"]


async def _run_then_restart(tagmap: TagMap, path: Path, mode: StartMode) -> tuple[float, float]:
    async with running(tagmap, checkpoint_path=path, epoch=EpochPlan(), wall_clock=lambda: WALL) as plc:
        plc.submit_many([Command(kind=CommandKind.WRITE, target="mem.buffer", value=1234.5, source="test"),
                         Command(kind=CommandKind.WRITE, target="wd.hmi.counter", value=7.0, source="test")])
        plc.step(5)
        await asyncio.wait_for(plc.wait_tick(5), 10)
    ck = read_checkpoint(path)
    plc2 = PlcRuntime(tagmap, dataclasses.replace(PlcRuntime(tagmap).config, paused=True, restore=ck,
                                                  start_mode=mode, epoch=EpochPlan(),
                                                  wall_clock=lambda: WALL + 60.0))
    await plc2.start()
    try:
        plc2.step(1)
        snap = await asyncio.wait_for(plc2.wait_tick(ck.tick + 1), 10)
    finally:
        plc2.stop()
        await plc2.join()
    return (float(snap.values[column(tagmap, "MEM.buffer")]), float(snap.values[column(tagmap, "MEM.wd_counter")]))


async def test_warm_restart_keeps_a_memory_register(mem_tagmap: TagMap, tmp_path: Path) -> None:
    buffer, counter = await _run_then_restart(mem_tagmap, tmp_path / "plc.checkpoint", StartMode.WARM)
    assert buffer == 1234.5
    assert counter == 0.0  # a watchdog counter is not retentive


async def test_cold_restart_resets_a_memory_register(mem_tagmap: TagMap, tmp_path: Path) -> None:
    buffer, _ = await _run_then_restart(mem_tagmap, tmp_path / "plc.checkpoint", StartMode.COLD)
    assert buffer == 0.0
