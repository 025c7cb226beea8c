"""Plant files: every broken file is refused with its message at its FILE:LINE:COL, all at once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from plc_emulator.cli import main
from plc_emulator.engine.plant import PlantError, compile_plan, load_plant, loads_plant
from plc_emulator.engine.plant._schema import plant_schema

ROOT = Path(__file__).resolve().parents[2]
BROKEN = sorted((Path(__file__).parent / "plants" / "broken").glob("*.yaml"))
TRAIN = ROOT / "tag_maps" / "plants" / "separation_train.yaml"
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def _expectation(path: Path) -> tuple[int, int, str]:
    m = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert m, f"{path.name}: first line must be '# expect: LINE:COL: message'"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def test_at_least_thirty_distinct_broken_files() -> None:
    messages = {_expectation(p)[2] for p in BROKEN}
    assert len(BROKEN) >= 30
    assert len(messages) == len(BROKEN)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_plant_file(path: Path) -> None:
    line, col, message = _expectation(path)
    with pytest.raises(PlantError) as info:
        load_plant(path)
    where = f"{path}:{line}:{col}: "
    hits = [p for p in info.value.problems if p.startswith(where) and message in p]
    assert hits, f"expected {where}...{message}\n got:\n" + "\n".join(info.value.problems)


def test_every_problem_at_once() -> None:
    text = (BROKEN[0].read_text(encoding="utf-8")
            .replace("diameter_m", "x")
            .replace("{block: pressure_boundary}", "{block: pressure_boundery}")
            .replace("PT-1: {measures: V1.pressure, range: [0, 500]}", "PT-1: {measures: V1.pressure, range: [9, 1]}"))
    with pytest.raises(PlantError) as info:
        loads_plant(text, "p.yaml")
    text_all = "\n".join(info.value.problems)
    assert 'unknown block "contrl_valve"' in text_all
    assert 'unknown block "pressure_boundery"' in text_all
    assert "low end must be below the high end" in text_all
    lines = [int(p.split(":")[1]) for p in info.value.problems]
    assert lines == sorted(lines)  # file order


def test_cli_exits_2_with_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in BROKEN if "connection_unknown_unit" in p.name)
    assert main(["plant", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err
    assert all(line.startswith(f"{path}:") for line in err)
    assert "Traceback" not in "\n".join(err)


def test_cli_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_bytes(b"plant: x\nunits: {a: {block: \xff}}\n")
    assert main(["plant", str(bad)]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    assert main(["plant", str(tmp_path / "missing.yaml")]) == 2


def test_separation_train_plant_compiles_by_kind() -> None:
    loaded = load_plant(TRAIN)
    plan = compile_plan(loaded.graph, n=1)
    kinds = {u.block for u in loaded.graph.units.values()}
    assert len(loaded.graph.units) == 46
    assert len(plan.groups) < len(loaded.graph.units) / 3  # calls grow with kinds, not units
    assert {g.kind for g in plan.groups} == kinds
    # tags bind by signal name as today: the twelve field instruments keep their names, measured
    for name in ("V100.pressure", "V200.gas_flow", "P100.vibration", "E100.outlet_temperature"):
        assert plan.signals[name].spec.kind.value == "measured"
    for name in ("LIC100.sp", "PIC200.valve", "P100.run_cmd", "ESD.reset", "well.water_cut"):
        assert name in plan.signals
    # feedthrough order: only the cooler waits (for the pump's flow, in the same tick); everything else
    # reads outputs computed from state (vessel pressures, transmitter readings, valve stems)
    level = {u: g.level for g in plan.groups for u in g.units}
    assert level.pop("E100") == 1
    assert set(level.values()) == {0}


def test_cli_plant_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plant", str(TRAIN)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: plant separation_train: 46 units")
    assert "transmitter" in out
    assert "x15" in out


def test_per_row_parameters(tmp_path: Path) -> None:
    text = TRAIN.read_text(encoding="utf-8").replace("oil_rate_bpd: 20000", "oil_rate_bpd: [20000, 15000]")
    loaded = loads_plant(text, "p.yaml")
    plan = compile_plan(loaded.graph, n=2)
    well = next(g for g in plan.groups if g.kind == "well")
    assert well.params["oil_rate_bpd"][:, 0].tolist() == [20000.0, 15000.0]
    assert well.params["arps_b"][:, 0].tolist() == [0.5, 0.5]
    with pytest.raises(PlantError) as info:
        compile_plan(loaded.graph, n=3)
    (line,) = info.value.problems
    assert re.match(r"p\.yaml:\d+:\d+: units\.well\.params\.oil_rate_bpd: 2 values for a batch of 3", line)


def test_schema_accepts_shipped_and_rejects_broken() -> None:
    schema = plant_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    assert not list(v.iter_errors(yaml.safe_load(TRAIN.read_text(encoding="utf-8"))))
    for name in ("unknown_block", "param_out_of_range", "unknown_param", "param_bad_choice"):
        path = next(p for p in BROKEN if name in p.name)
        assert list(v.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))), name
    assert json.loads(json.dumps(schema)) == schema


def test_separation_train_plant_serves_every_catalogue_signal() -> None:
    """Tag maps bind by signal name: every signal of today's engine is in the plant file, with the same
    kind, unit, EU range and write limits."""
    from plc_emulator.engine.catalogue import CATALOGUE

    signals = compile_plan(load_plant(TRAIN).graph).signals
    for s in CATALOGUE:
        got = signals[s.name].spec
        assert (got.kind.value, got.unit, tuple(got.range), got.limits) == (
            s.kind.value, s.unit, tuple(s.range), s.limits), s.name


def _parallel(k: int) -> str:
    units = ["  GAS: {block: pressure_boundary, params: {pressure_psig: 100}}",
             "  OUT: {block: pressure_boundary}"]
    conns = []
    for i in range(k):
        units += [f"  W{i}: {{block: well}}", f"  V{i}: {{block: separator, initial: {{pressure_psig: 200}}}}",
                  f"  L{i}: {{block: control_valve}}", f"  G{i}: {{block: control_valve, params: {{service: gas}}}}"]
        conns += [f"  - W{i}.outlet -> V{i}.inlet", f"  - V{i}.oil_outlet -> L{i}.source",
                  f"  - OUT.pressure -> L{i}.p_down", f"  - L{i}.outlet -> V{i}.oil_draw",
                  f"  - V{i}.gas_outlet -> G{i}.source", f"  - GAS.pressure -> G{i}.p_down",
                  f"  - G{i}.outlet -> V{i}.gas_draw"]
    inst = [f"  PT{i}: {{measures: V{i}.pressure, range: [0, 500]}}\n"
            f"  LT{i}: {{measures: V{i}.oil_level, range: [0, 100]}}" for i in range(k)]
    loops = [f"  PIC{i}: {{pv: V{i}.pressure, output: G{i}.opening, sp: 200, kc: 2, ti: 120}}\n"
             f"  LIC{i}: {{pv: V{i}.oil_level, output: L{i}.opening, sp: 50, kc: 1, ti: 600}}" for i in range(k)]
    return ("plant: par\nunits:\n" + "\n".join(units) + "\nconnections:\n" + "\n".join(conns)
            + "\ninstruments:\n" + "\n".join(inst) + "\nloops:\n" + "\n".join(loops) + "\n")


def test_groups_grow_with_kinds_not_units() -> None:
    small = compile_plan(loads_plant(_parallel(2)).graph)
    large = compile_plan(loads_plant(_parallel(40)).graph)
    # boundary, separator, valve, well, transmitter, pid: one call each per tick for 2 or 40 trains
    assert len(large.groups) == len(small.groups) == 6
    assert sum(len(g.units) for g in large.groups) == 2 + 40 * 8  # 4 units, 2 transmitters, 2 PIDs


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO would block the reader forever: refused at once with one FILE:1:1 line, as for tag maps."""
    import os

    fifo = tmp_path / "plant.yaml"
    os.mkfifo(fifo)
    with pytest.raises(PlantError) as info:
        load_plant(fifo)
    assert info.value.problems == [f"{fifo}:1:1: cannot read the plant file: it is a FIFO, not a regular file"]
