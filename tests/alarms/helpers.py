"""Small hand-built tag maps and engine-shaped arrays, so the pure alarm tests need no loader or engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from plc_emulator.engine.catalogue import CATALOGUE, index_of
from plc_emulator.tagmap.model import (
    Access,
    AlarmLimits,
    Device,
    HistorianSettings,
    Location,
    ModbusSettings,
    OpcUaPoint,
    OpcUaSettings,
    Tag,
    TagKind,
    TagMap,
)
from plc_emulator.tagmap.pm import pm_params_from_mapping

S = len(CATALOGUE)


def tag(
    device: str,
    name: str,
    signal: str,
    alarms: AlarmLimits | None,
    *,
    kind: TagKind = TagKind.ANALOG,
    states: tuple[str, ...] = (),
    unit: str = "%",
) -> Tag:
    return Tag(
        device=device,
        name=name,
        signal=signal,
        unit=unit,
        description=f"{device} {name}",
        kind=kind,
        range=(0.0, 100.0),
        access=Access.RO,
        write_limits=None,
        states=states,
        precision=2,
        modbus=None,
        opcua=OpcUaPoint(browse_name=name, node_id=f"{device}.{name}"),
        alarms=alarms,
        historian=None,
        location=Location(file="test.yaml", line=1, col=1),
    )


def tagmap(tags: list[Tag], *, pm: Mapping[str, Any] | None = None, dt: float = 1.0) -> TagMap:
    return TagMap(
        path="test.yaml",
        sha256="0" * 64,
        name="t",
        plant="P",
        description="",
        scan_period=dt,
        seed=1,
        epoch=0.0,
        modbus=ModbusSettings(),
        opcua=OpcUaSettings(),
        historian=HistorianSettings(),
        process={},
        pm=pm or {},
        pm_params=pm_params_from_mapping(pm),
        devices=(Device(name="D", description="", tags=tuple(tags)),),
    )


LEVEL = AlarmLimits(
    hihi=85.0,
    hi=75.0,
    lo=25.0,
    lolo=15.0,
    deadband=2.0,
    on_delay=5.0,
    off_delay=5.0,
    priorities={"hihi": 4, "hi": 2, "lo": 2, "lolo": 4},
)


def level_map(**kw: Any) -> TagMap:
    limits = AlarmLimits(**{**{"hi": 75.0, "deadband": 0.0, "on_delay": 0.0, "off_delay": 0.0}, **kw})
    return tagmap(
        [
            tag("SEP-V100", "oil_level", "V100.oil_level", limits),
            tag(
                "PMP-P100",
                "status",
                "P100.status",
                AlarmLimits(discrete_alarm_state=2),
                kind=TagKind.MULTISTATE,
                states=("STOPPED", "RUNNING", "TRIPPED"),
            ),
        ]
    )


def frame(n: int = 1, **signals: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
    """Engine-shaped (values, status) with every signal 50.0 / Good, then the given overrides.

    Keyword names use ``__`` for ``.``: ``V100__oil_level=80``."""
    values = np.full((n, S), 50.0)
    values[:, index_of("P100.status")] = 1.0
    values[:, index_of("P100.vibration")] = 1.5
    status = np.zeros((n, S), dtype=np.uint32)
    for k, v in signals.items():
        values[:, index_of(k.replace("__", "."))] = v
    return values, status
