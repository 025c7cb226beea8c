"""Scenario files -> {tick: [Command]}, with file:line errors like the tag map."""

from __future__ import annotations

from pathlib import Path

import pytest

from plc_emulator.commands import CommandKind
from plc_emulator.errors import TagMapError
from plc_emulator.scenario import ScenarioError, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parents[2]


class TestScenario:
    @pytest.mark.parametrize("path", sorted((ROOT / "tag_maps" / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
    def test_shipped_scenarios_load(self, path: Path) -> None:
        scen = load_scenario(path, 0.1)
        assert scen.name == path.stem
        assert scen.duration is not None
        assert scen.description

    def test_times_become_ticks_in_order(self) -> None:
        scen = loads_scenario(
            "events:\n"
            "  - {at: 2h, action: write, target: LIC100.sp, value: 55}\n"
            "  - {at: 0, action: trip_pump}\n"
            "  - {at: 500ms, action: inject_fault, target: V100.pressure, params: {kind: drift, rate: 0.1}}\n"
            "  - {at: 2h, action: clear_fault, target: '*'}\n",
            0.1,
        )
        assert sorted(scen.schedule) == [1, 5, 72000]
        assert [c.kind for c in scen.schedule[72000]] == [CommandKind.WRITE, CommandKind.CLEAR_FAULT]
        assert scen.schedule[1][0].target == "P100"
        assert scen.schedule[5][0].params == {"kind": "drift", "rate": 0.1}

    def test_problems_have_file_line_col(self) -> None:
        text = (
            "name: bad\n"
            "events:\n"
            "  - at: 1h\n"
            "    action: inject_fault\n"
            "    target: V100.presure\n"
            "    params: {kind: freeze}\n"
            "  - at: soon\n"
            "    action: write\n"
            "    target: LIC100.sp\n"
            "    value: 95\n"
            "  - at: 1h\n"
            "    action: explode\n"
            "  - at: 1h\n"
            "    action: inject_fault\n"
            "    target: V100.pressure\n"
            "    params: {kind: melt}\n"
            "  - at: 1h\n"
            "    action: write\n"
            "    target: V100.pressure\n"
            "    value: 3\n"
        )
        with pytest.raises(ScenarioError) as exc:
            loads_scenario(text, 0.1, path="s.yaml")
        lines = exc.value.problems
        assert isinstance(exc.value, TagMapError)
        assert any(line.startswith("s.yaml:5:13: events[0].target:") and "V100.pressure" in line for line in lines)
        assert any(line.startswith("s.yaml:7:9: events[1].at:") for line in lines)
        assert any(line.startswith("s.yaml:10:12: events[1].value: must be <= 80") for line in lines)
        assert any(line.startswith("s.yaml:12:13: events[2].action:") for line in lines)
        assert any("events[3].params.kind" in line and "melt" in line for line in lines)
        assert any(line.startswith("s.yaml:19:13: events[4].target: must be a writable") for line in lines)

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ("", "empty"),
            ("events: {a: 1}", "must be a list"),
            ("events:\n  - {at: 1s, action: write, target: LIC100.sp}\n", 'missing required field "value"'),
            ("events:\n  - {at: 1s, action: force_slug, params: {volume: 3}}\n", "unknown parameter"),
            ("events:\n  - {at: 1s, action: trip_pump, target: P200}\n", "must be P100"),
            ("evnts: []\n", 'unknown key "evnts"'),
            ("events: [\n", "YAML syntax error"),
        ],
    )
    def test_rejects(self, text: str, needle: str) -> None:
        with pytest.raises(ScenarioError) as exc:
            loads_scenario(text, 0.1, path="x.yaml")
        assert any(needle in line for line in exc.value.problems), exc.value.problems

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ScenarioError, match="cannot read the scenario"):
            load_scenario(tmp_path / "nope.yaml")
