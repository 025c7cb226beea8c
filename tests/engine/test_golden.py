"""Golden traces: each shipped scenario's 10-minute trace equals tests/golden/<name>.csv exactly.

Regenerate deliberately with ``scripts/regen_golden.py`` after an intended model change.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "tag_maps" / "scenarios").glob("*.yaml"))


def _regen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regen_golden", ROOT / "scripts" / "regen_golden.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_behaviour_has_a_scenario() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {
        "pressure_oscillation",
        "diurnal",
        "decline",
        "pump_degradation",
        "sensor_freeze",
        "slugging",
        "stiction",
    } <= names


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_golden_trace(scenario: Path) -> None:
    golden = ROOT / "tests" / "golden" / f"{scenario.stem}.csv"
    assert golden.is_file(), "run scripts/regen_golden.py"
    assert _regen().golden_text(scenario) == golden.read_text(encoding="utf-8")


def test_golden_traces_differ_between_scenarios() -> None:
    """The traces are not all the same file (the scenarios really act within the window)."""
    texts = {(ROOT / "tests" / "golden" / f"{p.stem}.csv").read_text(encoding="utf-8") for p in SCENARIOS}
    assert len(texts) >= 5
