"""Settings of the Modbus listeners, parsed once (CLI/environment) into typed frozen objects.

One :class:`ModbusConfig` per PLC: the plain TCP listener's access level, the connection limits
every listener applies, and the optional extra links (RTU-over-TCP, Modbus/TCP Security over TLS,
RTU on a serial port) that serve the same request service.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

from plc_emulator.modbus.access import AccessLevel
from plc_emulator.modbus.serial_link import SerialConfig
from plc_emulator.modbus.tls import TlsConfig

__all__ = ["Limits", "ModbusConfig", "default_max_connections"]


def default_max_connections() -> int:
    """A quarter of the process's descriptor limit, 8..256: leaves descriptors for HTTP, OPC UA, files."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 256
    return max(8, min(256, int(soft) // 4))


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Connection hygiene of one listener (docs/modbus.md, "Connections"); 0 disables a timeout."""

    max_connections: int = field(default_factory=default_max_connections)
    max_per_address: int = 64  # connections from one client address
    idle_timeout: float = 300.0  # s without a received byte -> closed
    frame_timeout: float = 5.0  # s a half-received frame may wait for its rest -> closed

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_per_address < 1:
            raise ValueError("connection limits must be >= 1")
        if self.idle_timeout < 0 or self.frame_timeout < 0:
            raise ValueError("timeouts must be >= 0 s (0 = none)")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusConfig:
    access: AccessLevel = AccessLevel.OPERATOR  # plain TCP (and RTU) listeners
    limits: Limits = field(default_factory=Limits)
    unit_ids: tuple[int, ...] = ()  # served in addition to the tag map's unit id
    rtu_tcp_port: int | None = None  # RTU framing over TCP on its own port
    tls: TlsConfig | None = None  # Modbus/TCP Security
    serial: SerialConfig | None = None  # RTU on a serial port
