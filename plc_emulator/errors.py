"""Error hierarchy, split by whose fault an error is (after h11's Local/Remote split).

Each adapter turns a :class:`WriteRejected` into its own wire code in exactly one place:
Modbus uses :attr:`WriteRejected.modbus_exception`, OPC UA uses :attr:`WriteRejected.opcua_status`.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EmulatorError", "ModbusException", "Rejection", "TagMapError", "WriteRejected"]


class EmulatorError(Exception):
    """Base of every error the emulator raises on purpose."""


class TagMapError(EmulatorError):
    """The operator's tag map is wrong. Carries every problem, one formatted line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ModbusException(IntEnum):
    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    GATEWAY_PATH_UNAVAILABLE = 0x0A
    GATEWAY_TARGET_NO_RESPONSE = 0x0B


class Rejection(IntEnum):
    """Why a client write was refused; the adapters map each to their wire code."""

    NOT_WRITABLE = 1  # read-only point           -> Modbus 0x02, OPC UA BadNotWritable
    OUT_OF_RANGE = 2  # outside the write limits  -> Modbus 0x03, OPC UA BadOutOfRange
    TYPE_MISMATCH = 3  # wrong type / not finite  -> Modbus 0x03, OPC UA BadTypeMismatch
    ACCESS_DENIED = 4  # role may not write this  -> Modbus 0x01 (MB/TCP Security), OPC UA BadUserAccessDenied
    UNKNOWN = 5  # no such point                  -> Modbus 0x02, OPC UA BadNodeIdUnknown


_MODBUS = {
    Rejection.NOT_WRITABLE: ModbusException.ILLEGAL_DATA_ADDRESS,
    Rejection.OUT_OF_RANGE: ModbusException.ILLEGAL_DATA_VALUE,
    Rejection.TYPE_MISMATCH: ModbusException.ILLEGAL_DATA_VALUE,
    Rejection.ACCESS_DENIED: ModbusException.ILLEGAL_FUNCTION,  # Modbus/TCP Security: unauthorized -> 01
    Rejection.UNKNOWN: ModbusException.ILLEGAL_DATA_ADDRESS,
}
_OPCUA = {
    Rejection.NOT_WRITABLE: 0x803B0000,  # BadNotWritable
    Rejection.OUT_OF_RANGE: 0x803C0000,  # BadOutOfRange
    Rejection.TYPE_MISMATCH: 0x80740000,  # BadTypeMismatch
    Rejection.ACCESS_DENIED: 0x801F0000,  # BadUserAccessDenied
    Rejection.UNKNOWN: 0x80340000,  # BadNodeIdUnknown
}


class WriteRejected(EmulatorError):
    """A client asked for something the PLC refuses. Nothing was queued or applied."""

    def __init__(self, reason: Rejection, tag: str, detail: str) -> None:
        self.reason = reason
        self.tag = tag
        self.detail = detail
        super().__init__(f"write to {tag} rejected ({reason.name}): {detail}")

    @property
    def modbus_exception(self) -> ModbusException:
        return _MODBUS[self.reason]

    @property
    def opcua_status(self) -> int:
        return _OPCUA[self.reason]
