"""The PM points a tag may bind to are the ones the plant's PM rules produce, for any plant."""

from __future__ import annotations

from pathlib import Path

import pytest

from plc_emulator.alarms.signals import pm_signal_values
from plc_emulator.errors import TagMapError
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import load
from plc_emulator.tagmap.alarm_defs import pm_signal_names
from tests.conftest import DEFAULT_TAGMAP, ROOT

TWIN = ROOT / "tests" / "user_plants" / "twin_hp_tagmap.yaml"


@pytest.mark.parametrize("path", [DEFAULT_TAGMAP, TWIN], ids=["default", "twin_hp"])
def test_names_are_the_values_the_rules_give(path: Path) -> None:
    cycle = ScanCycle(load(path))
    cycle.run(2)
    assert cycle.alarms.last is not None
    values = pm_signal_values(cycle.alarms.params, cycle.alarms.last.pm)
    assert set(values) == pm_signal_names(cycle.alarms.params)
    vib = cycle.alarms.params.vibration.enabled
    assert ("pm.P100.zone" in values) is vib
    assert vib is (path == DEFAULT_TAGMAP)


def test_a_point_the_plant_does_not_produce_is_a_located_error(tmp_path: Path) -> None:
    text = TWIN.read_text(encoding="utf-8")
    text = text.replace("model: twin_hp.yaml", f"model: {TWIN.parent / 'twin_hp.yaml'}")
    extra = ('      zone: {signal: pm.P100.zone, unit: "", description: zone, kind: multistate, range: [0, 3], '
             'access: ro, states: [A, B, C, D]}\n'
             '      flat: {signal: pm.HP-A.pressure.flatline, unit: "", description: f, kind: discrete, '
             'range: [0, 1], access: ro, states: [OK, FLAG]}\n')
    path = tmp_path / "map.yaml"
    path.write_text(text + extra, encoding="utf-8")
    with pytest.raises(TagMapError) as err:
        load(path)
    line = text.count("\n") + 1
    assert err.value.problems == [
        f"{path}:{line}:7: devices.PLC.tags.zone.signal: no such PM point: the pm: rules of this plant do not "
        "produce it (got 'pm.P100.zone')"]
