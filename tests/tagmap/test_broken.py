"""Broken tag maps: each names the exact FILE:LINE:COL and dotted path, and `validate` exits 2."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from plc_emulator.cli import main
from plc_emulator.errors import TagMapError
from plc_emulator.tagmap import loads
from tests.tagmap.mini import MINI, broken


class Case(NamedTuple):
    edits: tuple[tuple[str, str], ...]
    line: int
    col: int
    path: str
    message: str


def case(old: str, new: str, *where: int | str) -> Case:
    """One edit of MINI and where its problem is reported: line, col, dotted path, message."""
    line, col, path, message = where
    return Case(((old, new),), int(line), int(col), str(path), str(message))


V100 = "devices.SEP-V100.tags.inlet_pressure"
SP = "devices.SEP-V100.tags.LIC100_SP"
MODE = "devices.SEP-V100.tags.LIC100_MODE"
V200 = "devices.SEP-V200.tags.inlet_pressure"

CASES: dict[str, Case] = {
    "yaml syntax error": case(
        "range: [0, 1500]", "range: [0, 1500", 19, 15, "", "YAML syntax error: expected ',' or ']'"
    ),
    "tab character": case("seed: 1", "seed:\t1\n\tx", 4, 6, "", "YAML syntax error: found character '\\t'"),
    "unknown key with a suggestion": case(
        "kind: analog", "knd: analog", 17, 9, f"{V100}.knd", 'unknown key "knd" (did you mean "kind"?)'
    ),
    "wrong type": case("seed: 1", "seed: one", 4, 7, "seed", 'must be an integer (got "one")'),
    "missing required field": case(
        "        description: Inlet pressure\n", "", 14, 9, V100, 'missing required field "description"'
    ),
    "duplicate tag": case(
        "LIC100_SP:", "inlet_pressure:", 23, 7, V100, 'duplicate key "inlet_pressure" (first at line 13)'
    ),
    "duplicate device": case(
        "SEP-V200:", "SEP-V100:", 42, 3, "devices.SEP-V100", 'duplicate key "SEP-V100" (first at line 10)'
    ),
    "range min >= max": case(
        "range: [0, 1500]",
        "range: [1500, 0]",
        18,
        16,
        f"{V100}.range",
        "min must be < max (got min=1500, max=0)",
    ),
    "unknown signal": case(
        "V100.pressure",
        "V100.presure",
        14,
        17,
        f"{V100}.signal",
        'unknown signal (got "V100.presure") (did you mean "V100.pressure"?)',
    ),
    "unit not the signal's": case(
        "unit: PSI",
        'unit: "%"',
        15,
        15,
        f"{V100}.unit",
        'does not match V100.pressure, which is in "PSI" (got "%")',
    ),
    "unknown unit": case(
        "unit: PSI", "unit: psi", 15, 15, f"{V100}.unit", 'unknown unit (got "psi") (did you mean "PSI"?)'
    ),
    "overlapping registers": case(
        "ref: 40005",
        "ref: 40002",
        51,
        23,
        f"{V200}.modbus.ref",
        "40002-40003 overlaps SEP-V100.inlet_pressure (40001-40002)",
    ),
    "overlapping a quality register": case(
        "ref: 40005",
        "ref: 40003",
        51,
        23,
        f"{V200}.modbus.ref",
        "40003-40004 overlaps SEP-V100.inlet_pressure quality (40003)",
    ),
    "32-bit value past 65535": case(
        "address: 10,",
        "address: 65535,",
        31,
        52,
        f"{SP}.modbus.address",
        "float32 at 65535 runs past address 65535 (needs 2 registers)",
    ),
    "address past 65535": case(
        "address: 10,", "address: 70000,", 31, 52, f"{SP}.modbus.address", "address past 65535 (got 70000)"
    ),
    "non-bool on a coil": case(
        "format: bool",
        "format: float32",
        41,
        51,
        f"{MODE}.modbus.format",
        "coil points carry bool only (got float32)",
    ),
    "bool format on an analog tag": case(
        "address: 10, format: float32",
        "address: 10, format: bool",
        31,
        64,
        f"{SP}.modbus.format",
        "bool needs a two-state discrete tag (got kind analog)",
    ),
    "bool in a register is 0/1 only": Case(
        (
            ("        range: [0, 1]\n", "        range: [0, 2]\n"),
            (
                "{table: coil, address: 0, format: bool}",
                "{table: holding_register, address: 20, format: bool}",
            ),
        ),
        41,
        64,
        f"{MODE}.modbus.format",
        "bool in a holding_register is 0/1 only: range must be [0, 1]",
    ),
    "rw tag on a read-only table": case(
        "table: holding_register",
        "table: input_register",
        31,
        25,
        f"{SP}.modbus.table",
        "rw tag on read-only table input_register",
    ),
    "rw tag on a state signal": case(
        "signal: LIC100.sp",
        "signal: LIC100.valve",
        29,
        17,
        f"{SP}.access",
        "rw tag bound to LIC100.valve, which is a state signal, not a writable input",
    ),
    "write limits outside the EU range": case(
        "write_limits: [20, 80]",
        "write_limits: [20, 180]",
        30,
        23,
        f"{SP}.write_limits",
        "outside the EU range [0, 100] (got [20, 180])",
    ),
    "write limits on a ro tag": case(
        "        access: ro\n",
        "        access: ro\n        write_limits: [0, 10]\n",
        20,
        23,
        f"{V100}.write_limits",
        "apply to rw tags only",
    ),
    "rw tag without write limits": case(
        "        write_limits: [20, 80]\n", "", 24, 9, SP, 'missing required field "write_limits"'
    ),
    "scaled uint16 without raw_range": case(
        "format: uint16, raw_range: [0, 65535]",
        "format: uint16",
        52,
        47,
        f"{V200}.modbus_mirrors[0].format",
        "scaled uint16 needs raw_range",
    ),
    "raw_range outside uint16": case(
        "raw_range: [0, 65535]",
        "raw_range: [0, 70000]",
        52,
        66,
        f"{V200}.modbus_mirrors[0].raw_range",
        "outside the uint16 range 0..65535 (got [0, 70000])",
    ),
    "alarm limits out of order": case(
        "hi: 1250",
        "hi: 700",
        21,
        42,
        f"{V100}.alarms.hi",
        "limits out of order: need lolo <= lo < hi <= hihi (got lo=800, hi=700)",
    ),
    "negative deadband": case(
        "deadband: 30", "deadband: -3", 21, 70, f"{V100}.alarms.deadband", "must be >= 0 (got -3)"
    ),
    "scan period above 10 s": case(
        "scan_period: 100ms", "scan_period: 20s", 3, 14, "scan_period", "must be at most 10 s (got 20 s)"
    ),
    "scan period of zero": case(
        "scan_period: 100ms", "scan_period: 0ms", 3, 14, "scan_period", 'must be longer than 0 s (got "0ms")'
    ),
    "negative seed": case("seed: 1", "seed: -1", 4, 7, "seed", "must be >= 0 (got -1)"),
    "bad word order": case(
        "word_order: CDAB",
        "word_order: CBAD",
        51,
        59,
        f"{V200}.modbus.word_order",
        'must be one of ABCD, CDAB, BADC, DCBA (got "CBAD")',
    ),
    "word order on a 16-bit point": case(
        "raw_range: [0, 65535]}",
        "raw_range: [0, 65535], word_order: CDAB}",
        52,
        90,
        f"{V200}.modbus_mirrors[0].word_order",
        "applies to 32- and 64-bit formats only (got uint16 format)",
    ),
    "duplicate OPC UA node id": case(
        "word_order: CDAB}",
        "word_order: CDAB}\n        opcua: {node_id: SEP-V100.inlet_pressure}",
        52,
        26,
        f"{V200}.opcua.node_id",
        'duplicate OPC UA node id "SEP-V100.inlet_pressure" (also SEP-V100.inlet_pressure',
    ),
    "bad duration text": case(
        "on_delay: 15s",
        "on_delay: 15 sec",
        21,
        84,
        f"{V100}.alarms.on_delay",
        'must be a duration such as 500ms, 30s, 2h, 7d (got "15 sec")',
    ),
    "epoch not in UTC": case(
        '"2026-01-01T00:00:00Z"', '"2026-01-01T00:00:00+02:00"', 5, 8, "epoch", "must be in UTC"
    ),
    "discrete tag with one state": case(
        "states: [MAN, AUTO]",
        "states: [MAN]",
        37,
        17,
        f"{MODE}.states",
        "a discrete tag has exactly 2 states (got 1)",
    ),
    "not a reference number": case(
        "ref: 40005", "ref: 50001", 51, 23, f"{V200}.modbus.ref", "50001 is not a reference number"
    ),
    "both ref and address": case(
        "ref: 40005,",
        "ref: 40005, address: 4,",
        51,
        39,
        f"{V200}.modbus.address",
        'give either "ref" or "address", not both',
    ),
    "mirror on a writable table": case(
        "ref: 30001", "ref: 40020", 52, 32, f"{V200}.modbus_mirrors[0].ref", "mirrors are read-only copies"
    ),
    "settings not a mapping": case(
        "modbus: {unit_id: 1, word_order: ABCD}", "modbus: 5", 6, 9, "modbus", "must be a mapping (got 5)"
    ),
    "unknown process key (engine)": case(
        "process: {}", "process: {well: {oil_rat_bpd: 1}}", 7, 18, "process.well.oil_rat_bpd", "unknown key"
    ),
    "bad process value (engine)": case(
        "process: {}",
        "process: {well: {oil_rate_bpd: fast}}",
        7,
        32,
        "process.well.oil_rate_bpd",
        "must be a number",
    ),
}


def _text(c: Case) -> str:
    text = MINI
    for old, new in c.edits:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


class TestBrokenFiles:
    def test_mini_is_valid(self) -> None:
        """The base every case breaks is itself valid, so each case's problem comes from its edit."""
        tm = loads(MINI, "mini.yaml")
        assert [t.key for t in tm.tags] == [
            "SEP-V100.inlet_pressure",
            "SEP-V100.LIC100_SP",
            "SEP-V100.LIC100_MODE",
            "SEP-V200.inlet_pressure",
        ]

    @pytest.mark.parametrize("name", list(CASES))
    def test_validate_names_line_col_and_path(
        self, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`plc-emulator validate` exits 2 and prints FILE:LINE:COL: dotted.path: message."""
        c = CASES[name]
        f = tmp_path / "broken.yaml"
        f.write_text(_text(c), encoding="utf-8")
        status = main(["validate", str(f)])
        err = capsys.readouterr().err
        assert status == 2
        assert "Traceback" not in err
        prefix = f"{f}:{c.line}:{c.col}: " + (f"{c.path}: " if c.path else "")
        matching = [ln for ln in err.splitlines() if ln.startswith(prefix) and c.message in ln]
        assert matching, f"expected {prefix}...{c.message}\ngot:\n{err}"

    def test_at_least_twenty_kinds(self) -> None:
        assert len(CASES) >= 20


class TestEveryProblemAtOnce:
    def test_all_problems_collected_in_file_order(self) -> None:
        """Three independent mistakes give three lines, sorted by position."""
        text = broken("seed: 1", "seed: -1")
        text = text.replace("unit: PSI", "unit: psi", 1).replace("ref: 40005", "ref: 40002", 1)
        with pytest.raises(TagMapError) as info:
            loads(text, "m.yaml")
        lines = info.value.problems
        assert [ln.split(": ")[0] for ln in lines] == ["m.yaml:4:7", "m.yaml:15:15", "m.yaml:51:23"]

    def test_duplicate_key_detected_where_pyyaml_would_overwrite(self) -> None:
        """PyYAML keeps the last of two equal keys silently; the loader reports the second."""
        text = broken("        access: ro\n", "        access: ro\n        access: rw\n")
        with pytest.raises(
            TagMapError,
            match=r"m\.yaml:20:9: devices\.SEP-V100\.tags\.inlet_pressure\.access: "
            r'duplicate key "access" \(first at line 19\)',
        ):
            loads(text, "m.yaml")
