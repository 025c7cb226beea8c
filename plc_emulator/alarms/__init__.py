"""The alarm block: ISA-18.2 limit, quality and discrete alarms plus predictive-maintenance flags.

Pure (numpy + stdlib), deterministic, stepped by tick, vectorised over a batch of plants.

    system = AlarmSystem(tagmap)                         # PM rules + alarm block for one PLC
    result = system.step(out.values, out.status, tick=t, commands=cmds)
    result.transitions                                  # AlarmTransition per state change
    system.view()                                       # the mapping for Snapshot.alarms
    system.signal_values()                              # alarm.* / alarms.* / pm.* tag values
"""

from plc_emulator.alarms.block import (
    AlarmBlock,
    AlarmCommandError,
    AlarmStatus,
    AlarmTransition,
    UnknownAlarm,
    operator_command,
)
from plc_emulator.alarms.config import (
    AlarmDef,
    AlarmKind,
    PmConfigError,
    PmParams,
    alarm_defs,
    pm_params_from_mapping,
    severity_of,
)
from plc_emulator.alarms.pm import RUL_CAP_H, PmBlock, PmOutputs
from plc_emulator.alarms.signals import alarm_signal_spec, is_alarm_signal, pm_signal_values
from plc_emulator.alarms.states import TRANSITIONS, AlarmEvent, AlarmState, AlarmStateError, transition
from plc_emulator.alarms.system import AlarmResult, AlarmSystem, check_tagmap, validate_pm

__all__ = [
    "RUL_CAP_H",
    "TRANSITIONS",
    "AlarmBlock",
    "AlarmCommandError",
    "AlarmDef",
    "AlarmEvent",
    "AlarmKind",
    "AlarmResult",
    "AlarmState",
    "AlarmStateError",
    "AlarmStatus",
    "AlarmSystem",
    "AlarmTransition",
    "PmBlock",
    "PmConfigError",
    "PmOutputs",
    "PmParams",
    "UnknownAlarm",
    "alarm_defs",
    "alarm_signal_spec",
    "check_tagmap",
    "is_alarm_signal",
    "operator_command",
    "pm_params_from_mapping",
    "pm_signal_values",
    "severity_of",
    "transition",
    "validate_pm",
]
