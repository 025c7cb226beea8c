"""A user's own plant written only from docs/blocks.md: it validates and compiles with no code change."""

from __future__ import annotations

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


def test_twin_hp_cli(capsys: object) -> None:
    assert main(["plant", str(PLANT)]) == 0
