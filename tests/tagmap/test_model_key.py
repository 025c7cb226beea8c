"""The tag map's ``model:`` key: a plant file by path or inline, its catalogue checks the tags, PM
rules and write limits; every mistake with FILE:LINE:COL, all at once, exit 2 in validate/run/simulate."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plc_emulator.cli import main
from plc_emulator.engine.catalogue import LEGACY
from plc_emulator.errors import TagMapError
from plc_emulator.tagmap import load, loads
from tests.conftest import ROOT

TWIN = ROOT / "tests" / "user_plants" / "twin_hp.yaml"
TAG = "{{signal: {sig}, unit: {unit}, description: x, kind: analog, range: [0, 1500], access: {access}{extra}}}"


def _tag(sig: str, unit: str = "PSI", access: str = "ro", extra: str = "") -> str:
    return TAG.format(sig=sig, unit=unit, access=access, extra=extra)


def _map(model: str, tags: list[str], head: str = "") -> str:
    lines = ["name: t", "plant: T", model, head, "devices:", "  D:", "    tags:"]
    lines += [f"      t{i}: {t}" for i, t in enumerate(tags)]
    return "\n".join(x for x in lines if x) + "\n"


def _problems(text: str, tmp_path: Path, name: str = "map.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TagMapError) as err:
        load(path)
    return [p.removeprefix(f"{path}:") for p in err.value.problems]


def test_without_model_the_legacy_catalogue() -> None:
    tm = loads(_map("", [_tag("V100.pressure")]))
    assert tm.plant_model is None
    assert tm.catalogue is LEGACY


def test_path_relative_to_the_tag_map(tmp_path: Path) -> None:
    (tmp_path / "plants").mkdir()
    (tmp_path / "plants" / "twin.yaml").write_text(TWIN.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "map.yaml"
    path.write_text(_map("model: plants/twin.yaml", [_tag("HP-A.pressure"), _tag("P-1.vibration", "mm/s")]),
                    encoding="utf-8")
    tm = load(path)
    assert tm.plant_model is not None
    assert tm.catalogue.name == "twin_hp"
    assert tm.catalogue.index_of("HP-A.pressure") == list(tm.catalogue.names).index("HP-A.pressure")
    with pytest.raises(KeyError, match=r'did you mean "HP-A\.pressure"'):
        tm.catalogue.index_of("HP-A.presure")


def test_inline_plant() -> None:
    model = textwrap.dedent("""\
        model:
          plant: tank
          units:
            air: {block: ambient}""")
    tm = loads(_map(model, [_tag("air.air_temperature", "°C", extra=", precision: 1")]))
    assert tm.catalogue.name == "tank"
    assert "air.air_temperature" in tm.catalogue


def test_tag_signals_units_and_limits_against_the_plant(tmp_path: Path) -> None:
    text = _map(f"model: {TWIN}", [
        _tag("HP-A.presure"),  # typo: did you mean
        _tag("V100.pressure"),  # a legacy signal the plant does not have
        _tag("PIC-A.sp", access="rw", extra=", write_limits: [0, 1500]"),  # wider than the loop's sp_limits
        _tag("HP-A.pressure", unit="°C"),  # not the signal's unit
    ])
    assert _problems(text, tmp_path) == [
        '7:20: devices.D.tags.t0.signal: unknown signal (got "HP-A.presure") (did you mean "HP-A.pressure"?)',
        '8:20: devices.D.tags.t1.signal: unknown signal (got "V100.pressure") (did you mean "LP.pressure"?)',
        "9:115: devices.D.tags.t2.write_limits: wider than PIC-A.sp allows [600, 1200] (got [0, 1500])",
        '10:41: devices.D.tags.t3.unit: does not match HP-A.pressure, which is in "PSI" (got "°C")',
    ]


def test_pm_rules_and_process_against_the_plant(tmp_path: Path) -> None:
    head = textwrap.dedent("""\
        process: {well: {oil_rate_bpd: 1000}}
        pm:
          vibration: {signal: P100.vibration}
          fouling: {signal: E100.ua}
          stiction: {loops: [LIC-A, LIC100]}""")
    assert _problems(_map(f"model: {TWIN}", [_tag("HP-A.pressure")], head), tmp_path) == [
        "4:1: process: sets the built-in engine's parameters; with model: the plant file holds its parameters "
        "(units.<unit>.params)",
        "6:23: pm.vibration.signal: must be a measured signal (got 'P100.vibration') (did you mean \"P-1.vibration\"?)",
        "7:13: pm.fouling.signal: unknown signal (got 'E100.ua') (did you mean \"E-1.ua\"?)",
        "8:29: pm.stiction.loops[1]: unknown name (valid: LIC-A, LIC-B, PIC-A, PIC-B, PIC-LP, LIC-LP, LIC-IF, "
        "TIC-E1) (got 'LIC100')",
    ]
    # the same rules on the plant's own signals are fine; the defaults follow the plant
    ok = _map(f"model: {TWIN}", [_tag("HP-A.pressure")],
              "pm: {vibration: {signal: P-1.vibration}, fouling: {signal: E-1.ua}}")
    assert load_text(ok, tmp_path).catalogue.name == "twin_hp"


def load_text(text: str, tmp_path: Path) -> object:
    path = tmp_path / "ok.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def test_plant_file_problems_located_in_the_plant_file_then_the_map(tmp_path: Path) -> None:
    bad = tmp_path / "bad_plant.yaml"
    bad.write_text(TWIN.read_text(encoding="utf-8").replace("{block: pump,", "{block: pmp,"), encoding="utf-8")
    path = tmp_path / "map.yaml"
    path.write_text(_map("model: bad_plant.yaml", [_tag("HP-A.pressure"), _tag("HP-A.pressure", "bar")],
                         "seed: -1"), encoding="utf-8")
    with pytest.raises(TagMapError) as err:
        load(path)
    lines = err.value.problems
    assert lines[0] == (f'{bad}:35:16: units.P-1.block: unknown block "pmp" (did you mean "pump"?); '
                        "plc-emulator blocks lists the library")
    assert all(x.startswith(str(bad)) for x in lines[:-1])
    # the map's own problems follow; its tags are not checked against a plant that did not load
    assert lines[-1].startswith(f"{path}:4:7: seed:")


@pytest.mark.parametrize(("model", "expect"), [
    ("model: nowhere.yaml", "3:8: model: plant file not found: "),
    ("model: [1, 2]", "3:8: model: must be the path of a plant file (relative to this tag map) or a plant file "
                      "written inline as a mapping"),
    ("model:\n  plant: p\n  units:\n    tank: {block: storage_tankk}",
     '6:19: model.units.tank.block: unknown block "storage_tankk" (did you mean "storage_tank"?)'),
])
def test_model_mistakes(tmp_path: Path, model: str, expect: str) -> None:
    problems = _problems(_map(model, [_tag("runtime.tick", '""')]).replace("kind: analog, range: [0, 1500]",
                                                                               "kind: counter, range: [0, 100]"),
                         tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expect), problems


@pytest.mark.parametrize("command", [["validate"], ["simulate", "--duration", "1s"]])
def test_cli_exit_2(tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(_map("model: nowhere.yaml", [_tag("HP-A.pressure")]), encoding="utf-8")
    assert main([*command, str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:8: model: plant file not found" in err
    assert "Traceback" not in err


def test_run_exit_2(tmp_path: Path) -> None:
    from tests.runtime._proc import CLI, run

    path = tmp_path / "map.yaml"
    path.write_text(_map("model: nowhere.yaml", [_tag("HP-A.pressure")]), encoding="utf-8")
    res = run([CLI, "run", str(path), "--data-dir", str(tmp_path / "d")], timeout=60)
    assert res.returncode == 2
    assert f"{path}:3:8: model: plant file not found" in res.stderr
    assert "Traceback" not in res.stderr
