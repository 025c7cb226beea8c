"""The fleet file: expansion, per-RTU streams, every problem at once with FILE:LINE:COL, the schema."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from plc_emulator.cli import main
from plc_emulator.fleet import FleetError, build_schema, load_fleet, loads_fleet, rtu_seed
from tests.conftest import DEFAULT_TAGMAP, ROOT
from tests.engine.test_purity import FORBIDDEN, _imports
from tests.runtime._proc import CLI, clean_env

EXAMPLE = ROOT / "tag_maps" / "fleets" / "oil_field.yaml"
TM = str(DEFAULT_TAGMAP)
PORTS = 'modbus: {port: "{7001..7002}"}'
GW = "gateways:\n  GW: {port: 5100}\n"


def fleet_text(*entries: str, head: str = "") -> str:
    return f"fleet: t\nseed: 7\n{head}rtus:\n" + "".join(entries)


def problems(text: str) -> list[str]:
    with pytest.raises(FleetError) as info:
        loads_fleet(text, "f.yaml")
    return info.value.problems


class TestExpansion:
    def test_example_is_a_thousand_rtus_in_a_few_lines(self) -> None:
        fleet = load_fleet(EXAMPLE)
        assert len(fleet.rtus) == 1000
        assert len(EXAMPLE.read_text().splitlines()) < 40
        ids = [r.id for r in fleet.rtus]
        assert ids[:3] == ["SEP-001", "WELL-001", "WELL-002"]
        assert ids[-1] == "WELL-999"
        assert len(set(ids)) == 1000
        w = fleet.rtu("WELL-150")
        assert (w.modbus.gateway, w.modbus.port, w.modbus.unit) == ("GW-A", 5100, 150)
        assert fleet.rtu("WELL-401").modbus.port == 6401
        assert fleet.rtu("WELL-999").modbus.port == 6999
        assert fleet.rtu("SEP-001").opcua
        assert not w.opcua
        assert w.tagmap == DEFAULT_TAGMAP.resolve()

    def test_seed_and_draws_come_from_the_rtu_id_not_its_position(self) -> None:
        """An RTU keeps its seed and drawn parameters when other RTUs come before it."""
        entry = ("  - id: W-{01..20}\n    tagmap: TM\n    modbus: {port: \"{7001..7020}\"}\n"
                 "    parameters:\n      well.oil_rate_bpd: {uniform: [15000, 25000]}\n"
                 "      well.arps_b: {normal: [0.5, 0.05]}\n").replace("TM", TM)
        alone = loads_fleet(fleet_text(entry)).rtu("W-07")
        other = f"  - id: X-{{1..5}}\n    tagmap: {TM}\n    modbus: {{port: \"{{8001..8005}}\"}}\n"
        crowded = loads_fleet(fleet_text(other, entry)).rtu("W-07")
        assert alone == dataclass_with_line(crowded, alone.source_line)
        assert alone.seed == rtu_seed(7, "W-07") != rtu_seed(7, "W-08") != rtu_seed(8, "W-07")
        values = [r.parameters["well.oil_rate_bpd"] for r in loads_fleet(fleet_text(entry)).rtus]
        assert all(15000 <= v <= 25000 for v in values)
        assert len(set(values)) == 20

    def test_indexed_values_follow_the_position(self) -> None:
        entry = (f"  - id: W-{{1..5}}\n    tagmap: {TM}\n    modbus: {{port: \"{{7001..7005}}\"}}\n"
                 "    seed: \"{100..104}\"\n    parameters:\n      well.decline_time_factor: {linspace: [300, 500]}\n"
                 "      well.water_cut_initial: {cycle: [0.2, 0.4]}\n      well.oil_rate_bpd: 18000\n")
        rtus = loads_fleet(fleet_text(entry)).rtus
        assert [r.seed for r in rtus] == [100, 101, 102, 103, 104]
        assert [r.parameters["well.decline_time_factor"] for r in rtus] == [300, 350, 400, 450, 500]
        assert [r.parameters["well.water_cut_initial"] for r in rtus] == [0.2, 0.4, 0.2, 0.4, 0.2]
        assert {r.parameters["well.oil_rate_bpd"] for r in rtus} == {18000.0}

    def test_defaults_apply_unless_the_entry_sets_the_field(self) -> None:
        text = fleet_text(
            "  - id: A\n    modbus: {port: 7001}\n  - id: B\n    modbus: {port: 7002}\n    opcua: false\n",
            head=f"defaults:\n  tagmap: {TM}\n  opcua: true\n  parameters: {{well.arps_b: 0.6}}\n")
        a, b = loads_fleet(text).rtus
        assert a.opcua
        assert not b.opcua
        assert a.parameters == b.parameters == {"well.arps_b": 0.6}


def dataclass_with_line(rtu: object, line: int) -> object:
    import dataclasses

    return dataclasses.replace(rtu, source_line=line)  # type: ignore[type-var]


class TestProblems:
    def test_every_problem_at_once_with_line_and_column(self) -> None:
        text = fleet_text(
            f"  - id: A-{{1..3}}\n    tagmap: {TM}\n    modbus: {{gateway: GW, unit: \"{{1..3}}\"}}\n",  # line 6
            f"  - id: A-2\n    tagmap: {TM}\n    modbus: {{gateway: GW, unit: 9}}\n",  # 9: duplicate id
            f"  - id: B\n    tagmap: {TM}\n    modbus: {{gateway: GW, unit: 3}}\n",  # 12: unit clash
            f"  - id: C\n    tagmap: {TM}\n    modbus: {{port: 5100}}\n",  # 15: own port = gateway port
            f"  - id: D-{{1..2}}\n    tagmap: {TM}\n    modbus: {{port: \"{{7001..7002}}\"}}\n",
            f"  - id: E\n    tagmap: {TM}\n    modbus: {{port: 7002}}\n",  # 21: port clash with D-2
            "  - id: F\n    tagmap: missing.yaml\n    modbus: {port: 7003}\n",  # 25: unknown tag map
            f"  - id: G-{{9..1}}\n    tagmap: {TM}\n    modbus: {{port: 7004}}\n",  # 27: bad range
            f"  - id: H-{{1..3}}\n    tagmap: {TM}\n    modbus: {{gateway: GX, unit: \"{{1..2}}\"}}\n",  # 30
            head="gateways:\n  GW: {port: 5100}\n")
        got = problems(text)
        assert all(re.match(r"^f\.yaml:\d+:\d+: ", p) for p in got), got
        want = [
            (9, 'rtus[1].id: duplicate RTU id "A-2" (first from line 6)'),
            (14, 'rtus[2].modbus: unit 3 on gateway "GW" is also RTU A-3'),
            (17, "rtus[3].modbus: RTU C: port 5100 is gateway \"GW\"'s port"),
            (23, "rtus[5].modbus: RTU E: port 7002 is also RTU D-2's"),
            (25, "rtus[6].tagmap: tag map not found"),
            (27, "rtus[7].id: range {9..1} runs backwards"),
            (32, 'rtus[8].modbus.gateway: unknown gateway "GX"'),
        ]
        for line, text_part in want:
            assert any(p.startswith(f"f.yaml:{line}:") and text_part in p for p in got), (line, text_part, got)
        assert len(got) == len(want), got

    @pytest.mark.parametrize(("entry", "message"), [
        ('modbus: {port: "{1..3}"}', "range has 3 values for 2 RTUs"),
        ("modbus: {port: 7001}", "2 RTUs cannot share one own port"),
        ('modbus: {port: "{65535..65536}"}', "range must stay within 1..65535"),
        ("modbus: {gateway: GW, unit: \"{247..248}\"}", "range must stay within 1..247"),
        ("modbus: {port: 7001, gateway: GW}", "give either port (own port) or gateway + unit"),
        ("modbus: {gateway: GW}", 'missing required field "unit"'),
        (f"{PORTS}\n    parameters: {{well.oil_rate_bpd: {{uniform: [5]}}}}", "must be a list [low, high]"),
        (f"{PORTS}\n    parameters: {{well.oil_rate_bpd: {{gauss: [1, 2]}}}}", "must be a number or one of"),
        (f"{PORTS}\n    parameters: {{well.oil_rate_bpd: -5}}", "well.oil_rate_bpd"),
    ])
    def test_bad_template_fields(self, entry: str, message: str) -> None:
        text = fleet_text(f"  - id: W-{{1..2}}\n    tagmap: {TM}\n    {entry}\n", head=GW)
        got = problems(text)
        assert any(message in p for p in got), got

    def test_two_ranges_in_an_id_and_too_many_rtus(self) -> None:
        assert any("only one {FIRST..LAST} range" in p for p in problems(
            fleet_text(f"  - id: A{{1..2}}-{{1..2}}\n    tagmap: {TM}\n    modbus: {{port: 7001}}\n")))
        assert any("at most 100000" in p for p in problems(
            fleet_text(f"  - id: A{{1..200000}}\n    tagmap: {TM}\n    modbus: {{port: 7001}}\n")))

    def test_cli_validate_exits_2_with_every_problem(self, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(fleet_text(f"  - id: A\n    tagmap: {TM}\n    modbus: {{port: 70000}}\n    colour: red\n"))
        assert main(["fleet", "validate", str(bad)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert err == [f"{bad}:6:20: rtus[0].modbus.port: must be <= 65535 (got 70000)",
                       f'{bad}:7:5: rtus[0].colour: unknown key "colour"'], err


class TestCli:
    def test_validate_and_expand_as_a_user_runs_them(self) -> None:
        ok = subprocess.run([CLI, "fleet", "validate", str(EXAMPLE)], capture_output=True, text=True,
                            env=clean_env(), timeout=60, check=False)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith("ok: fleet north-field: 1000 RTUs")
        out = subprocess.run([CLI, "fleet", "expand", str(EXAMPLE), "--format", "json", "--shard", "1/3"],
                             capture_output=True, text=True, env=clean_env(), timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        rows = json.loads(out.stdout)
        assert 0 < len(rows) < 1000
        assert {"id", "modbus_port", "unit", "seed", "parameters"} <= set(rows[0])
        bad = subprocess.run([CLI, "fleet", "expand", str(EXAMPLE), "--shard", "3/3"], capture_output=True,
                             text=True, env=clean_env(), timeout=60, check=False)
        assert bad.returncode == 2
        assert "shard must be I/K" in bad.stderr
        assert "Traceback" not in bad.stderr


class TestSchema:
    def test_example_is_valid_and_mistakes_are_not(self) -> None:
        schema = build_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        v = jsonschema.Draft202012Validator(schema)
        doc = yaml.safe_load(EXAMPLE.read_text())
        assert not list(v.iter_errors(doc))
        doc["rtus"][0]["modbus"]["gateway"] = "GW-A"  # port and gateway together
        doc["rtus"][1]["colour"] = "red"
        assert len(list(v.iter_errors(doc))) == 2

    def test_cli_prints_it(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["fleet", "schema"]) == 0
        assert json.loads(capsys.readouterr().out) == build_schema()


def test_fleet_package_is_pure() -> None:
    files = sorted((ROOT / "plc_emulator" / "fleet").rglob("*.py"))
    assert files
    assert not {f"{f.name}: {m}" for f in files for m in _imports(f) & FORBIDDEN}


def test_the_docs_example_is_a_valid_fleet(tmp_path: Path) -> None:
    """docs/fleet.md's first YAML block, read from tag_maps/fleets/ like the shipped example."""
    doc = (ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    fleet = loads_fleet(block, "docs/fleet.md", base=EXAMPLE.parent)
    assert len(fleet.rtus) == 1 + 200 + 799
    assert fleet.rtu("SEP-001").scenario is not None
