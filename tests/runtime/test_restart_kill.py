"""kill -9 of the real ``plc-emulator run`` at seeded moments, each followed by a warm restart.

Moments: a random time, inside a historian commit, between a checkpoint's fsync and its rename (the
``PLC_EMULATOR_KILL_AT`` test hook). After every restart the retained setpoint written before the
kill is back (a checkpoint held it), the plant continued from the checkpoint's tick, and at the end
the historian holds per-tag strictly increasing timestamps, no duplicate sample, one ``restart``
event per kill, and OPC UA HistoryRead paging over the restarts returns each stored sample once.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asyncua import ua
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.opcua.history import HistorianHistory
from plc_emulator.runtime.checkpoint import CheckpointError, read_checkpoint
from plc_emulator.tagmap.model import TagMap
from tests.conftest import DEFAULT_TAGMAP
from tests.runtime._proc import CLI, Proc, clean_env

SP_ADDR = 100  # SEP-V100.LIC100_SP, float32 ABCD, retained by default
SEED = 20261128


def _moments(n: int, rng: random.Random) -> list[str]:
    fixed = ["historian-commit:6", "checkpoint-rename:9"]  # after the write is checkpointed
    out = [fixed[i] if i < len(fixed) else "time" for i in range(n)]
    rng.shuffle(out)
    return out


async def _write_sp(port: int, value: float) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5)
    await client.connect()
    try:
        regs = client.convert_to_registers(value, client.DATATYPE.FLOAT32)
        assert not (await client.write_registers(SP_ADDR, regs, device_id=1)).isError()
    finally:
        client.close()


async def _read_sp(port: int) -> float:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5)
    await client.connect()
    try:
        rr = await client.read_holding_registers(SP_ADDR, count=2, device_id=1)
        return float(client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32))
    finally:
        client.close()


def _start(data: Path, kill_at: str | None) -> tuple[Proc, int]:
    env = clean_env({"PLC_EMULATOR_KILL_AT": kill_at} if kill_at else None)
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(data), "--host", "127.0.0.1",
                 "--modbus-port", "0", "--http-port", "0", "--opcua-port", "0", "--checkpoint-interval", "0.5s",
                 "--log-level", "warning"], env=env)
    ready = proc.wait_line("ready", 60)
    port = int(ready.split("modbus=127.0.0.1:")[1].split()[0])
    return proc, port


def _checkpoint_holds(path: Path, value: float, timeout: float = 15.0) -> int:
    """Wait until the checkpoint on disk holds the setpoint; return its tick."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ck = read_checkpoint(path)
        except CheckpointError:  # not written yet
            ck = None
        if ck is not None and ck.header["memory"]["SEP-V100.LIC100_SP"] == value:
            return ck.tick
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint with the setpoint {value} within {timeout} s")


async def _cycles(data: Path, kills: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    print(f"kill -9 test: seed {seed}")
    moments = _moments(kills, rng)
    ticks: list[int] = []
    expect: float | None = None
    for k, moment in enumerate(moments):
        proc, port = _start(data, None if moment == "time" else moment)
        try:
            if expect is not None:
                assert await _read_sp(port) == pytest.approx(expect), f"retained setpoint lost ({moment})"
            expect = 30.0 + 5 * k
            await _write_sp(port, expect)
            ticks.append(await asyncio.to_thread(_checkpoint_holds, data / "plc.checkpoint", expect))
            if moment == "time":
                await asyncio.sleep(rng.uniform(0.05, 1.5))
                proc.p.send_signal(signal.SIGKILL)
            rc = await asyncio.to_thread(proc.wait, 60)
            assert rc == -signal.SIGKILL, f"cycle {k} ({moment}) ended with {rc}: {proc.stderr[-3:]}"
        finally:
            if proc.p.poll() is None:
                proc.p.kill()
                proc.wait(10)
    proc, port = _start(data, None)  # the last warm restart, stopped cleanly
    try:
        assert await _read_sp(port) == pytest.approx(expect or 0.0)
    finally:
        proc.p.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
    return ticks


async def _check_store(db: Path, tagmap: TagMap, kills: int, ticks: list[int]) -> None:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        back = con.execute("SELECT count(*) FROM (SELECT t, lag(t) OVER (PARTITION BY tag_id ORDER BY seq) AS prev "
                           "FROM samples) WHERE prev >= t").fetchone()[0]
        assert back == 0, f"{back} samples not after the previous one of their tag"
        dup = con.execute("SELECT count(*) FROM (SELECT 1 FROM samples GROUP BY tag_id, t HAVING count(*) > 1)")
        assert dup.fetchone()[0] == 0
        restarts = [json.loads(d) for (d,) in con.execute("SELECT data FROM events WHERE kind='restart' ORDER BY t")]
        assert len(restarts) == kills
        assert [r["mode"] for r in restarts] == ["warm"] * kills
        assert all(r["checkpoint_tick"] >= t for r, t in zip(restarts, ticks, strict=True))  # plant continued
        tag = next(t for t in tagmap.tags if t.opcua.historizing and t.historian is not None)
        (tag_id,) = con.execute("SELECT id FROM tags WHERE name=?", (tag.key,)).fetchone()
        stored = [r[0] for r in con.execute("SELECT t FROM samples WHERE tag_id=? ORDER BY t", (tag_id,))]
    finally:
        con.close()
    hist = HistorianHistory(db, tagmap)
    await hist.init()
    node = ua.NodeId(tag.opcua.node_id, 2)
    start: datetime | None = datetime.fromtimestamp(stored[0] - 1, UTC)
    end = datetime.fromtimestamp(stored[-1] + 1, UTC)
    got: list[float] = []
    for _ in range(10_000):  # bounded
        values, cont = await hist.read_node_history(node, start, end, 7)
        got.extend(v.SourceTimestamp.replace(tzinfo=UTC).timestamp() for v in values)
        if cont is None:
            break
        start = cont
    else:
        pytest.fail("HistoryRead paging did not end")
    await hist.stop()
    assert got == pytest.approx(stored, abs=2e-6)


async def test_kill_at_three_moments_warm_restarts(tmp_path: Path, tagmap: TagMap) -> None:
    ticks = await _cycles(tmp_path, 3, SEED)
    await _check_store(tmp_path / "historian.db", tagmap, 3, ticks)


@pytest.mark.slow
async def test_kill_at_ten_moments_warm_restarts(tmp_path: Path, tagmap: TagMap) -> None:
    ticks = await _cycles(tmp_path, 10, SEED + 1)
    await _check_store(tmp_path / "historian.db", tagmap, 10, ticks)
