"""The recorder bridge: exception deadband, max interval, quality changes, preceding value, events."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from historian import Historian, HistorianConfig, Store
from plc_emulator.commands import Command, CommandKind
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.recorder import Recorder, historized_tags
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import HistorianPoint
from tests.conftest import DEFAULT_TAGMAP


def _one_tag_recorder(tmp_path: Path, deadband: float, max_interval: float) -> tuple[Recorder, Historian]:
    tm = load(DEFAULT_TAGMAP)
    first = historized_tags(tm)[0][1]
    devices = tuple(
        dataclasses.replace(
            d,
            tags=tuple(
                dataclasses.replace(t, historian=HistorianPoint(deadband=deadband, max_interval=max_interval))
                if t.key == first.key
                else dataclasses.replace(t, historian=None)
                for t in d.tags
            ),
        )
        for d in tm.devices
    )
    tm = dataclasses.replace(tm, devices=devices)
    h = Historian(tmp_path / "h.db", HistorianConfig(commit_interval=60))
    return Recorder(tm, h), h


class TestExceptionFilter:
    def test_deadband_interval_quality_and_preceding_value(self, tmp_path: Path) -> None:
        """First value; small moves suppressed; a jump records the held value before it; a status change
        and the max interval force a value."""
        rec, h = _one_tag_recorder(tmp_path, deadband=1.0, max_interval=5.0)
        seq = [
            (0.0, 10.0, 0),
            (0.1, 10.5, 0),
            (0.2, 10.9, 0),
            (0.3, 13.0, 0),  # jump at 0.3 (+ held 0.2)
            (0.4, 13.2, 0),
            (0.5, 13.2, 0x808C0000),  # status change always recorded
            (0.6, 13.2, 0x808C0000),
            (5.5, 13.3, 0x808C0000),
        ]  # max interval since 0.5
        out = []
        for t, v, s in seq:
            out += rec.filter(t, np.array([v]), np.array([s], dtype=np.uint32))
        assert [(r[1], r[2], r[3]) for r in out] == [
            (0.0, 10.0, 0),
            (0.2, 10.9, 0),
            (0.3, 13.0, 0),
            (0.4, 13.2, 0),
            (0.5, 13.2, 0x808C0000),
            (0.6, 13.2, 0x808C0000),
            (5.5, 13.3, 0x808C0000),
        ]
        h.close()

    def test_zero_deadband_records_every_change_only(self, tmp_path: Path) -> None:
        rec, h = _one_tag_recorder(tmp_path, deadband=0.0, max_interval=60.0)
        out = []
        for i, v in enumerate([1.0, 1.0, 1.0, 2.0, 2.0]):
            out += rec.filter(i * 0.1, np.array([v]), np.array([0], dtype=np.uint32))
        assert [r[2] for r in out] == [1.0, 1.0, 2.0]  # first, preceding (t=0.2), change
        h.close()


class TestWithScanCycle:
    def test_scans_become_samples_and_events(self, tmp_path: Path) -> None:
        """ScanCycle snapshots -> deadband-filtered samples for the historized tags, plus a command event."""
        tm = load(DEFAULT_TAGMAP)
        cycle = ScanCycle(tm)
        db = tmp_path / "h.db"
        with Historian(db, HistorianConfig(commit_interval=60)) as h:
            rec = Recorder(tm, h)
            rec.on_snapshot(cycle.snapshot)
            target = next(t.signal for t in tm.tags if t.signal.endswith(".sp"))
            for i in range(600):
                cmds = [Command(kind=CommandKind.WRITE, target=target, value=55.0, source="test")] if i == 10 else []
                rec.on_snapshot(cycle.step(cmds))
            rec.on_snapshot(cycle.snapshot)  # same tick again: ignored
            assert h.flush()
        n_tags = len(historized_tags(tm))
        with Store(db) as st:
            total = st.count_samples()
            assert total == rec.recorded
            assert n_tags <= total < n_tags * 601, "the deadband must suppress some scans"
            for name in rec.names:
                rows, _ = st.read_raw(name, 0, 1e12)
                assert rows, f"{name} never recorded"
                times = [r.time for r in rows]
                assert times == sorted(times)
                gaps = np.diff(times)
                assert gaps.size == 0 or gaps.max() <= tm.tag(name).historian.max_interval + 1e-6  # type: ignore[union-attr]
            ev = st.read_events(0, 1e12)
            assert any(e.kind == "command" and e.source == target for e in ev)
            assert st.get_meta("schema_version") == "1"


class _FakePlc:
    restarted_from = None  # a fresh plant: no restart event
    config = RuntimeConfig()

    def __init__(self) -> None:
        self.callbacks: list[object] = []

    def on_snapshot(self, cb: object) -> None:
        self.callbacks.append(cb)

    def on_epoch(self, cb: object) -> None:
        pass


class TestHistorianService:
    async def test_service_records_reports_health_and_metrics(self, tmp_path: Path) -> None:
        """The run-time service registers the recorder, commits, is healthy and exports metrics."""
        from prometheus_client import CollectorRegistry, generate_latest

        from plc_emulator.runtime.recorder import HistorianService

        tm = load(DEFAULT_TAGMAP)
        plc = _FakePlc()
        cycle = ScanCycle(tm)
        async with HistorianService(tm, plc, data_dir=tmp_path, retention_hours=2.0) as svc:
            assert svc.config.retention_hours == 2.0
            (cb,) = plc.callbacks
            for _ in range(50):
                cb(cycle.step())  # type: ignore[operator]
            assert svc.historian is not None
            assert svc.historian.flush()
            ok, msg = svc.health()
            assert ok, msg

            class _C:
                def collect(self):  # type: ignore[no-untyped-def]
                    return svc.metric_families()

            reg = CollectorRegistry()
            reg.register(_C())
            text = generate_latest(reg).decode()
            assert "plc_historian_committed_rows_total" in text
            assert 'plc_historian_dropped_rows_total{reason="queue_full"} 0.0' in text
        with Store(tmp_path / "historian.db") as st:
            assert st.count_samples() == svc.recorder.recorded > 0  # type: ignore[union-attr]
            assert st.get_meta("tagmap_sha256") == tm.sha256
        assert not svc.historian.writer_alive
        assert svc.health()[0] is False
