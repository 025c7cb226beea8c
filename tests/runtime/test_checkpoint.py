"""Checkpoints: atomic, versioned, checksummed; cold / warm / hot restarts keep what IEC 61131-3 says."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from plc_emulator.cli import main
from plc_emulator.cli.replay import replay
from plc_emulator.commands import Command, CommandKind
from plc_emulator.runtime import PlcRuntime
from plc_emulator.runtime.checkpoint import (
    Checkpoint,
    CheckpointError,
    StartMode,
    capture,
    check_compatible,
    read_checkpoint,
)
from plc_emulator.runtime.epoch import EpochPlan
from plc_emulator.runtime.journal import read_journal
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap.model import TagMap
from tests.runtime.conftest import column, running

WALL = 1_800_000_000.0


def _w(target: str, value: float) -> Command:
    return Command(kind=CommandKind.WRITE, target=target, value=value, source="test")


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory: pytest.TempPathFactory, tagmap: TagMap) -> Path:
    """A run that changed retained and non-retained points, stopped cleanly (final checkpoint)."""
    path = tmp_path_factory.mktemp("ck") / "plc.checkpoint"

    async def go() -> None:
        async with running(tagmap, checkpoint_path=path, epoch=EpochPlan(), wall_clock=lambda: WALL) as plc:
            plc.step(10)
            await asyncio.wait_for(plc.wait_tick(10), 10)
            plc.submit_many([_w("LIC100.sp", 61.0), _w("LIC100.mode", 0.0), _w("LIC100.out", 40.0),
                             _w("P100.speed_sp", 2900.0), _w("P100.run_cmd", 0.0)])
            plc.step(40)
            await asyncio.wait_for(plc.wait_tick(50), 10)

    asyncio.run(go())
    return path


async def _restart(tagmap: TagMap, ck: Checkpoint, mode: StartMode, **kw: object) -> PlcRuntime:
    plc = PlcRuntime(tagmap, dataclasses.replace(
        PlcRuntime(tagmap).config, paused=True, restore=ck, start_mode=mode, epoch=EpochPlan(),
        wall_clock=lambda: WALL + 3600.0, **kw))
    await plc.start()
    return plc


def _value(plc: PlcRuntime, tagmap: TagMap, key: str) -> float:
    return float(plc.snapshot.values[column(tagmap, key)])


class TestRestartModes:
    async def test_warm_keeps_retained_resets_the_rest_plant_continues(self, tagmap: TagMap,
                                                                      checkpoint_file: Path) -> None:
        ck = read_checkpoint(checkpoint_file)
        assert ck.tick == 50
        plc = await _restart(tagmap, ck, StartMode.WARM)
        try:
            assert plc.tick == 50  # the restored state is published before the first scan
            for name in ("p1", "t_hx", "degr", "integ", "meas"):  # pressures, HX, pump wear, PID state
                assert np.array_equal(plc.cycle.state.arrays[name], ck.arrays[f"engine/{name}"])
            plc.step(1)
            snap = await asyncio.wait_for(plc.wait_tick(51), 10)
        finally:
            plc.stop()
            await plc.join()
        assert snap.sim_time > ck.sim_time + 3000  # at wall time: the downtime is a gap
        assert _value(plc, tagmap, "SEP-V100.LIC100_SP") == 61.0  # retained
        assert _value(plc, tagmap, "SEP-V100.LIC100_MODE") == 0.0  # retained (manual)
        assert _value(plc, tagmap, "PMP-P100.speed_sp") == 2900.0  # retained
        assert _value(plc, tagmap, "SEP-V100.LIC100_OUT") == 55.0  # manual output: initial value
        assert _value(plc, tagmap, "PMP-P100.run_cmd") == 1.0  # command: initial value (run)
        assert {c.source for c in snap.commands} == {"restart"}

    async def test_cold_resets_every_point_but_not_the_plant(self, tagmap: TagMap, checkpoint_file: Path) -> None:
        ck = read_checkpoint(checkpoint_file)
        plc = await _restart(tagmap, ck, StartMode.COLD)
        try:
            plc.step(1)
            await asyncio.wait_for(plc.wait_tick(51), 10)
        finally:
            plc.stop()
            await plc.join()
        assert _value(plc, tagmap, "SEP-V100.LIC100_SP") == 50.0
        assert _value(plc, tagmap, "SEP-V100.LIC100_MODE") == 1.0
        assert _value(plc, tagmap, "PMP-P100.speed_sp") == 3000.0
        assert plc.tick == 51  # the plant continued from tick 50

    async def test_hot_keeps_everything_alarms_included(self, tagmap: TagMap, checkpoint_file: Path) -> None:
        ck = read_checkpoint(checkpoint_file)
        plc = await _restart(tagmap, ck, StartMode.HOT)
        try:
            assert np.array_equal(plc.cycle.alarms.block.state, ck.arrays["alarms.block/state"])
            assert np.array_equal(plc.cycle.alarms.block.last_seq, ck.arrays["alarms.block/last_seq"])
            plc.step(1)
            snap = await asyncio.wait_for(plc.wait_tick(51), 10)
        finally:
            plc.stop()
            await plc.join()
        assert _value(plc, tagmap, "SEP-V100.LIC100_OUT") == 40.0
        assert _value(plc, tagmap, "PMP-P100.run_cmd") == 0.0
        assert not snap.commands  # nothing to reset

    async def test_restarted_journal_replays_from_the_checkpoint(self, tagmap: TagMap, checkpoint_file: Path,
                                                                 tmp_path: Path) -> None:
        ck = read_checkpoint(checkpoint_file)
        journal = tmp_path / "j.jsonl"
        plc = await _restart(tagmap, ck, StartMode.WARM, journal=journal)
        try:
            plc.step(5)
            await asyncio.wait_for(plc.wait_tick(55), 10)
            plc.submit(_w("LIC100.sp", 44.0))
            plc.step(5)
            live = await asyncio.wait_for(plc.wait_tick(60), 10)
        finally:
            plc.stop()
            await plc.join()
        j = read_journal(journal)
        assert (j.header.start_tick, j.header.checkpoint_sha256, j.header.start_mode) == (50, ck.sha256, "warm")
        assert replay(tagmap, j, ck).digest == live.digest


class TestRefused:
    def test_truncated(self, checkpoint_file: Path, tmp_path: Path) -> None:
        bad = tmp_path / "t.checkpoint"
        bad.write_bytes(checkpoint_file.read_bytes()[:-100])
        with pytest.raises(CheckpointError, match="corrupt or truncated"):
            read_checkpoint(bad)

    def test_flipped_byte(self, checkpoint_file: Path, tmp_path: Path) -> None:
        data = bytearray(checkpoint_file.read_bytes())
        data[len(data) // 2] ^= 0xFF
        bad = tmp_path / "f.checkpoint"
        bad.write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match="checksum mismatch"):
            read_checkpoint(bad)

    def test_not_a_checkpoint(self, tmp_path: Path) -> None:
        bad = tmp_path / "x.checkpoint"
        bad.write_text("hello")
        with pytest.raises(CheckpointError, match="not a plc-emulator checkpoint"):
            read_checkpoint(bad)

    def test_other_tag_map(self, checkpoint_file: Path, tagmap: TagMap) -> None:
        other = ScanCycle(dataclasses.replace(tagmap, sha256="0" * 64))
        with pytest.raises(CheckpointError, match="written for another tag map"):
            check_compatible(read_checkpoint(checkpoint_file), other)

    def test_run_refuses_with_one_line_exit_2(self, checkpoint_file: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
        data = tmp_path / "d"
        data.mkdir()
        (data / "plc.checkpoint").write_bytes(checkpoint_file.read_bytes()[:200])
        assert main(["run", str(Path(__file__).parents[2] / "tag_maps" / "separation_train.yaml"),
                     "--data-dir", str(data)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "plc.checkpoint: checkpoint is corrupt or truncated" in err[0]
        assert "--reset-plant" in err[0]


def test_capture_is_under_a_millisecond_at_n1(tagmap: TagMap) -> None:
    """Serialising on the scan thread is array copies only: median well under 1 ms at N = 1."""
    cycle = ScanCycle(tagmap)
    cycle.run(20)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        capture(cycle, wall_time=WALL, memory={})
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.001


class TestCli:
    def test_pinned_epoch_before_the_newest_sample_is_refused(self, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
        from historian import Historian

        with Historian(tmp_path / "historian.db") as hist:
            hist.record_value("SEP-V100.inlet_pressure", WALL, 1000.0)
            assert hist.flush(5)
        tagmap_path = str(Path(__file__).parents[2] / "tag_maps" / "separation_train.yaml")
        assert main(["run", tagmap_path, "--data-dir", str(tmp_path), "--epoch", "2026-01-01T00:00:00Z"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "pinned epoch 2026-01-01T00:00:00Z puts tick 1 at or before the newest sample" in err[0]
        assert "time in the store never goes backwards" in err[0]

    def test_start_flags_reach_the_runtime(self, tagmap: TagMap, checkpoint_file: Path, tmp_path: Path) -> None:
        from plc_emulator.cli import build_parser
        from plc_emulator.cli.run import _restart

        (tmp_path / "plc.checkpoint").write_bytes(checkpoint_file.read_bytes())
        parse = build_parser().parse_args
        got = _restart(parse(["run", "x.yaml", "--start", "cold", "--checkpoint-interval", "2s"]), tagmap, tmp_path)
        assert got["start_mode"] is StartMode.COLD
        assert got["restore"].tick == 50
        assert got["checkpoint_interval"] == 2.0
        assert got["epoch"].pinned is None  # the shipped map does not pin: wall clock
        assert _restart(parse(["run", "x.yaml"]), tagmap, tmp_path)["start_mode"] is StartMode.WARM
        assert _restart(parse(["run", "x.yaml", "--reset-plant"]), tagmap, tmp_path)["restore"] is None
        off = _restart(parse(["run", "x.yaml", "--checkpoint-interval", "0"]), tagmap, tmp_path)
        assert off["checkpoint_path"] is None

    @pytest.mark.slow
    def test_cold_start_flag_resets_through_the_real_run(self, tmp_path: Path) -> None:
        """``--start cold`` on a DATA_DIR whose checkpoint holds a changed setpoint: the restart writes the
        initial values back at the first tick (journaled, source restart); ``--start hot`` writes none."""
        import json
        import subprocess

        from tests.conftest import DEFAULT_TAGMAP
        from tests.runtime._proc import CLI, clean_env

        scenario = tmp_path / "s.yaml"
        scenario.write_text("events:\n  - {at: 1s, action: write, target: LIC100.sp, value: 61}\n")
        base = [CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path / "d"), "--host", "127.0.0.1",
                "--modbus-port", "0", "--http-port", "0", "--opcua-port", "0", "--speed", "max",
                "--log-level", "error"]

        def run(*extra: str) -> None:
            res = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=120, env=clean_env(),
                                 check=False)
            assert res.returncode == 0, res.stderr

        run("--duration", "3s", "--scenario", str(scenario))
        assert read_checkpoint(tmp_path / "d" / "plc.checkpoint").header["memory"]["SEP-V100.LIC100_SP"] == 61.0
        run("--duration", "1s", "--start", "hot", "--journal", str(tmp_path / "hot.jsonl"))
        run("--duration", "1s", "--start", "cold", "--journal", str(tmp_path / "cold.jsonl"))
        hot = [json.loads(x) for x in (tmp_path / "hot.jsonl").read_text().splitlines()[1:]]
        cold = [json.loads(x) for x in (tmp_path / "cold.jsonl").read_text().splitlines()[1:]]
        assert [c for c in hot if c.get("source") == "restart"] == []
        resets = {c["target"]: c["value"] for c in cold if c.get("source") == "restart"}
        assert resets == {"LIC100.sp": 50.0}
        assert json.loads((tmp_path / "cold.jsonl").read_text().splitlines()[0])["start_mode"] == "cold"
