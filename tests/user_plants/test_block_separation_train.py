"""The DEFAULT tag map on the block engine: ``model: plants/separation_train.yaml`` added, nothing else
changed. It loads, and the scan runs it with the alarm block and every PM rule, loops holding SP."""

from __future__ import annotations

from pathlib import Path

import pytest

from plc_emulator.alarms.states import AlarmState
from plc_emulator.commands import Command, CommandKind
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import TagMap, load
from tests.conftest import DEFAULT_TAGMAP, ROOT

PLANT = ROOT / "tag_maps" / "plants" / "separation_train.yaml"


@pytest.fixture(scope="module")
def tagmap(tmp_path_factory: pytest.TempPathFactory) -> TagMap:
    text = DEFAULT_TAGMAP.read_text(encoding="utf-8")
    assert "\nprocess: {}" in text
    path: Path = tmp_path_factory.mktemp("sep") / "separation_train.yaml"
    path.write_text(text.replace("\nprocess: {}", f"\nmodel: {PLANT}\nprocess:", 1), encoding="utf-8")
    return load(path)


def _active(cycle: ScanCycle, alarm_id: str) -> bool:
    block = cycle.alarms.block
    return AlarmState(int(block.state[0, block.ids.index(alarm_id)])).active_flag


def test_default_map_on_the_block_engine(tagmap: TagMap) -> None:
    assert tagmap.plant_model is not None
    cat = tagmap.catalogue
    assert cat.name == "separation_train"
    assert "LIC101.sp" in cat
    cycle = ScanCycle(tagmap)
    pm = cycle.alarms.params
    assert pm.vibration.enabled
    assert pm.fouling.enabled
    assert set(pm.stiction.loops) == set(cat.loop_ids)
    assert len(pm.residuals.models) == 5
    ids = cycle.alarms.block.ids
    assert {"PM.P100.vibration", "PM.E100.fouling", "PM.LIC101.stiction", "SEP-V100.inlet_pressure.HI"} <= set(ids)

    cycle.run(300)
    out = cycle.engine.outputs(cycle.state)
    for lp in cat.loops:  # every loop holds its setpoint within 2 % of its span
        sp, pv = out.values[0, cat.index_of(f"{lp.id}.sp")], out.values[0, cat.index_of(f"{lp.id}.pv")]
        assert abs(sp - pv) < 0.02 * (lp.range[1] - lp.range[0]), (lp.id, sp, pv)
    assert not any(_active(cycle, i) for i in ids if i.endswith(".BAD"))
    fail = Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "fail"}, source="test")
    assert cycle.run(200, {301: [fail]}).tick == 500  # past the 15 s on-delay
    # the limit/quality alarms watch the plant's signals: the failed transmitter raises its BAD alarm
    assert _active(cycle, "SEP-V100.inlet_pressure.BAD")
    assert not _active(cycle, "SEP-V100.oil_level.BAD")
    assert cycle.alarms.last is not None
    assert cycle.alarms.last.pm.flags.shape == (1, cycle.alarms.pm.n_flags)
