"""``plc-emulator trend`` and ``plc-emulator historian quarantine|info``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from historian import Historian, Store
from plc_emulator.cli import main
from plc_emulator.cli._common import BadInput
from plc_emulator.cli.trend import _quality_spans, parse_time
from tests.conftest import DEFAULT_TAGMAP

TAG = "SEP-V100.inlet_pressure"


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "historian.db"
    with Historian(db) as h:
        h.record_many((TAG, 1000.0 + i, 900.0 + i, 0x808C0000 if 50 <= i < 60 else 0) for i in range(200))
    return db


class TestTrend:
    def test_writes_png_with_limits(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A PNG is written for the range; the summary counts the samples plotted."""
        db = _db(tmp_path)
        out = tmp_path / "t.png"
        rc = main(
            [
                "trend",
                str(db),
                "--tag",
                TAG,
                "--from",
                "1010",
                "--to=-50s",
                "--tagmap",
                str(DEFAULT_TAGMAP),
                "-o",
                str(out),
            ]
        )
        assert rc == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "1 tag(s), 140 samples" in capsys.readouterr().out  # t = 1010 .. 1149

    def test_bad_input_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        db = _db(tmp_path)
        assert main(["trend", str(db), "--tag", "X.y", "-o", str(tmp_path / "x.png")]) == 2
        assert "unknown tag(s) X.y" in capsys.readouterr().err
        assert main(["trend", str(tmp_path / "none.db"), "--tag", TAG, "-o", str(tmp_path / "x.png")]) == 2
        assert (
            main(["trend", str(db), "--tag", TAG, "--from", "yesterday", "-o", str(tmp_path / "x.png")]) == 2
        )
        assert (
            main(
                [
                    "trend",
                    str(db),
                    "--tag",
                    TAG,
                    "--from",
                    "5000",
                    "--to",
                    "6000",
                    "-o",
                    str(tmp_path / "x.png"),
                ]
            )
            == 1
        )

    def test_time_parsing_and_quality_spans(self) -> None:
        assert parse_time("-2h", 10_000.0) == 10_000.0 - 7200
        assert parse_time("2026-01-01T00:00:00Z", 0) == 1767225600.0
        assert parse_time("1700000000.5", 0) == 1700000000.5
        with pytest.raises(BadInput):
            parse_time("nan", 0)
        spans = _quality_spans([0, 1, 2, 3, 4], [0, 0x40000000, 0x40000000, 0x80000000, 0], 5)
        assert spans == [(1, 3, "#f5b041"), (3, 4, "#e74c3c")]


class TestQuarantineCli:
    def test_list_retry_drop(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Entries are listed (text and JSON with samples), marked for retry, and dropped with a counter."""
        db = _db(tmp_path)
        with Store(db) as st:
            for first in (1, 101):
                st.quarantine_add(
                    sink="mqtt://x:1",
                    first_seq=first,
                    last_seq=first + 99,
                    rows=100,
                    attempts=5,
                    error="boom",
                    payload=[{"seq": first, "tag": TAG, "time": 1.0, "value": 2.0, "status": 0}],
                    now=1000.0,
                )
        assert main(["historian", "quarantine", "list", "--db", str(db)]) == 0
        text = capsys.readouterr().out
        assert "1..100" in text
        assert "101..200" in text
        assert "boom" in text
        assert main(["historian", "quarantine", "list", "--db", str(db), "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [e["samples"][0]["seq"] for e in listed] == [1, 101]
        assert main(["historian", "quarantine", "retry", "1", "--db", str(db)]) == 0
        assert main(["historian", "quarantine", "drop", "2", "--db", str(db)]) == 0
        assert main(["historian", "quarantine", "drop", "7", "--db", str(db)]) == 2
        assert main(["historian", "quarantine", "retry", "--db", str(db)]) == 2
        with Store(db) as st:
            assert [(e.id, e.state) for e in st.quarantine_list()] == [(1, "retry")]
            assert st.meta_int("quarantine_dropped") == 100
        assert main(["historian", "info", "--db", str(db)]) == 0
        assert "samples: 200" in capsys.readouterr().out
        assert main(["historian", "info", "--db", str(tmp_path / "missing.db")]) == 2
