"""`plc-emulator validate`: a summary and exit 0, or every problem and exit 2, never a traceback."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from plc_emulator.cli import main
from tests.conftest import DEFAULT_TAGMAP, ROOT
from tests.tagmap.mini import broken


def _validate(path: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["validate", str(path)])
    cap = capsys.readouterr()
    return status, cap.out, cap.err


class TestValidate:
    def test_default_map_summary(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = _validate(DEFAULT_TAGMAP, capsys)
        assert (status, err) == (0, "")
        assert len(out.splitlines()) == 1
        assert out.startswith(
            "ok: 383 tags in 7 devices, 12 field instruments, 145 rw; holding 0-927 (40001-40928), "
            "input 0-11 (30001-30012), coils 0-199 (00001-00200), discrete inputs 0-295 (10001-10296)"
        )

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "1:1: empty tag map"),
            (b"# only a comment\n", "1:1: empty tag map"),
            (
                b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe binary",
                "1:11: not UTF-8 text (byte 0xff at offset 10)",
            ),
            (b"name: x\x00y\n", "1:8: not a text file"),
            (b"name: [\n", "2:1: YAML syntax error"),
            (b"just a string\n", "1:1: must be a mapping"),
        ],
    )
    def test_garbage_files(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
    ) -> None:
        f = tmp_path / "bad.yaml"
        f.write_bytes(content)
        status, out, err = _validate(f, capsys)
        assert status == 2
        assert out == ""
        assert err.startswith(f"{f}:{message}"), err

    def test_missing_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        f = tmp_path / "nope.yaml"
        status, _, err = _validate(f, capsys)
        assert (status, err) == (2, f"{f}:1:1: cannot read the tag map: No such file or directory\n")

    def test_directory(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        status, _, err = _validate(tmp_path, capsys)
        assert (status, err) == (2, f"{tmp_path}:1:1: cannot read the tag map: it is a directory\n")

    def test_endless_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        """/dev/zero (a device: reading it would never end) is refused before it is opened."""
        status, _, err = _validate("/dev/zero", capsys)
        assert status == 2
        assert err == "/dev/zero:1:1: cannot read the tag map: it is a character device, not a regular file\n"

    def test_every_problem_on_its_own_line(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        f = tmp_path / "two.yaml"
        f.write_text(broken("seed: 1", "seed: -1").replace("unit: PSI", "unit: bar", 1), encoding="utf-8")
        status, _, err = _validate(f, capsys)
        assert status == 2
        lines = err.splitlines()
        assert len(lines) == 2
        assert all(re.match(rf"^{re.escape(str(f))}:\d+:\d+: \S+: ", ln) for ln in lines)

    def test_real_subprocess(self, tmp_path: Path) -> None:
        """The same through a real process: exit status 2, message on stderr, no traceback."""
        f = tmp_path / "bad.yaml"
        f.write_text(broken("kind: analog", "kind: analogue"), encoding="utf-8")
        code = "import sys; from plc_emulator.cli import main; sys.exit(main(sys.argv[1:]))"
        proc = subprocess.run(
            [sys.executable, "-c", code, "validate", str(f)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith(
            f"{f}:17:15: devices.SEP-V100.tags.inlet_pressure.kind: must be one of "
            'analog, discrete, multistate, counter (got "analogue")'
        )


def test_output_cut_short_by_the_reader_is_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """`plc-emulator map ... | head -1`: the reader closes the pipe early; status 0, no BrokenPipeError."""
    import io
    import os

    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first line: every flush raises EPIPE
    out = io.TextIOWrapper(os.fdopen(w, "wb"), line_buffering=True)
    monkeypatch.setattr("sys.stdout", out)
    try:
        assert main(["map", str(DEFAULT_TAGMAP), "--format", "csv"]) == 0
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):
            out.close()
