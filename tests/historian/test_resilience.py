"""The writer never dies silently: SQLite errors are retried, drops counted and gapped, damage refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua

from historian import Historian, HistorianConfig, HistorianError, Store, check_database
from plc_emulator.opcua.history import HistorianHistory
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.runtime._proc import CLI, clean_env

T0 = 1_800_000_000.0


def _wait(pred: Any, timeout: float, what: str) -> float:
    """Poll ``pred`` (a cheap in-memory check) until true; returns the seconds it took."""
    start = time.monotonic()
    while not pred():
        assert time.monotonic() - start < timeout, f"{what} within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - start


def _accounted(path: Path, top: int) -> tuple[int, int]:
    """(stored rows, rows in gaps); every seq 1..top must be in exactly one of them."""
    with Store(path) as st:
        stored = {int(r[0]) for r in st._db.execute("SELECT seq FROM samples")}
        gapped: list[int] = [s for g in st.gaps() for s in range(g.first_seq, g.last_seq + 1)]
    assert len(gapped) == len(set(gapped)), "a dropped row is in the gaps table twice"
    assert stored.isdisjoint(gapped)
    assert stored | set(gapped) == set(range(1, top + 1)), "a row is neither stored nor in the gaps table"
    return len(stored), len(gapped)


class TestRetry:
    def test_failed_commits_are_retried_and_drops_counted_once(self, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = HistorianConfig(queue_size=100, batch_size=10, commit_interval=0.02, retry_min=0.01, retry_max=0.05)
        hist = Historian(tmp_path / "h.db", cfg)
        real = hist._store.write_batch
        failing = [True]

        def flaky(*a: Any, **kw: Any) -> None:
            if failing[0]:
                raise sqlite3.OperationalError("database or disk is full")
            real(*a, **kw)

        monkeypatch.setattr(hist._store, "write_batch", flaky)
        try:
            hist.record_many([("A.x", T0 + i, float(i), 0) for i in range(50)])
            _wait(lambda: not hist.metrics().writing, 5, "the failure is reported")
            for k in range(5):  # 250 more rows while failing: the queue (100) overflows
                hist.record_many([("A.x", T0 + 50 + 50 * k + i, 0.0, 0) for i in range(50)])
            m = hist.metrics()
            assert m.writer_alive
            assert m.write_errors >= 1
            assert "disk is full" in m.last_error
            assert m.dropped_queue == 300 - m.queued - m.held > 0  # counted now, not at the next commit
            dropped_while_failing = m.dropped_queue
            failing[0] = False
            took = _wait(lambda: hist.metrics().writing and hist.metrics().queued == 0, 5, "writing resumes")
            assert took < 5
            assert hist.flush(5)
            assert hist.metrics().dropped_queue == dropped_while_failing
        finally:
            hist.close()
        stored, gapped = _accounted(tmp_path / "h.db", 300)
        assert gapped == dropped_while_failing
        assert stored == 300 - gapped


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                         capture_output=True, check=False)
    return res.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    if not _mount_tmpfs(mnt, "3m"):
        pytest.skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


class TestDiskFull:
    def test_disk_full_then_freed(self, small_disk: Path) -> None:
        """3 MB tmpfs: fill it, keep recording, free it: writing resumes by itself within 5 s and every
        row is either committed or counted in the gaps table."""
        cfg = HistorianConfig(queue_size=3000, batch_size=200, commit_interval=0.05, retry_min=0.05,
                              retry_max=0.5, maintenance_interval=3600)
        db = small_disk / "historian.db"
        hist = Historian(db, cfg)
        filler = small_disk / "filler"
        seq = 0
        try:
            hist.record_many([("A.x", T0 + i, float(i), 0) for i in range(500)])
            assert hist.flush(5)
            committed_before = hist.metrics().committed_rows
            with filler.open("wb") as fh:  # take every free byte
                try:
                    for _ in range(10_000):
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            seq = 500
            deadline = time.monotonic() + 20
            while hist.metrics().writing:  # record until a commit fails for lack of space
                assert time.monotonic() < deadline, "the historian never hit the full disk"
                hist.record_many([("A.x", T0 + seq + i, float(i), 0) for i in range(200)])
                seq += 200
                time.sleep(0.01)
            for _ in range(30):  # 6000 more rows while full: more than the queue holds
                hist.record_many([("A.x", T0 + seq + i, 1.0, 0) for i in range(200)])
                seq += 200
            m = hist.metrics()
            assert m.writer_alive
            assert m.dropped_queue > 0
            assert "full" in m.last_error.lower()
            filler.unlink()
            took = _wait(lambda: hist.metrics().writing and hist.metrics().queued == 0, 5, "writing resumes")
            assert hist.flush(5)
            assert took < 5
            assert hist.metrics().committed_rows > committed_before
        finally:
            hist.close()
        assert check_database(db) == "ok"
        _accounted(db, seq)


def _corrupt_middle(path: Path) -> None:
    size = path.stat().st_size
    page = 4096
    with path.open("r+b") as fh:
        fh.seek((size // page // 2) * page)
        fh.write(os.urandom(page))


@pytest.fixture
def damaged_db(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "historian.db"
    with Historian(db, HistorianConfig(batch_size=5000)) as hist:
        for k in range(10):
            hist.record_many([(f"T.{j}", T0 + k * 100 + i, float(i), 0) for j in range(5) for i in range(100)])
        hist.flush(10)
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _corrupt_middle(db)
    return db


class TestDamagedFile:
    def test_refused_at_start_and_not_written(self, damaged_db: Path) -> None:
        before = damaged_db.read_bytes()
        with pytest.raises(HistorianError, match=r"is damaged .* start with --repair"):
            Historian(damaged_db)
        assert damaged_db.read_bytes() == before

    def test_run_exits_1_with_one_line_and_repair_moves_it_aside(self, damaged_db: Path) -> None:
        args = [CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(damaged_db.parent), "--host", "127.0.0.1",
                "--modbus-port", "0", "--http-port", "0", "--opcua-port", "0", "--speed", "max",
                "--duration", "1s", "--log-level", "error"]
        res = subprocess.run(args, capture_output=True, text=True, timeout=120, env=clean_env(), check=False)
        assert res.returncode == 1
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "historian.db is damaged" in lines[0]
        assert "--repair" in lines[0]
        res = subprocess.run([*args, "--repair"], capture_output=True, text=True, timeout=120, env=clean_env(),
                             check=False)
        assert res.returncode == 0, res.stderr
        aside = [p for p in damaged_db.parent.glob("historian.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
        assert len(aside) == 1
        assert check_database(damaged_db) == "ok"


class TestHistoryReadPaging:
    async def test_duplicate_timestamps_page_to_the_end(self, tmp_path: Path) -> None:
        """An old file from a version that rewound its clock: 3 runs wrote the same 40 timestamps.
        NumValuesPerNode=1 paging ends and returns each timestamp once (the newest run's value)."""
        tagmap = load(str(DEFAULT_TAGMAP))
        tag = next(t for t in tagmap.tags if t.opcua.historizing)
        db = tmp_path / "h.db"
        with Store(db) as st:
            st.upsert_tags([(1, _info(tag.key))])
            seq = 0
            for run in range(3):
                rows = []
                for i in range(40):
                    seq += 1
                    rows.append((seq, 1, T0 + i * 0.1, float(run), 0))
                st.write_batch(rows)
        hist = HistorianHistory(db, tagmap)
        await hist.init()
        node = ua.NodeId(tag.opcua.node_id, 2)
        start: datetime | None = datetime.fromtimestamp(T0 - 1, UTC)
        end = datetime.fromtimestamp(T0 + 100, UTC)
        got = []
        for _ in range(200):  # bounded: 40 pages are enough
            values, cont = await hist.read_node_history(node, start, end, 1)
            got.extend(values)
            if cont is None:
                break
            start = cont
        else:
            pytest.fail("continuation point never ended")
        await hist.stop()
        stamps = [v.SourceTimestamp for v in got]
        assert len(stamps) == 40
        assert len(set(stamps)) == 40
        assert {v.Value.Value for v in got} == {2.0}


def _info(name: str) -> Any:
    from historian import TagInfo

    return TagInfo(name=name, device=name.split(".", maxsplit=1)[0])


def _historian_check(port: int) -> dict[str, Any]:
    """The historian's entry of /health (scan overruns on a loaded machine may fail /health too)."""
    import json

    check: dict[str, Any] = json.loads(_health(port)[1])["checks"]["historian"]
    return check


def _health(port: int) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


async def _modbus_reads(port: int) -> bool:
    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5)
    await client.connect()
    try:
        return not (await client.read_holding_registers(0, count=10, device_id=1)).isError()
    finally:
        client.close()


class TestDiskFullLive:
    async def test_real_run_keeps_serving_and_recovers(self, small_disk: Path) -> None:
        """The real ``run`` with DATA_DIR on a 3 MB tmpfs: fill it, /health turns 503 saying why while
        Modbus keeps answering; free it: writing resumes and /health is 200 again within 5 s."""
        import asyncio

        from tests.runtime._proc import Proc

        proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(small_disk), "--host", "127.0.0.1",
                     "--modbus-port", "0", "--http-port", "0", "--opcua-port", "0", "--log-level", "error"])
        try:
            ready = proc.wait_line("ready", 60)
            mb = int(ready.split("modbus=127.0.0.1:")[1].split()[0])
            http = int(ready.split("http=127.0.0.1:")[1].split()[0])
            await asyncio.to_thread(_wait, lambda: _historian_check(http)["ok"], 15, "historian healthy at start")
            filler = small_disk / "filler"
            with filler.open("wb") as fh:
                try:
                    for _ in range(10_000):
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            await asyncio.to_thread(_wait, lambda: not _historian_check(http)["ok"], 15, "the full disk reported")
            status, body = _health(http)
            assert status == 503
            # usually "historian cannot write, retrying: OperationalError: database or disk is full ..."; on a
            # loaded machine the 10 s "has not committed" watchdog can speak first
            assert "historian cannot write" in body or "historian has not committed" in body, body
            assert await _modbus_reads(mb)
            filler.unlink()
            took = await asyncio.to_thread(_wait, lambda: _historian_check(http)["ok"], 5, "writing again")
            assert took < 5
            assert await _modbus_reads(mb)
        finally:
            proc.p.terminate()
            rc = await asyncio.to_thread(proc.wait, 60)
        assert rc == 0
        assert check_database(small_disk / "historian.db") == "ok"
