"""The alarm configuration the alarm block runs on, parsed with the tag map: alarm definitions
(``plc_emulator/tagmap/alarm_defs.py``) and the ``pm:`` section's parameters (``tagmap/pm.py``)."""

from __future__ import annotations

from plc_emulator.tagmap.alarm_defs import (
    AlarmDef,
    AlarmKind,
    alarm_defs,
    check_tagmap,
    pm_alarm_defs,
    severity_of,
)
from plc_emulator.tagmap.pm import (
    DEFAULT_RESIDUAL_MODELS,
    LOOP_IDS,
    MEASURED,
    FoulingParams,
    InstrumentParams,
    PmConfigError,
    PmParams,
    ResidualParams,
    StictionParams,
    Suppression,
    VibrationParams,
    pm_params_from_mapping,
    span_of,
)

__all__ = [
    "DEFAULT_RESIDUAL_MODELS",
    "LOOP_IDS",
    "MEASURED",
    "AlarmDef",
    "AlarmKind",
    "FoulingParams",
    "InstrumentParams",
    "PmConfigError",
    "PmParams",
    "ResidualParams",
    "StictionParams",
    "Suppression",
    "VibrationParams",
    "alarm_defs",
    "check_tagmap",
    "pm_alarm_defs",
    "pm_params_from_mapping",
    "severity_of",
    "span_of",
]
