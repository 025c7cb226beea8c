"""Who is asking: the access level of a Modbus listener (or TLS client certificate) and the audit trail.

Levels are the user roles of :data:`plc_emulator.image.writes.ROLES`: ``viewer`` reads only,
``operator`` writes process points (setpoints, modes, outputs, commands, acknowledgements),
``engineer`` also drives the simulation, resets the ESD and injects faults. Plain TCP and RTU
listeners default to ``operator``; higher levels come only from configuration or from the TLS
client certificate's role. A request the level does not allow is answered with exception 0x01
(illegal function), the code the Modbus/TCP Security specification gives for an unauthorized
request, and audited with the client's address.

:func:`audit` is the one place Modbus records who changed what: one ``audit.write`` record per
write request with the client, the tag, old and new value and the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import structlog

from plc_emulator.audit import AuditAction, AuditRecord

__all__ = ["LOCAL", "AccessLevel", "Client", "audit", "parse_level"]

_log = structlog.get_logger("plc_emulator.audit")


class AccessLevel(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ENGINEER = "engineer"


def parse_level(text: str) -> AccessLevel:
    """``viewer`` / ``operator`` / ``engineer`` (any case); ValueError with the choices otherwise."""
    try:
        return AccessLevel(str(text).strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in AccessLevel)
        raise ValueError(f"access level must be one of {choices} (got {text!r})") from None


@dataclass(frozen=True, slots=True)
class Client:
    """One connection's identity: its address (``ip:port``, serial device) and access level."""

    address: str
    level: AccessLevel = AccessLevel.OPERATOR
    link: str = "tcp"


LOCAL: Final = Client("local", AccessLevel.OPERATOR, "local")


def audit(client: Client, what: str, old: float | None, new: float | None, result: str, *,
          sink: Callable[[AuditRecord], None] | None = None) -> None:
    """Record one write attempt: who (address, level, link), what (tag), old/new value, result.

    ``sink`` is the runtime's shared :class:`~plc_emulator.audit.AuditLog` (journal-free: the
    historian's event table and the OPC UA audit events), so Modbus writes are audited like the
    other interfaces; without one the record is only logged."""
    _log.info("audit.write", protocol="modbus", client=client.address, link=client.link,
              level=client.level.value, target=what, old=old, new=new, result=result)
    if sink is not None:
        sink(AuditRecord(interface="modbus", action=AuditAction.WRITE, target=what, user=None,
                         client=f"{client.address} ({client.link}, {client.level.value})", old=old, new=new,
                         result="Good" if result == "accepted" else result))
