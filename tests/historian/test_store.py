"""Store and writer: batching, drop-oldest accounting, raw reads with continuation, retention, size cap."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from historian import Event, Historian, HistorianConfig, HistorianError, Sample, Store, TagInfo
from tests.conftest import ROOT
from tests.historian.conftest import wait_until


class TestBoundary:
    def test_historian_never_imports_plc_emulator(self) -> None:
        """historian/ is independent: no module imports plc_emulator (parsed, not executed)."""
        offenders = []
        for path in (ROOT / "historian").rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "plc_emulator"]
        assert offenders == []


class TestWriter:
    def test_flush_commits_everything_with_wal(self, tmp_path: Path) -> None:
        """Recorded samples and events are committed on flush, in WAL mode, with their statuses."""
        db = tmp_path / "h.db"
        with Historian(db, HistorianConfig(commit_interval=10.0, batch_size=10**6)) as h:
            h.register_tags([TagInfo(name="V1.p", device="V1", unit="bar")])
            for i in range(100):
                h.record(Sample(tag="V1.p", time=float(i), value=i * 2.0, status=0x808C0000 if i == 7 else 0))
            h.record_event(Event(time=3.0, kind="fault_start", source="V1.p", data={"kind": "freeze"}))
            assert h.flush()
            assert h.metrics().committed_seq == 100
        with Store(db) as st:
            assert st._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            rows, token = st.read_raw("V1.p", 0, 1000)
            assert token is None
            assert [r.value for r in rows] == [i * 2.0 for i in range(100)]
            assert rows[7].status == 0x808C0000
            ev = st.read_events(0, 10)
            assert [(e.kind, e.source, e.data) for e in ev] == [("fault_start", "V1.p", {"kind": "freeze"})]
            assert st.tag_infos()[1].unit == "bar"

    def test_time_trigger_commits_without_flush(self, tmp_path: Path) -> None:
        """A single row is committed by the time trigger (commit_interval), not only by size."""
        with Historian(tmp_path / "h.db", HistorianConfig(commit_interval=0.05, batch_size=10**6)) as h:
            h.record_value("A.x", 1.0, 1.0)
            wait_until(lambda: h.metrics().committed_seq == 1, 5, "time-triggered commit")

    def test_full_queue_drops_oldest_and_records_the_gap(self, tmp_path: Path) -> None:
        """With the writer idle, 25 rows into a queue of 10: seqs 1-15 dropped, recorded as one gap."""
        db = tmp_path / "h.db"
        cfg = HistorianConfig(
            commit_interval=60.0, batch_size=10**6, queue_size=10, maintenance_interval=3600
        )
        with Historian(db, cfg) as h:
            h.record_many(("A.x", float(i), float(i + 1), 0) for i in range(25))
            assert h.flush()
            assert h.metrics().dropped_queue == 15
        with Store(db) as st:
            seqs = [r[0] for r in st._db.execute("SELECT seq FROM samples ORDER BY seq")]
            assert seqs == list(range(16, 26))
            assert [(g.first_seq, g.last_seq, g.reason) for g in st.gaps()] == [(1, 15, "queue_full")]
            assert st.meta_int("queue_dropped") == 15

    def test_seq_continues_after_reopen(self, tmp_path: Path) -> None:
        """A restarted historian continues the sequence where the committed data ends."""
        db = tmp_path / "h.db"
        with Historian(db) as h:
            h.record_value("A.x", 0.0, 0.0)
        with Historian(db) as h:
            assert h.next_seq == 2

    def test_bad_sample_and_config_rejected(self) -> None:
        with pytest.raises(HistorianError, match="status must be a uint32"):
            Sample(tag="a", time=0.0, value=1.0, status=-1)
        with pytest.raises(HistorianError, match="batch_size must be >= 1"):
            HistorianConfig(batch_size=0)

    def test_not_a_database(self, tmp_path: Path) -> None:
        bad = tmp_path / "x.db"
        bad.write_bytes(b"this is not sqlite" * 100)
        with pytest.raises(HistorianError, match="not a usable historian database"):
            Store(bad)


class TestRawRead:
    def test_pages_cover_the_range_exactly_once(self, tmp_path: Path) -> None:
        """Continuation tokens walk a range larger than one page with no row missed or repeated."""
        db = tmp_path / "h.db"
        with Historian(db) as h:
            h.record_many(("A.x" if i % 2 else "B.y", 100.0 + i, float(i), 0) for i in range(2001))
        with Store(db) as st:
            got, token, pages = [], None, 0
            while True:
                rows, token = st.read_raw("A.x", 150.0, 1900.0, limit=97, continuation=token)
                got += rows
                pages += 1
                if token is None:
                    break
                assert pages < 100
            expected = [float(i) for i in range(2001) if i % 2 and 150.0 <= 100.0 + i <= 1900.0]
            assert [r.value for r in got] == expected
            assert pages > 1
            assert st.read_raw("nope", 0, 1) == ([], None)
            with pytest.raises(HistorianError, match="bad continuation token"):
                st.read_raw("A.x", 0, 1, continuation=b"xx")


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class TestRetention:
    def test_deletes_only_old_rows_every_sink_forwarded(self, tmp_path: Path) -> None:
        """Injected clock: rows older than the window go only up to the slowest sink's cursor."""
        db = tmp_path / "h.db"
        clock = _Clock(0.0)
        cfg = HistorianConfig(retention_hours=1.0, maintenance_interval=3600, delete_batch=50)
        with Historian(db, cfg, clock=clock) as h:
            h.record_many(("A.x", float(t), float(t), 0) for t in range(0, 7200, 10))  # 720 rows, 0..7190 s
            assert h.flush()
            with Store(db) as st:
                st.set_cursor(_cur(st, "fast", 720))
                st.set_cursor(_cur(st, "slow", 200))  # slow sink has forwarded seq 1..200 (t < 2000)
            clock.t = 3600.0 + 3000.0  # window starts at t=3000: rows 1..300 are old
            h.run_maintenance()
            assert h.flush()
            with Store(db) as st:
                assert st.min_seq() == 201, "unforwarded rows must stay even when old"
                assert st.meta_int("retention_deleted") == 200
                st.set_cursor(_cur(st, "slow", 720))
            h.run_maintenance()
            assert h.flush()
            with Store(db) as st:
                assert st.min_seq() == 301, "only rows older than the window are deleted"
                assert st.count_samples() == 420
            assert h.metrics().retention_deleted == 300

    def test_size_cap_drops_oldest_with_a_counter_and_reclaims_space(self, tmp_path: Path) -> None:
        """Above max_db_bytes the oldest rows go (forwarded or not), counted and recorded as a gap."""
        db = tmp_path / "h.db"
        cfg = HistorianConfig(max_db_bytes=2_000_000, maintenance_interval=3600, delete_batch=2000)
        with Historian(db, cfg, clock=_Clock(0.0)) as h:  # nothing is past retention
            h.record_many(("A.x", float(i), float(i), 0) for i in range(100_000))
            assert h.flush()
            with Store(db) as st:
                before = st.used_bytes()
            assert before > cfg.max_db_bytes
            h.run_maintenance()
            assert h.flush()
            m = h.metrics()
        with Store(db) as st:
            assert st.used_bytes() <= cfg.max_db_bytes
            assert m.size_cap_dropped == st.meta_int("size_cap_dropped") > 0
            gaps = st.gaps()
            assert gaps[0].first_seq == 1
            assert gaps[0].reason == "size_cap"
            assert sum(g.count for g in gaps) == m.size_cap_dropped
            assert st.min_seq() == m.size_cap_dropped + 1
            assert st.max_seq() == 100_000
            assert st.integrity_check() == "ok"


def _cur(st: Store, sink: str, acked: int):  # type: ignore[no-untyped-def]
    from historian import Cursor

    st.cursor(sink)
    return Cursor(sink=sink, acked=acked)


def test_writer_survives_being_idle(tmp_path: Path) -> None:
    """An idle historian keeps its writer alive and answers flush quickly."""
    with Historian(tmp_path / "h.db", HistorianConfig(commit_interval=0.05)) as h:
        t0 = time.monotonic()
        assert h.flush(5)
        assert h.writer_alive
        assert time.monotonic() - t0 < 5
