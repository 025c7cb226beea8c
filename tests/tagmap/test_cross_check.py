"""Whole-map checks: tags bound to alarm signals must name alarms the alarm block really has."""

from __future__ import annotations

import pytest

from plc_emulator.errors import TagMapError
from plc_emulator.tagmap import loads
from tests.conftest import DEFAULT_TAGMAP


def test_alarm_point_naming_a_missing_alarm_is_refused_with_its_location() -> None:
    text = DEFAULT_TAGMAP.read_text(encoding="utf-8")
    good = "signal: alarm.SEP-V100.oil_level.HI.active"
    assert good in text
    line = text[: text.index(good)].count("\n") + 1
    bad = text.replace(good, "signal: alarm.SEP-V100.oil_level.HX.active", 1)
    with pytest.raises(TagMapError) as exc:
        loads(bad, "x.yaml")
    (problem,) = exc.value.problems
    file, lno, _col, rest = problem.split(":", 3)
    assert file == "x.yaml"
    assert line - 3 <= int(lno) <= line  # the tag's own key, just above its signal line
    assert rest.strip().startswith("devices.ALARMS.tags.SEP_V100_oil_level_HI_active.signal: no such alarm signal")
