"""Units of the loader: reference numbers, durations, YAML edge cases, settings, purity."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

from plc_emulator.errors import TagMapError
from plc_emulator.tagmap import Table, loads, parse_ref, ref_text
from plc_emulator.tagmap._reader import parse_duration
from tests.tagmap.mini import MINI, broken


class TestReferenceNumbers:
    @pytest.mark.parametrize(
        ("ref", "table", "address"),
        [
            ("40001", Table.HOLDING_REGISTER, 0),
            ("49999", Table.HOLDING_REGISTER, 9998),
            ("400001", Table.HOLDING_REGISTER, 0),
            ("465536", Table.HOLDING_REGISTER, 65535),
            ("30001", Table.INPUT_REGISTER, 0),
            ("300012", Table.INPUT_REGISTER, 11),
            ("10001", Table.DISCRETE_INPUT, 0),
            ("00001", Table.COIL, 0),
            ("1", Table.COIL, 0),
            ("000018", Table.COIL, 17),
        ],
    )
    def test_parse(self, ref: str, table: Table, address: int) -> None:
        assert parse_ref(ref) == (table, address)

    @pytest.mark.parametrize(
        ("ref", "why"),
        [
            ("40000", "start at 1"),
            ("50001", "not a reference number"),
            ("20001", "not a reference number"),
            ("465537", "past address 65535"),
            ("4000001", "not a reference number"),
            ("4x001", "not a reference number"),
        ],
    )
    def test_reject(self, ref: str, why: str) -> None:
        got = parse_ref(ref)
        assert isinstance(got, str)
        assert why in got

    @pytest.mark.parametrize("address", [0, 1, 9998, 9999, 65535])
    @pytest.mark.parametrize("table", list(Table))
    def test_ref_text_round_trips(self, table: Table, address: int) -> None:
        assert parse_ref(ref_text(table, address)) == (table, address)

    def test_leading_zero_is_not_octal(self) -> None:
        """YAML 1.1 reads 010001 as octal; the loader reads reference digits as written."""
        tm = loads(broken("{table: coil, address: 0, format: bool}", "{ref: 000005, format: bool}"))
        mode = tm.tag("SEP-V100.LIC100_MODE")
        assert mode.modbus is not None
        assert (mode.modbus.table, mode.modbus.address) == (Table.COIL, 4)


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("500ms", 0.5),
            ("30s", 30.0),
            ("2h", 7200.0),
            ("7d", 604800.0),
            ("1.5", 1.5),
            ("5 min", 300.0),
        ],
    )
    def test_parse(self, text: str, seconds: float) -> None:
        assert parse_duration(text) == pytest.approx(seconds)

    @pytest.mark.parametrize("text", ["", "fast", "-1s", "1 sec", "1e3"])
    def test_reject(self, text: str) -> None:
        assert parse_duration(text) is None

    def test_bare_numbers_are_seconds(self) -> None:
        assert loads(broken("scan_period: 100ms", "scan_period: 0.25")).scan_period == 0.25


class TestYamlEdgeCases:
    def test_merge_keys_and_extension_fields(self) -> None:
        """An ``x-`` key may hold anchors; ``<<`` merges them; the tag's own keys win."""
        text = MINI.replace(
            "devices:\n", "x-analog: &ro {kind: analog, access: ro, precision: 3}\ndevices:\n", 1
        )
        text = text.replace(
            "        kind: analog\n        range: [0, 1500]\n        access: ro\n",
            "        <<: *ro\n        range: [0, 1500]\n",
            1,
        )
        tm = loads(text)
        tag = tm.tag("SEP-V100.inlet_pressure")
        assert (tag.kind.value, tag.access.value, tag.precision) == ("analog", "ro", 3)

    def test_self_merge_is_reported_not_recursed(self) -> None:
        text = MINI.replace("pm: {}", "pm: &a {<<: *a}", 1)
        with pytest.raises(TagMapError):
            loads(text, "m.yaml")

    def test_two_documents(self) -> None:
        with pytest.raises(
            TagMapError, match=r"m\.yaml:\d+:\d+: YAML syntax error: expected a single document"
        ):
            loads(MINI + "---\nname: again\n", "m.yaml")

    def test_not_a_mapping_at_the_top(self) -> None:
        with pytest.raises(TagMapError, match=r"^m\.yaml:1:1: must be a mapping \(got a list\)$"):
            loads("- a\n- b\n", "m.yaml")

    def test_python_tags_are_refused(self) -> None:
        with pytest.raises(TagMapError, match=r"m\.yaml:2:8: plant: unsupported YAML tag"):
            loads(broken("plant: Mini", "plant: !!python/name:os.system ''"), "m.yaml")

    def test_null_sections_mean_defaults(self) -> None:
        tm = loads(
            broken("process: {}", "process:").replace("modbus: {unit_id: 1, word_order: ABCD}", "modbus:")
        )
        assert dict(tm.process) == {}
        assert tm.modbus.unit_id == 1

    def test_plain_exponent_is_a_number_quoted_is_not(self) -> None:
        """PyYAML (YAML 1.1) reads a plain 15e2 as a string; the loader takes it as the number meant."""
        assert loads(broken("range: [0, 1500]", "range: [0, 15e2]")).tags[0].range == (0.0, 1500.0)
        with pytest.raises(
            TagMapError, match=r'm\.yaml:18:20: .*range\[1\]: must be a number \(got "15e2"\)'
        ):
            loads(broken("range: [0, 1500]", 'range: [0, "15e2"]'), "m.yaml")

    def test_tagmap_pickles(self) -> None:
        """A TagMap can cross a process boundary (batch evaluation) unchanged."""
        tm = loads(broken("process: {}", "process: {well: {oil_rate_bpd: 18000}}"))
        assert pickle.loads(pickle.dumps(tm)) == tm

    def test_process_overrides_reach_the_model(self) -> None:
        tm = loads(broken("process: {}", "process: {well: {oil_rate_bpd: 18000}}"))
        assert tm.process["well"] == {"oil_rate_bpd": 18000}


class TestPurity:
    def test_tagmap_imports_nothing_impure(self) -> None:
        """tagmap imports no asyncio, socket, time, threading, sqlite3, pymodbus, asyncua, structlog."""
        banned = {
            "asyncio",
            "socket",
            "time",
            "threading",
            "sqlite3",
            "pymodbus",
            "asyncua",
            "structlog",
            "argparse",
        }
        pkg = Path(__file__).resolve().parents[2] / "plc_emulator" / "tagmap"
        for src in pkg.glob("*.py"):
            for node in ast.walk(ast.parse(src.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                for name in names:
                    assert name.split(".")[0] not in banned, f"{src.name} imports {name}"
                    assert not name.startswith("plc_emulator.cli"), f"{src.name} imports {name}"
