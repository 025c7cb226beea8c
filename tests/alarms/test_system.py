"""AlarmSystem: PM flags feed the block, vectorised tag values agree with the dict, lazy snapshot view."""

from __future__ import annotations

import numpy as np

from plc_emulator.alarms import AlarmState, AlarmStatus, AlarmSystem, check_tagmap, validate_pm
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.catalogue import index_of
from plc_emulator.tagmap.model import AlarmLimits

from .helpers import frame, tag, tagmap

HI = "SEP-V100.oil_level.HI"


def system() -> AlarmSystem:
    tm = tagmap(
        [tag("SEP-V100", "oil_level", "V100.oil_level", AlarmLimits(hi=75.0, hihi=85.0))],
        pm={"instruments": {"signals": ["V100.oil_level"]}, "stiction": {"loops": ["LIC100"]}},
    )
    return AlarmSystem(tm)


def test_signal_vector_matches_signal_values() -> None:
    s = system()
    values, status = frame(V100__oil_level=90.0)
    s.step(values, status, tick=1)
    s.step(values, status, tick=2, commands=[Command(kind=CommandKind.ALARM_ACK, target=HI)])
    names = [*s.signal_values()]
    assert np.array_equal(s.signal_vector(names), np.array([s.signal_values()[n] for n in names]))
    assert s.signal_values()[f"alarm.{HI}.unacked"] == 0.0
    assert s.signal_values()["alarms.unacked_count"] == 1.0  # HIHI still unacked


def test_view_is_a_frozen_copy() -> None:
    s = system()
    values, status = frame(V100__oil_level=90.0)
    s.step(values, status, tick=1)
    view = s.view()
    s.step(values, status, tick=2, commands=[Command(kind=CommandKind.ALARM_ACK, target="*")])
    st = view["alarms"][HI]
    assert isinstance(st, AlarmStatus)
    assert st.state is AlarmState.UNACKED  # the view of tick 1, not the block's state now
    assert s.view()["alarms"][HI].state is AlarmState.ACKED
    assert {t.alarm for t in view["transitions"]} == {HI, "SEP-V100.oil_level.HIHI"}
    assert set(view) == {"alarms", "active_count", "unacked_count", "highest_priority", "transitions", "rejected", "pm"}


def test_frozen_pm_flag_becomes_an_alarm() -> None:
    """A Good value that stops moving raises PM.V100.oil_level.flatline through the state machine."""
    s = system()
    values, status = frame()
    rng = np.random.default_rng(1)
    raised = None
    for k in range(1, 12000):
        values[0, index_of("V100.oil_level")] = 50.0 + (rng.normal(0, 0.1) if k < 100 else 0.0)
        res = s.step(values, status, tick=k, record=True)
        if any(t.alarm == "PM.V100.oil_level.flatline" for t in res.transitions):
            raised = k
            break
    assert raised is not None
    assert raised - 100 == 300  # frozen from tick 100; the window is 5 min at the tag map's dt of 1 s


def test_validation_helpers() -> None:
    assert validate_pm({"horizon": "2d"}) == []
    assert validate_pm({"horizon": -1}) == [("pm.horizon", "must be > 0 (got -1)")]
    tm = tagmap(
        [
            tag("SEP-V100", "oil_level", "V100.oil_level", AlarmLimits(hi=75.0)),
            tag("ALARMS", "x", "alarm.NOPE.HI.active", None),
        ],
        pm={"suppression": [{"alarms": ["NOPE.LO"], "signal": "P100.status", "not_equal": 1}]},
    )
    assert check_tagmap(tm) == [
        ("pm.suppression[0].alarms[0]", "no such alarm (got 'NOPE.LO')"),
        (
            "devices.ALARMS.tags.x.signal",
            "no such alarm signal (alarm ids look like SEP-V100.oil_level.HI) (got 'alarm.NOPE.HI.active')",
        ),
    ]
