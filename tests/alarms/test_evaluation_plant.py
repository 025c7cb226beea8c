"""`plc-emulator evaluate` on plant files (the block engine): the campaign comes from the tag map's
catalogue, ground truth from the block engine's events, and the same seed gives the same JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from plc_emulator.alarms.evaluation import EvalConfig, fault_schedule
from plc_emulator.alarms.fleet import fleet_of
from plc_emulator.cli import main
from plc_emulator.tagmap import load

ROOT = Path(__file__).resolve().parents[2]
TWIN_MAP = ROOT / "tests" / "user_plants" / "twin_hp_tagmap.yaml"
TWIN_PLANT = ROOT / "tests" / "user_plants" / "twin_hp.yaml"
DEFAULT_MAP = ROOT / "tag_maps" / "separation_train.yaml"
SEP_PLANT = ROOT / "tag_maps" / "plants" / "separation_train.yaml"
# 9 plants: one fault of every kind; the pumps start degrading on day ~2 (Weibull shape 3, scale 2 d)
SMALL = ["--plants", "9", "--weibull-shape", "3", "--weibull-scale", "2", "--fault-days", "0.5", "--seed", "5"]


def twin_map(tmp: Path, *, pm: bool = True) -> Path:
    """The twin-HP tag map on a copy of its plant whose pump reaches zone D ~4 days after onset (a
    short test), with the PM vibration rule on its pump."""
    plant = TWIN_PLANT.read_text(encoding="utf-8")
    fast = plant.replace("rated_dp_psi: 900}}", "rated_dp_psi: 900, pf_interval_days: 4}}")
    assert fast != plant
    (tmp / "twin_hp.yaml").write_text(fast, encoding="utf-8")
    text = TWIN_MAP.read_text(encoding="utf-8")
    if pm:
        text = text.replace("\ndevices:", "\npm: {vibration: {signal: P-1.vibration}}\ndevices:", 1)
    path = tmp / "twin_map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sep_map(tmp: Path) -> Path:
    """The default tag map on the block engine: ``model:`` the separation train plant file."""
    path = tmp / "sep_map.yaml"
    path.write_text(DEFAULT_MAP.read_text(encoding="utf-8") + f"\nmodel: {SEP_PLANT}\n", encoding="utf-8")
    return path


def evaluate(tagmap: Path, out: Path, *args: str) -> dict[str, Any]:
    assert main(["evaluate", str(tagmap), *args, "--out", str(out)]) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("twin")
    return evaluate(twin_map(tmp), tmp / "e.json", *SMALL, "--days", "12")


@pytest.fixture(scope="module")
def sep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("sep")
    return evaluate(sep_map(tmp), tmp / "e.json", *SMALL, "--days", "30")


def _check_scored(r: dict[str, Any], pump: str) -> None:
    assert r["config"]["engine"].startswith("plant file")
    assert r["config"]["pump"] == pump
    deg = r["degradation"]
    assert deg["onsets"] == 9, deg
    assert deg["failed_plants"] >= 7, deg
    assert deg["alerts"]["true"] >= deg["failed_plants"] - deg["missed_failures"] >= 7
    assert deg["lead_time_h"]["median"] > 24.0, deg["lead_time_h"]
    assert r["goals"]["missed_share"]["pass"] is True
    assert r["faults"]["injected"] == 9  # every fault was applied and ended in the engine's ground truth
    assert r["faults"]["alerts"]["true"] >= 3
    assert r["goals"]["freeze_latency_p90_s"]["pass"] is True


def test_twin_hp_scored(twin: dict[str, Any]) -> None:
    _check_scored(twin, "P-1")
    assert twin["oee"]["degradation_phase"].startswith("n/a: the plant lacks")


def test_default_map_on_block_engine_scored(sep: dict[str, Any]) -> None:
    _check_scored(sep, "P100")
    assert sep["goals"]["median_lead_h"]["pass"] is True  # the real P-F interval: the 72 h goal is met
    assert sep["oee"]["degradation_phase"]["P100"]["availability"] > 0.9  # the crew restarts the train


def test_campaign_targets_come_from_the_catalogue(tmp_path: Path) -> None:
    tagmap = load(twin_map(tmp_path))
    fleet = fleet_of(tagmap.catalogue, tagmap.pm_params)
    sched = fault_schedule(EvalConfig(plants=18, fault_days=0.5, seed=5), fleet)
    injects = [c for cmds in sched.values() for c in cmds if "kind" in c.params]
    assert len(injects) == 18
    for c in injects:
        want = fleet.valves if c.params["kind"] in ("stuck", "stiction") else fleet.sensors
        assert c.target in want
        assert c.target in tagmap.catalogue
    assert {c.target for c in injects} - set(fleet.valves) <= set(tagmap.catalogue.measured)
    assert any(re.match(r"(HP-[AB]|LP|P-1|E-1)\.", c.target) for c in injects)


def test_same_seed_same_json_and_unwatched_pump_is_na(tmp_path: Path) -> None:
    path = twin_map(tmp_path, pm=False)
    args = ("--plants", "3", "--days", "1", "--fault-days", "0.2", "--seed", "3")
    a = evaluate(path, tmp_path / "a.json", *args)
    b = evaluate(path, tmp_path / "b.json", *args)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert a == b
    assert a["faults"]["injected"] == 3
    goal = a["goals"]["median_lead_h"]
    assert goal["pass"] is None
    assert "no PM vibration rule" in goal["note"]
