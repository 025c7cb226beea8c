"""Every bad input of the issue gets one line and exit 2: journals, special files, scan periods, users files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from plc_emulator.cli import main
from plc_emulator.runtime.journal import JournalHeader
from plc_emulator.tagmap.model import TagMap
from tests.conftest import DEFAULT_TAGMAP
from tests.runtime._proc import CLI, clean_env


def _journal(tmp_path: Path, tagmap: TagMap, *lines: str, end: int | None = 50) -> Path:
    head = JournalHeader(tagmap_sha256=tagmap.sha256, seed=42, dt=0.1, epoch=1_800_000_000.0).to_json()
    body = [head, *lines] + ([json.dumps({"end_tick": end})] if end is not None else [])
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def _write(value: str, target: str = "LIC100.sp", tick: int = 3) -> str:
    return f'{{"tick": {tick}, "kind": "write", "target": "{target}", "value": {value}, "params": {{}}}}'


@pytest.fixture
def _cached_tagmap(tagmap: TagMap, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI loads the same default map each time: hand it the session's copy (saves ~1 s a case)."""
    import plc_emulator.tagmap
    from plc_emulator.cli import build_parser

    build_parser()  # import every subcommand first, so none binds the patched function for good
    monkeypatch.setattr(plc_emulator.tagmap, "load", lambda path: tagmap)


@pytest.mark.usefixtures("_cached_tagmap")
class TestReplayJournal:
    @pytest.mark.parametrize(("line", "message"), [
        (_write("1e308"), "outside write limits"),  # the setpoint's write limits are 20..80
        (_write("NaN"), "NaN is not a finite number"),
        (_write("Infinity"), "Infinity is not a finite number"),
        (_write("50", target="LIC999.sp"), "unknown write target 'LIC999.sp'"),
        (_write("50", target="V100.pressure"), "unknown write target"),  # a measured value is not writable
        (_write("[[1, 2], [3]]"), "value must be a finite number"),
        (_write('"55"'), "value must be a finite number"),
        ('{"tick": "3", "kind": "write", "target": "LIC100.sp", "value": 50}', "tick must be an integer"),
        ('{"tick": 3, "kind": "inject_fault", "target": "V100.pressure", "params": {"kind": "drift", '
         '"rate": "fast"}}', "parameter rate must be a finite number"),
        ('{"tick": 3, "kind": "inject_fault", "target": "V100.pressure", "params": {"kind": "melt"}}',
         "fault kind for V100.pressure must be one of"),
        ('{"tick": 3, "kind": "alarm_ack", "target": "NOPE.HI"}', "unknown alarm 'NOPE.HI'"),
        ('{"tick": 3, "kind": "explode", "target": "x"}', "corrupt journal line"),
        ('{"tick": 3, "kind": "write", "target": "runtime.speed", "value": 2}', "pacing, never journaled"),
    ])
    def test_bad_line_exit_2_file_line(self, tmp_path: Path, tagmap: TagMap,
                                       capsys: pytest.CaptureFixture[str], line: str, message: str) -> None:
        ok = _write("55", tick=2)
        path = _journal(tmp_path, tagmap, ok, line)
        status, err = _cli(capsys, "replay", str(DEFAULT_TAGMAP), str(path))
        assert status == 2
        assert err.startswith(f"plc-emulator: error: {path}:3: "), err  # line 3: after header and a good one
        assert message in err
        assert len(err.strip().splitlines()) == 1

    def test_end_tick_beyond_ten_years_is_refused_at_once(self, tmp_path: Path, tagmap: TagMap,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
        path = _journal(tmp_path, tagmap, end=10**12)
        status, err = _cli(capsys, "replay", str(DEFAULT_TAGMAP), str(path))
        assert status == 2
        assert "at most 3153600000 ticks (10 years)" in err

    def test_end_tick_float_is_refused(self, tmp_path: Path, tagmap: TagMap,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        path = _journal(tmp_path, tagmap, end=None)
        path.write_text(path.read_text() + '{"end_tick": 1e12}\n')
        status, err = _cli(capsys, "replay", str(DEFAULT_TAGMAP), str(path))
        assert (status, f"{path}:2: end_tick must be an integer" in err) == (2, True)

    def test_good_journal_replays(self, tmp_path: Path, tagmap: TagMap,
                                  capsys: pytest.CaptureFixture[str]) -> None:
        path = _journal(tmp_path, tagmap, _write("55"), end=20)
        assert main(["replay", str(DEFAULT_TAGMAP), str(path)]) == 0
        assert "tick: 20" in capsys.readouterr().out

    def test_binary_journal(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "bin.jsonl"
        path.write_bytes(b"\x00\xff\xfe" * 100)
        status, err = _cli(capsys, "replay", str(DEFAULT_TAGMAP), str(path))
        assert status == 2
        assert "is not UTF-8 text" in err

    def test_fifo_journal(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        fifo = tmp_path / "j.fifo"
        os.mkfifo(fifo)
        status, err = _cli(capsys, "replay", str(DEFAULT_TAGMAP), str(fifo))
        assert (status, err.strip()) == (2, f"plc-emulator: error: journal {fifo} is a FIFO, not a regular file")


class TestSpecialFilesAndRanges:
    def test_fifo_tagmap_does_not_hang_validate(self, tmp_path: Path) -> None:
        fifo = tmp_path / "map.yaml"
        os.mkfifo(fifo)
        res = subprocess.run([CLI, "validate", str(fifo)], capture_output=True, text=True, timeout=60,
                             env=clean_env(), check=False)
        assert res.returncode == 2
        assert res.stderr.strip() == f"{fifo}:1:1: cannot read the tag map: it is a FIFO, not a regular file"

    @pytest.mark.parametrize(("period", "message"), [
        ("0.000000001s", "must be at least 1ms"),
        ("0.5ms", "must be at least 1ms"),
        ("11s", "must be at most 10 s"),
    ])
    def test_scan_period_range(self, tmp_path: Path, capsys: pytest.CaptureFixture[str], period: str,
                               message: str) -> None:
        path = tmp_path / "m.yaml"
        path.write_text(DEFAULT_TAGMAP.read_text().replace("scan_period: 100ms", f"scan_period: {period}", 1))
        status, err = _cli(capsys, "validate", str(path))
        assert status == 2
        assert "scan_period" in err
        assert message in err

    def test_poll_interval_range(self, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("POLL_INTERVAL_MS", "0.000001")
        status, err = _cli(capsys, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path))
        assert status == 2
        assert "POLL_INTERVAL_MS must be 1 to 10000 milliseconds" in err

    def test_simulate_duration_bounded(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, err = _cli(capsys, "simulate", str(DEFAULT_TAGMAP), "--duration", "99999999d")
        assert status == 2
        assert "10 years" in err

    def test_binary_users_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        users = tmp_path / "users.yaml"
        users.write_bytes(bytes(range(256)))
        status, err = _cli(capsys, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path / "d"),
                           "--opcua-users", str(users))
        assert status == 2
        assert err.strip().startswith(f"plc-emulator: error: users file {users} is not UTF-8 text")

    def test_bad_epoch_flag(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        status, err = _cli(capsys, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path), "--epoch", "soon")
        assert status == 2
        assert "--epoch must be now, an ISO 8601 UTC time" in err


class TestRetainFlag:
    def test_defaults(self, tagmap: TagMap) -> None:
        retain = {t.key: t.retain for t in tagmap.tags if t.access.value == "rw"}
        for key in ("SEP-V100.LIC100_SP", "SEP-V100.LIC100_MODE", "SEP-V100.LIC100_KC", "SEP-V100.LIC100_TI",
                    "PMP-P100.speed_sp"):
            assert retain[key], key
        for key in ("SEP-V100.LIC100_OUT", "PMP-P100.run_cmd", "PMP-P100.trip_reset", "PLC.esd_trip"):
            assert not retain[key], key
        assert not any(t.retain for t in tagmap.tags if t.access.value == "ro")

    def test_retain_on_ro_tag_is_an_error(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        text = DEFAULT_TAGMAP.read_text()
        anchor = "      inlet_pressure:\n"
        assert anchor in text
        path = tmp_path / "m.yaml"
        path.write_text(text.replace(anchor, anchor + "        retain: true\n", 1))
        status, err = _cli(capsys, "validate", str(path))
        assert status == 2
        assert "retain: applies to rw tags only" in err
