"""A user's own plant written only from docs/blocks.md: it validates and compiles with no code change."""

from __future__ import annotations

import csv
from pathlib import Path

from plc_emulator.cli import main
from plc_emulator.engine.plant import compile_plan, load_plant

PLANT = Path(__file__).parent / "twin_hp.yaml"


def test_twin_hp_validates_and_compiles() -> None:
    loaded = load_plant(PLANT)
    plan = compile_plan(loaded.graph, n=4)
    assert {"HP-A.pressure", "HP-B.oil_level", "LP.water_level", "P-1.vibration", "E-1.outlet_temperature",
            "LIC-A.sp", "PIC-LP.mode", "ESD.reset"} <= set(plan.signals)
    # the header between the HP level valves and the LP separator is no algebraic loop: the valves
    # read the header's pressure (a state) and the header sums what they pass in the same tick
    level = {u: g.level for g in plan.groups for u in g.units}
    assert level["MAN"] > level["LV-A"]
    assert len(plan.groups) <= 13


def test_twin_hp_cli_runs_headless(tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    assert main(["plant", str(PLANT), "--duration", "20min", "--dt", "5s", "--every", "10min", "--out", str(out)]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][:2] == ["time_s", "sea.air_temperature"]
    assert [r[0] for r in rows[1:]] == ["0.0", "600", "1200"]
    col = rows[0].index("HP-A.pressure")
    assert all(abs(float(r[col]) - 900.0) < 50.0 for r in rows[1:])
    assert main(["plant", str(PLANT), "--duration", "1h", "--dt", "10s", "--every", "1s"]) == 2
