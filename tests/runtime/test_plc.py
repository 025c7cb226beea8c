"""PlcRuntime: command queue, journal, lockstep pause/step, runtime.* control points, callbacks."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.errors import EmulatorError, WriteRejected
from plc_emulator.image.writes import validate_write
from plc_emulator.runtime import PlcRuntime, RuntimeConfig, RuntimeStopped, read_journal
from plc_emulator.tagmap.model import TagMap
from tests.runtime.conftest import SP_TAG, column, journal_lines, running

BOUND = 30.0  # s: upper bound on any wait in this module (a hang fails instead of blocking the suite)


class TestWrites:
    async def test_accepted_write_in_next_snapshot_and_journal(self, tagmap: TagMap, tmp_path: Path) -> None:
        """A validated write submitted while paused is applied at the next tick and journaled with it."""
        journal = tmp_path / "run.jsonl"
        col = column(tagmap, SP_TAG)
        async with running(tagmap, journal=journal) as plc:
            async with asyncio.timeout(BOUND):
                await plc.wait_tick(plc.step(3))
            before = float(plc.snapshot.values[col])
            target = 63.5 if before != 63.5 else 41.5
            plc.submit(validate_write(tagmap.tag(SP_TAG), target, source="modbus"))
            assert plc.queue_depth == 1
            async with asyncio.timeout(BOUND):
                snap = await plc.wait_tick(plc.step(1))
            assert snap.tick == 4
            assert float(snap.values[col]) == target
            assert [c.target for c in snap.commands] == [tagmap.tag(SP_TAG).signal]
            assert plc.queue_depth == 0
            # flushed per batch: on disk before the context exits
            entries = [json.loads(line) for line in journal_lines(journal)[1:]]
            signal = tagmap.tag(SP_TAG).signal
            assert entries == [{"tick": 4, "kind": "write", "target": signal, "value": target, "params": {},
                                "source": "modbus"}]
        parsed = read_journal(journal)
        assert parsed.header.tagmap_sha256 == tagmap.sha256
        assert parsed.header.seed == tagmap.seed
        assert parsed.end_tick == 4

    async def test_rejected_write_changes_nothing(self, tagmap: TagMap) -> None:
        """An out-of-limits write is refused before the queue: the run's digest is as if it never came."""
        digests = []
        for attempt in (False, True):
            async with running(tagmap) as plc:
                async with asyncio.timeout(BOUND):
                    await plc.wait_tick(plc.step(2))
                if attempt:
                    with pytest.raises(WriteRejected, match="OUT_OF_RANGE"):
                        plc.submit(validate_write(tagmap.tag(SP_TAG), 99.0, source="modbus"))
                    assert plc.queue_depth == 0
                async with asyncio.timeout(BOUND):
                    snap = await plc.wait_tick(plc.step(5))
                assert plc.stats.commands_applied == 0
                digests.append(snap.digest)
        assert digests[0] == digests[1]

    async def test_commands_apply_in_arrival_order(self, tagmap: TagMap) -> None:
        """Two writes to the same point in one tick: the later one wins, both are applied in order."""
        col = column(tagmap, SP_TAG)
        tag = tagmap.tag(SP_TAG)
        async with running(tagmap) as plc:
            plc.submit(validate_write(tag, 30.0, source="a"))
            plc.submit(validate_write(tag, 70.0, source="b"))
            async with asyncio.timeout(BOUND):
                snap = await plc.wait_tick(plc.step(1))
        assert [c.source for c in snap.commands] == ["a", "b"]
        assert float(snap.values[col]) == 70.0

    async def test_stop_drains_the_queue(self, tagmap: TagMap, tmp_path: Path) -> None:
        """Commands still queued at shutdown are applied in one final tick and journaled before end_tick."""
        journal = tmp_path / "j.jsonl"
        async with running(tagmap, journal=journal) as plc:
            plc.submit(validate_write(tagmap.tag(SP_TAG), 55.0, source="modbus"))
        assert plc.snapshot.tick == 1
        parsed = read_journal(journal)
        assert [(e.tick, e.command.value) for e in parsed.entries] == [(1, 55.0)]
        assert parsed.end_tick == 1
        with pytest.raises(RuntimeStopped):
            plc.submit(validate_write(tagmap.tag(SP_TAG), 56.0))


class TestLockstep:
    async def test_step_advances_exactly_n(self, tagmap: TagMap) -> None:
        """step(3) + step(4) reach tick 7 and no further: the next single step lands on 8."""
        async with running(tagmap) as plc:
            assert plc.step(3) == 3
            assert plc.step(4) == 7
            async with asyncio.timeout(BOUND):
                snap = await plc.wait_tick(7)
            assert snap.tick == 7
            async with asyncio.timeout(BOUND):
                snap = await plc.wait_tick(plc.step(1))
            assert snap.tick == 8
            assert plc.stats.ticks == 8

    async def test_runtime_step_write_not_journaled(self, tagmap: TagMap, tmp_path: Path) -> None:
        """A client write of N to runtime.step advances N ticks; runtime.* never reaches the journal."""
        journal = tmp_path / "j.jsonl"
        step_tag = next(t for t in tagmap.tags if t.signal == "runtime.step")
        async with running(tagmap, journal=journal) as plc:
            plc.submit(validate_write(step_tag, 5, source="modbus"))
            async with asyncio.timeout(BOUND):
                await plc.wait_tick(5)
            async with asyncio.timeout(BOUND):
                snap = await plc.wait_tick(plc.step(1))
            assert snap.tick == 6
            assert plc.stats.commands_applied == 0
        assert read_journal(journal).entries == ()

    async def test_pause_write_republishes_the_pacing_points(self, tagmap: TagMap) -> None:
        """Writing runtime.paused = 1 pauses and the current snapshot shows it without a new tick."""
        paused_tag = next(t for t in tagmap.tags if t.signal == "runtime.paused")
        col = column(tagmap, paused_tag.key)
        async with running(tagmap, paused=False, speed=0.0) as plc:
            async with asyncio.timeout(BOUND):
                await plc.wait_tick(3)
            plc.submit(Command(kind=CommandKind.WRITE, target="runtime.paused", value=1.0, source="modbus"))
            assert plc.paused
            async with asyncio.timeout(BOUND):
                await plc.wait_until(lambda s: float(s.values[col]) == 1.0)
            held = plc.snapshot.tick
            target = plc.step(1)  # a tick already running when the write came still completes
            assert target in (held + 1, held + 2)
            async with asyncio.timeout(BOUND):
                snap = await plc.wait_tick(target)
            assert snap.tick == target
            assert float(snap.values[col]) == 1.0

    async def test_started_paused_shows_in_the_tick0_snapshot(self, tagmap: TagMap) -> None:
        """The pacing points of the first snapshot reflect the configuration (paused, speed 0)."""
        col_p = column(tagmap, next(t.key for t in tagmap.tags if t.signal == "runtime.paused"))
        col_s = column(tagmap, next(t.key for t in tagmap.tags if t.signal == "runtime.speed"))
        async with running(tagmap, speed=0.0) as plc, asyncio.timeout(BOUND):
            snap = await plc.wait_until(lambda s: float(s.values[col_p]) == 1.0)
            assert snap.tick == 0
            assert float(snap.values[col_s]) == 0.0
            assert snap.digest == plc.cycle.snapshot.digest  # pacing points are not in the digest

    async def test_resume_and_speed_max(self, tagmap: TagMap) -> None:
        """Resumed at speed 0 (max) it runs far faster than real time (200 ticks = 20 s simulated)."""
        async with running(tagmap) as plc:
            plc.set_speed(0)
            plc.resume()
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            async with asyncio.timeout(BOUND):
                await plc.wait_tick(200)
            elapsed = loop.time() - t0
            assert elapsed < 200 * tagmap.scan_period / 4  # at least 4x real time, even on a loaded machine
            assert not plc.paused

    async def test_bad_speed_and_step_are_refused(self, tagmap: TagMap) -> None:
        async with running(tagmap) as plc:
            with pytest.raises(ValueError, match="speed must be"):
                plc.set_speed(-1)
            with pytest.raises(ValueError, match="speed must be"):
                plc.set_speed(float("nan"))
            with pytest.raises(ValueError, match="step count"):
                plc.step(0)

    async def test_wait_tick_raises_when_the_run_ends_first(self, tagmap: TagMap) -> None:
        """stop_at_tick ends the run: waiting for a later tick fails instead of hanging."""
        async with running(tagmap, paused=False, speed=0.0, stop_at_tick=10) as plc:
            with pytest.raises(RuntimeStopped, match="tick 10"):
                async with asyncio.timeout(BOUND):
                    await plc.wait_tick(11)
            assert plc.reached_end
            assert plc.snapshot.tick == 10


class TestCallbacks:
    async def test_callbacks_see_every_tick_and_errors_are_counted(self, tagmap: TagMap) -> None:
        """on_snapshot runs after each publish in the scan thread; a raising callback does not stop scans."""
        seen: list[tuple[int, str]] = []

        def record(snap: object) -> None:
            seen.append((snap.tick, threading.current_thread().name))  # type: ignore[attr-defined]

        def broken(_snap: object) -> None:
            raise RuntimeError("boom")

        plc = PlcRuntime(tagmap, RuntimeConfig(paused=True))
        plc.on_snapshot(record)
        plc.on_snapshot(broken)
        async with plc, asyncio.timeout(BOUND):
            await plc.wait_tick(plc.step(4))
            # tick 0 is published again at start (it shows "paused"), then one call per tick
            assert plc.stats.callback_errors == 5
        assert seen == [(t, "plc[engine].scan") for t in (0, 1, 2, 3, 4)]

    async def test_scan_thread_crash_surfaces(self, tagmap: TagMap) -> None:
        """If the scan itself fails, join() and the context exit re-raise it and health reports it."""

        def failing_step(*_a: object, **_k: object) -> None:
            raise ArithmeticError("engine blew up")

        plc = PlcRuntime(tagmap, RuntimeConfig(paused=True))
        await plc.start()
        plc.cycle.step = failing_step  # type: ignore[method-assign,assignment]
        plc.step(1)
        async with asyncio.timeout(BOUND):
            with pytest.raises(EmulatorError, match=r"scan thread crashed.*engine blew up"):
                await plc.join()
        health = plc.health()
        assert not health.ok
        assert "engine blew up" in health.reason
        assert not plc.running
