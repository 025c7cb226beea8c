"""``plc-emulator map``: every Modbus item, deterministic, in csv / md / json."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from plc_emulator.cli import main
from plc_emulator.cli.map import COLUMNS, render
from plc_emulator.image.codec import RegisterImage
from plc_emulator.tagmap import load, parse_ref
from plc_emulator.tagmap.model import Table
from tests.conftest import DEFAULT_TAGMAP


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["map", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_csv_lists_every_point_once(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, str(DEFAULT_TAGMAP), "--format", "csv")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    tm = load(DEFAULT_TAGMAP)
    img = RegisterImage(tm)
    assert len(rows) == len(img.points)
    assert tuple(rows[0]) == COLUMNS
    got = {(r["table"], int(r["address"])) for r in rows}
    assert got == {(p.table.value, p.address) for p in img.points}
    for r in rows:  # the reference number and the 0-based address agree
        assert parse_ref(r["reference"]) == (Table(r["table"]), int(r["address"]))
    roles = {r["role"] for r in rows}
    assert roles == {"value", "mirror", "quality"}
    sp = next(r for r in rows if r["tag"] == "SEP-V100.LIC100_SP")
    assert (sp["reference"], sp["type"], sp["word_order"], sp["access"], sp["write_limits"]) == (
        "40101", "float32", "ABCD", "rw", "20..80")
    orders = {r["word_order"] for r in rows if r["type"] == "float32"}
    assert orders == {"ABCD", "CDAB", "BADC", "DCBA"}
    assert all(r["access"] == "ro" for r in rows if r["role"] in ("quality", "mirror"))
    assert any(r["scaling"] for r in rows if r["role"] == "mirror")


def test_outputs_are_deterministic_and_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tm = load(DEFAULT_TAGMAP)
    for fmt in ("csv", "md", "json"):
        assert render(tm, fmt) == render(load(DEFAULT_TAGMAP), fmt)
    doc = json.loads(render(tm, "json"))
    assert doc["unit_id"] == tm.modbus.unit_id
    assert len(doc["points"]) == len(RegisterImage(tm).points)
    md = render(tm, "md")
    assert "## Holding registers" in md
    assert "| 40101 | 100 | SEP-V100.LIC100_SP |" in md
    out = tmp_path / "map.json"
    rc, stdout, _ = _run(capsys, str(DEFAULT_TAGMAP), "--format", "json", "-o", str(out))
    assert rc == 0
    assert stdout == ""
    assert json.loads(out.read_text()) == doc


def test_bad_tag_map_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nscan_period: [1\n")
    rc, out, err = _run(capsys, str(bad), "--format", "csv")
    assert rc == 2
    assert out == ""
    assert err.startswith(f"{bad}:")
    assert "Traceback" not in err
