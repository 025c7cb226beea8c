"""A write accepted while a scan runs, checkpointed, then kill -9 and a warm restart: the write is kept.

The failing sequence of ``test_restart_kill.py`` (slow) made deterministic: a Modbus write of a
retained setpoint arrives while the scan thread is inside a tick (engine step or snapshot
callbacks). It is queued for the next tick and shown at once (PLC memory), so the checkpoint
written at the end of that tick holds it in its ``memory`` header while the engine arrays still
hold the old value. The process is killed before the next checkpoint; the restart must come back
with the written value, not the one the engine had before the write.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.runtime import PlcRuntime
from plc_emulator.runtime.checkpoint import Checkpoint, StartMode, decode, restore
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.epoch import EpochPlan
from plc_emulator.runtime.recorder import HistorianService
from plc_emulator.scan import ScanCycle, Snapshot
from plc_emulator.tagmap.model import TagMap
from tests.runtime.conftest import column

WALL = 1_800_000_000.0
SP = "SEP-V100.LIC100_SP"  # LIC100.sp: an engine signal, retained by default
NOT_RETAINED = "PMP-P100.run_cmd"


class _Clock:
    """A fake monotonic clock: checkpoints fall due only when the test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _w(target: str, value: float) -> Command:
    return Command(kind=CommandKind.WRITE, target=target, value=value, source="modbus")


async def _checkpoint_with_pending_write(tagmap: TagMap, path: Path, writes: list[Command]) -> bytes:
    """Run to tick 10; during tick 11's callbacks accept ``writes`` and let a checkpoint fall due.

    Returns the checkpoint file's bytes right after that checkpoint: what a kill -9 before the next
    one leaves on disk.
    """
    clock = _Clock()
    cfg = RuntimeConfig(paused=True, clock=clock, checkpoint_path=path, checkpoint_interval=1.0,
                        epoch=EpochPlan(), wall_clock=lambda: WALL)
    async with PlcRuntime(tagmap, cfg) as plc:

        def mid_scan(snap: Snapshot) -> None:  # on the scan thread, between the engine step and the checkpoint
            if snap.tick == 11 and clock.now == 0.0:
                plc.submit_many(writes)
                clock.now = 5.0  # the checkpoint at the end of this tick is due

        plc.on_snapshot(mid_scan)
        plc.step(11)
        await asyncio.wait_for(plc.wait_tick(11), 10)
        assert plc.checkpoints is not None
        assert plc.checkpoints.flush(10)
        assert plc.checkpoints.stats.written == 1
        data = await asyncio.to_thread(path.read_bytes)
        assert plc.cycle.tick == 11  # the writes are still queued: not in the engine yet
    return data


async def _restart(tagmap: TagMap, ck: Checkpoint, mode: StartMode) -> tuple[Snapshot, Snapshot]:
    """The snapshot served before the first scan (``run`` resumes the scan thread only once its
    servers listen, so clients can read it), and the one after the first tick."""
    cfg = dataclasses.replace(RuntimeConfig(), paused=True, restore=ck, start_mode=mode, epoch=EpochPlan(),
                              wall_clock=lambda: WALL + 3600.0)
    async with PlcRuntime(tagmap, cfg) as plc:
        before = plc.snapshot
        plc.step(1)
        return before, await asyncio.wait_for(plc.wait_tick(ck.tick + 1), 10)


@pytest.mark.parametrize("mode", [StartMode.WARM, StartMode.HOT])
async def test_write_accepted_mid_scan_survives_kill_and_restart(tagmap: TagMap, tmp_path: Path,
                                                                  mode: StartMode) -> None:
    col = column(tagmap, SP)
    data = await _checkpoint_with_pending_write(tagmap, tmp_path / "plc.checkpoint", [_w("LIC100.sp", 35.0)])
    ck = decode(data, "killed.checkpoint")
    assert ck.tick == 11
    assert ck.header["memory"][SP] == 35.0  # what the test of the real run waits for
    before, after = await _restart(tagmap, ck, mode)
    assert float(before.values[col]) == 35.0  # what a client reading right after "ready" gets
    assert float(after.values[col]) == 35.0


async def test_cold_restart_drops_the_pending_write_and_warm_keeps_only_retained(tagmap: TagMap,
                                                                                 tmp_path: Path) -> None:
    sp, run = column(tagmap, SP), column(tagmap, NOT_RETAINED)
    assert not tagmap.tags[run].retain
    assert tagmap.tags[sp].retain
    data = await _checkpoint_with_pending_write(tagmap, tmp_path / "plc.checkpoint",
                                                [_w("LIC100.sp", 35.0), _w(tagmap.tags[run].signal, 0.0)])
    ck = decode(data, "killed.checkpoint")
    initial_sp = float(PlcRuntime(tagmap).snapshot.values[sp])
    initial_run = float(PlcRuntime(tagmap).snapshot.values[run])
    assert initial_sp != 35.0
    assert initial_run != 0.0
    for snap in await _restart(tagmap, ck, StartMode.COLD):
        assert float(snap.values[sp]) == initial_sp
    for snap in await _restart(tagmap, ck, StartMode.WARM):
        assert float(snap.values[sp]) == 35.0
        assert float(snap.values[run]) == initial_run  # not retained: initial value after a warm restart


async def test_a_checkpoint_without_pending_writes_restores_by_no_write(tagmap: TagMap, tmp_path: Path) -> None:
    """The memory header equals the engine's values when nothing was queued: a warm or hot restart
    then writes nothing to engine points (the fix only acts on writes that were still queued)."""
    data = await _checkpoint_with_pending_write(tagmap, tmp_path / "plc.checkpoint", [])
    ck = decode(data, "clean.checkpoint")
    for mode in (StartMode.WARM, StartMode.HOT):
        cmds = restore(ScanCycle(tagmap), ck, mode)
        assert [c.target for c in cmds if c.target in tagmap.catalogue] == []
    pending = decode(await _checkpoint_with_pending_write(tagmap, tmp_path / "p.checkpoint", [_w("LIC100.sp", 35.0)]),
                     "pending.checkpoint")
    cmds = restore(ScanCycle(tagmap), pending, StartMode.WARM)
    assert [(c.target, c.value) for c in cmds if c.target in tagmap.catalogue] == [("LIC100.sp", 35.0)]


def _restart_events(db: Path) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [d for (d,) in con.execute("SELECT data FROM events WHERE kind='restart'")]
    finally:
        con.close()


async def test_restart_event_is_committed_at_the_first_scan(tagmap: TagMap, tmp_path: Path) -> None:
    """The restart event is durable before the first scan after a restart ends: a kill -9 right
    after it (before the historian's time-triggered commit, 1 s later) keeps it."""
    ck = decode(await _checkpoint_with_pending_write(tagmap, tmp_path / "plc.checkpoint", []), "ck")
    cfg = dataclasses.replace(RuntimeConfig(), paused=True, restore=ck, epoch=EpochPlan(),
                              wall_clock=lambda: WALL + 3600.0)
    plc = PlcRuntime(tagmap, cfg)
    async with HistorianService(tagmap, plc, data_dir=tmp_path) as svc, plc:
        assert svc.historian is not None
        plc.step(1)
        await asyncio.wait_for(plc.wait_tick(ck.tick + 1), 10)
        events = await asyncio.to_thread(_restart_events, svc.path)  # what a kill -9 now leaves
        assert len(events) == 1
        assert json.loads(events[0])["checkpoint_tick"] == ck.tick
