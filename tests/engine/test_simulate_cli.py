"""`plc-emulator simulate`: digest from ScanCycle, CSV rows, deterministic, bad input exits 2."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from plc_emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]
TAGMAP = str(ROOT / "tag_maps" / "separation_train.yaml")


def _digest(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["simulate", TAGMAP, *argv]) == 0
    out = capsys.readouterr().out
    return next(line.split()[1] for line in out.splitlines() if line.startswith("digest:"))


class TestSimulate:
    def test_digest_repeatable_and_seed_sensitive(self, capsys: pytest.CaptureFixture[str]) -> None:
        a = _digest(capsys, "--duration", "20s")
        b = _digest(capsys, "--duration", "20s")
        c = _digest(capsys, "--duration", "20s", "--seed", "7")
        assert a == b != c
        assert len(a) == 64

    def test_digest_matches_scan_cycle(self, capsys: pytest.CaptureFixture[str]) -> None:
        from plc_emulator.scan import ScanCycle
        from plc_emulator.tagmap import load

        cycle = ScanCycle(load(TAGMAP))
        snap = cycle.run(100)
        assert _digest(capsys, "--duration", "10s") == snap.digest

    def test_csv_rows_and_scenario(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        out = tmp_path / "run.csv"
        scen = str(ROOT / "tag_maps" / "scenarios" / "sensor_freeze.yaml")
        _digest(
            capsys, "--scenario", scen, "--duration", "30s", "--every", "5s", "--out", str(out), "--scan-period", "1s"
        )
        rows = list(csv.reader(out.open(encoding="utf-8")))
        assert rows[0][:3] == ["tick", "time", "SEP-V100.inlet_pressure"]
        assert [r[0] for r in rows[1:]] == ["0", "5", "10", "15", "20", "25", "30"]
        assert all(len(r) == len(rows[0]) for r in rows)

    @pytest.mark.parametrize(
        "argv",
        [
            ["--duration", "0s"],
            [],
            ["--duration", "1s", "--scenario", "/nonexistent.yaml"],
            ["--duration", "1s", "--out", "/nonexistent/dir/run.csv"],
        ],
    )
    def test_bad_input_exits_2(self, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["simulate", TAGMAP, *argv]) == 2
        assert "Traceback" not in capsys.readouterr().err

    def test_bad_scenario_file_exits_2_with_location(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text("events:\n  - {at: 1s, action: nope}\n", encoding="utf-8")
        assert main(["simulate", TAGMAP, "--duration", "1s", "--scenario", str(bad)]) == 2
        assert f"{bad}:2:" in capsys.readouterr().err
