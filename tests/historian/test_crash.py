"""Crash safety: kill -9 a producer at random moments; every committed sample survives, seqs have no
holes beyond the recorded drops, and the forwarder then delivers everything to mosquitto in order."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from historian import ForwardConfig, Forwarder, MqttSink, Store
from tests.conftest import ROOT
from tests.historian.conftest import Broker, Subscriber

pytestmark = [pytest.mark.integration]


def _run_and_kill(db: Path, rng: random.Random) -> int:
    """Start the producer, kill -9 it after a random number of commits; return the last seq it
    reported committed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.historian.producer", str(db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    want = rng.randint(2, 10)  # kill after this many commit reports: a random moment in the write stream
    last = 0
    seen = 0
    deadline = time.monotonic() + 60
    try:
        for line in proc.stdout:
            if line.startswith("committed"):
                last = int(line.split()[1])
                seen += 1
                if seen >= want:
                    break
            assert time.monotonic() < deadline, "producer too slow"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return last


def _check_db(db: Path, committed: int) -> int:
    """Integrity, committed rows kept, and holes == recorded drops, all in SQL: the producer can run
    through tens of millions of sequence numbers on a busy machine, too many for Python sets."""
    with Store(db) as st:
        assert st.integrity_check() == "ok"
        q = st._db.execute
        bad = q("SELECT count(*) FROM samples WHERE value != seq").fetchone()[0]
        assert bad == 0, "a stored row does not hold the value written with it"
        top, stored = q("SELECT max(seq), count(*) FROM samples").fetchone()
        assert top >= committed, f"committed seq {committed} lost (max stored {top})"
        gaps = st.gaps()  # ordered by first_seq
        for prev, nxt in itertools.pairwise(gaps):
            assert prev.last_seq < nxt.first_seq, f"overlapping gaps {prev} {nxt}"
        for g in gaps:
            assert 1 <= g.first_seq <= g.last_seq <= top, f"gap outside the stored range: {g}"
            inside = q("SELECT count(*) FROM samples WHERE seq BETWEEN ? AND ?", (g.first_seq, g.last_seq))
            assert inside.fetchone()[0] == 0, f"rows stored inside recorded gap {g}"
        dropped = sum(g.last_seq - g.first_seq + 1 for g in gaps)
        # Gaps are disjoint, inside [1, top] and hold no stored row, so equal counts mean the holes
        # are exactly the recorded drops.
        assert top - stored == dropped, f"{top - stored - dropped} unexplained holes"
        assert st.meta_int("queue_dropped") == dropped
        return int(top)


def _crash_cycles(tmp_path: Path, kills: int, seed: int) -> tuple[Path, int]:
    db = tmp_path / "h.db"
    rng = random.Random(seed)
    top = 0
    for _ in range(kills):
        committed = _run_and_kill(db, rng)
        assert committed > top, "each run must commit new samples after the restart"
        top = _check_db(db, committed)
    return db, top


async def _deliver_all(db: Path, broker: Broker, top: int) -> None:
    sub = Subscriber(broker.port)
    try:
        fwd = Forwarder(db, MqttSink(broker.url, plant="crash"), ForwardConfig(batch_rows=5000))
        task = asyncio.create_task(fwd.run())
        deadline = time.monotonic() + 120
        while fwd.metrics().forwarded_rows < 1 or fwd.metrics().backlog_rows > 0:
            assert time.monotonic() < deadline, "forwarder did not drain"
            await asyncio.sleep(0.05)
        fwd.stop()
        await asyncio.wait_for(task, 10)
        with Store(db) as st:
            stored = [r[0] for r in st._db.execute("SELECT seq FROM samples ORDER BY seq")]
        deadline = time.monotonic() + 60
        while len(set(sub.seqs())) < len(stored) and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded poll
            await asyncio.sleep(0.05)
        per_topic: dict[str, list[int]] = {}
        for m in sub.snapshot():
            per_topic.setdefault(m.topic, []).extend(s["seq"] for s in m.payload["samples"])
        assert sorted(set(s for v in per_topic.values() for s in v)) == stored
        for topic, seqs in per_topic.items():
            assert seqs == sorted(seqs), f"{topic} out of order"
        assert stored[-1] == top
    finally:
        sub.close()


class TestCrash:
    @pytest.mark.external
    async def test_three_kills_lose_nothing_committed(self, tmp_path: Path, broker: Broker) -> None:
        """3 x kill -9 at random moments: integrity ok, committed rows kept, holes == recorded drops,
        then everything is delivered to mosquitto in order."""
        db, top = await asyncio.to_thread(_crash_cycles, tmp_path, 3, 1234)
        await _deliver_all(db, broker, top)

    @pytest.mark.slow
    @pytest.mark.external
    async def test_ten_kills(self, tmp_path: Path, broker: Broker) -> None:
        """The issue's version: ten random kills."""
        db, top = await asyncio.to_thread(_crash_cycles, tmp_path, 10, 99)
        await _deliver_all(db, broker, top)


def _run_emulator_and_kill(data: Path, rng: random.Random) -> dict[int, tuple[int, float, float, int]]:
    """``plc-emulator run --speed max`` until the historian has committed rows, then kill -9 at a
    random moment; returns the rows that were committed (read through WAL) just before the kill."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATA_DIR": str(data)}
    cmd = [
        str(Path(sys.executable).parent / "plc-emulator"),
        "run",
        str(ROOT / "tag_maps" / "separation_train.yaml"),
        "--speed",
        "max",
        "--modbus-port",
        "0",
        "--http-port",
        "0",
        "--host",
        "127.0.0.1",
    ]
    proc = subprocess.Popen(cmd, cwd=data, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    db = data / "historian.db"
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # bounded by the process: it prints "ready" once
            if line.startswith("ready"):
                break
        with Store(db) as st:
            start = st.max_seq()
        want = start + rng.randint(200, 4000)  # a random moment: after this many new committed rows
        deadline = time.monotonic() + 60
        committed: dict[int, tuple[int, float, float, int]] = {}
        while True:
            assert proc.poll() is None, "emulator exited early"
            assert time.monotonic() < deadline, "emulator did not commit"
            with Store(db) as st:
                if st.max_seq() >= want:
                    rows = st._db.execute("SELECT seq, tag_id, t, value, status FROM samples").fetchall()
                    committed = {r[0]: tuple(r[1:]) for r in rows}
                    break
            time.sleep(0.02)  # bounded poll of the committed head
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return committed


def _emulator_cycles(tmp_path: Path, kills: int, seed: int) -> tuple[Path, int]:
    data = tmp_path / "data"
    data.mkdir()
    rng = random.Random(seed)
    top = 0
    for _ in range(kills):
        committed = _run_emulator_and_kill(data, rng)
        with Store(data / "historian.db") as st:
            assert st.integrity_check() == "ok"
            rows = {r[0]: tuple(r[1:]) for r in st._db.execute("SELECT seq, tag_id, t, value, status FROM samples")}
            lost = [s for s, r in committed.items() if rows.get(s) != r]
            assert lost == [], f"{len(lost)} committed samples lost or changed"
            dropped = {s for g in st.gaps() for s in range(g.first_seq, g.last_seq + 1)}
            holes = set(range(1, max(rows) + 1)) - set(rows)
            assert holes == dropped, f"{len(holes - dropped)} unexplained holes"
            assert max(rows) > top
            top = max(rows)
    return data / "historian.db", top


class TestEmulatorCrash:
    @pytest.mark.external
    async def test_run_speed_max_killed_three_times(self, tmp_path: Path, broker: Broker) -> None:
        """The real ``plc-emulator run --speed max``, kill -9 three times at random moments: committed
        samples survive, no unexplained holes, then everything reaches mosquitto in order."""
        db, top = await asyncio.to_thread(_emulator_cycles, tmp_path, 3, 5)
        await _deliver_all(db, broker, top)

    @pytest.mark.slow
    @pytest.mark.external
    async def test_run_speed_max_killed_ten_times(self, tmp_path: Path, broker: Broker) -> None:
        db, top = await asyncio.to_thread(_emulator_cycles, tmp_path, 10, 11)
        await _deliver_all(db, broker, top)
