"""OPC UA StatusCodes (uint32) used as the one meaning of quality everywhere (domain notes §10.1)."""

from __future__ import annotations

from typing import Final

GOOD: Final = 0x00000000
GOOD_LOCAL_OVERRIDE: Final = 0x00960000
UNCERTAIN: Final = 0x40000000
UNCERTAIN_NO_COMM_LAST_USABLE: Final = 0x408F0000
UNCERTAIN_LAST_USABLE: Final = 0x40900000
UNCERTAIN_SUBSTITUTE: Final = 0x40910000
UNCERTAIN_INITIAL_VALUE: Final = 0x40920000
UNCERTAIN_SENSOR_NOT_ACCURATE: Final = 0x40930000
UNCERTAIN_EU_EXCEEDED: Final = 0x40940000
UNCERTAIN_SUB_NORMAL: Final = 0x40950000
BAD: Final = 0x80000000
BAD_CONFIGURATION_ERROR: Final = 0x80890000
BAD_NOT_CONNECTED: Final = 0x808A0000
BAD_DEVICE_FAILURE: Final = 0x808B0000
BAD_SENSOR_FAILURE: Final = 0x808C0000
BAD_OUT_OF_SERVICE: Final = 0x808D0000
BAD_NO_COMMUNICATION: Final = 0x80310000
BAD_WAITING_FOR_INITIAL_DATA: Final = 0x80320000

# LimitBits (bits 9-8) with InfoType DataValue (bit 10)
LIMIT_LOW: Final = 0x0500
LIMIT_HIGH: Final = 0x0600
LIMIT_CONSTANT: Final = 0x0700

NAMES: Final[dict[int, str]] = {
    GOOD: "Good",
    GOOD_LOCAL_OVERRIDE: "GoodLocalOverride",
    UNCERTAIN: "Uncertain",
    UNCERTAIN_NO_COMM_LAST_USABLE: "UncertainNoCommunicationLastUsableValue",
    UNCERTAIN_LAST_USABLE: "UncertainLastUsableValue",
    UNCERTAIN_SUBSTITUTE: "UncertainSubstituteValue",
    UNCERTAIN_INITIAL_VALUE: "UncertainInitialValue",
    UNCERTAIN_SENSOR_NOT_ACCURATE: "UncertainSensorNotAccurate",
    UNCERTAIN_EU_EXCEEDED: "UncertainEngineeringUnitsExceeded",
    UNCERTAIN_SUB_NORMAL: "UncertainSubNormal",
    BAD: "Bad",
    BAD_CONFIGURATION_ERROR: "BadConfigurationError",
    BAD_NOT_CONNECTED: "BadNotConnected",
    BAD_DEVICE_FAILURE: "BadDeviceFailure",
    BAD_SENSOR_FAILURE: "BadSensorFailure",
    BAD_OUT_OF_SERVICE: "BadOutOfService",
    BAD_NO_COMMUNICATION: "BadNoCommunication",
    BAD_WAITING_FOR_INITIAL_DATA: "BadWaitingForInitialData",
}


def severity(code: int) -> str:
    """'good', 'uncertain' or 'bad' from bits 31-30 (11 counts as bad)."""
    top = (code >> 30) & 0x3
    return "good" if top == 0 else "uncertain" if top == 1 else "bad"


def name(code: int) -> str:
    base = code & 0xFFFF0000
    return NAMES.get(base, f"0x{code:08X}")
