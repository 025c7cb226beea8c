"""Simulated time starts at the wall clock (or a pinned epoch), is journaled, and replay matches."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from plc_emulator.cli.replay import replay
from plc_emulator.commands import Command, CommandKind
from plc_emulator.runtime.epoch import EpochPlan, parse_epoch, start_time
from plc_emulator.runtime.journal import read_journal
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap.model import TagMap
from tests.runtime.conftest import running

WALL = 1_800_000_123.456  # a fixed "now" (2027-01-15): far from the tag map's 2026-01-01 default


class TestStartTime:
    def test_rounded_down_to_the_scan_period(self) -> None:
        assert start_time(WALL, 0.1) == pytest.approx(1_800_000_123.4)
        assert start_time(WALL, 0.25) == pytest.approx(1_800_000_123.25)

    def test_never_at_or_behind_the_floor(self) -> None:
        floor = WALL + 30.0  # e.g. a speed-10 run stored samples ahead of UTC
        t = start_time(WALL, 0.1, floor)
        assert t > floor
        assert t - floor <= 0.1 + 1e-9

    @pytest.mark.parametrize(("text", "want"), [
        ("2026-03-01T06:00:00Z", 1772344800.0),
        ("2026-03-01T06:00:00", 1772344800.0),  # no zone means UTC
        ("2026-03-01T07:00:00+01:00", 1772344800.0),
        ("1772344800", 1772344800.0),
        ("now", WALL),
    ])
    def test_parse_epoch(self, text: str, want: float) -> None:
        assert parse_epoch(text, WALL) == want

    @pytest.mark.parametrize("text", ["yesterday", "nan", "inf", "-5", "1e30", ""])
    def test_bad_epoch(self, text: str) -> None:
        with pytest.raises(ValueError, match="--epoch must be"):
            parse_epoch(text, WALL)


class TestLiveEpoch:
    async def test_wall_clock_epoch_at_first_scan(self, tagmap: TagMap) -> None:
        """Tick k is at (the wall clock at the first scan, rounded down) + k * dt."""
        clock = [WALL]
        async with running(tagmap, epoch=EpochPlan(), wall_clock=lambda: clock[0]) as plc:
            clock[0] = WALL + 7.0  # the servers took 7 s to start: the clock is read at the first scan
            plc.step(3)
            snap = await asyncio.wait_for(plc.wait_tick(3), 10)
        assert snap.sim_time == pytest.approx(start_time(WALL + 7.0, 0.1) + 3 * 0.1)
        assert plc.epoch == pytest.approx(start_time(WALL + 7.0, 0.1))

    async def test_pinned_epoch_is_kept(self, tagmap: TagMap) -> None:
        async with running(tagmap, epoch=EpochPlan(pinned=1772344800.0), wall_clock=lambda: WALL) as plc:
            plc.step(2)
            snap = await asyncio.wait_for(plc.wait_tick(2), 10)
        assert snap.sim_time == pytest.approx(1772344800.0 + 0.2)

    async def test_floor_pushes_time_forward(self, tagmap: TagMap) -> None:
        floor = WALL + 100.0
        async with running(tagmap, epoch=EpochPlan(floor=floor), wall_clock=lambda: WALL) as plc:
            plc.step(1)
            snap = await asyncio.wait_for(plc.wait_tick(1), 10)
        assert snap.sim_time > floor

    def test_simulate_keeps_the_fixed_default(self, tagmap: TagMap) -> None:
        """The shipped map does not pin an epoch; headless runs use 2026-01-01T00:00:00Z."""
        assert not tagmap.epoch_pinned
        assert ScanCycle(tagmap).snapshot.sim_time == 1767225600.0


class TestReplayOfWallClockRun:
    async def test_journal_has_the_epoch_and_replay_matches(self, tagmap: TagMap, tmp_path: Path) -> None:
        journal = tmp_path / "j.jsonl"
        async with running(tagmap, epoch=EpochPlan(), wall_clock=lambda: WALL, journal=journal) as plc:
            plc.step(5)
            await asyncio.wait_for(plc.wait_tick(5), 10)
            plc.submit(Command(kind=CommandKind.WRITE, target="LIC100.sp", value=61.0, source="test"))
            plc.step(20)
            live = await asyncio.wait_for(plc.wait_tick(25), 10)
        j = read_journal(journal)
        assert j.header.epoch == pytest.approx(start_time(WALL, 0.1))
        assert not math.isclose(j.header.epoch or 0.0, tagmap.epoch)
        assert replay(tagmap, j).digest == live.digest
