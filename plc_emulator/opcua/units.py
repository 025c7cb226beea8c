"""Engineering units -> OPC UA EUInformation fields (UNECE Recommendation 20 common codes). Pure.

OPC UA Part 8 (5.6.3) encodes a UNECE common code of up to three ASCII characters as an Int32:
``c0 << 16 | c1 << 8 | c2`` (``CEL`` -> 4408652, ``PS`` -> 20563) in the namespace
``http://www.opcfoundation.org/UA/units/un/cefact``. Units with no common code (MMSCFD, speed factor,
ticks, dimensionless counts) get ``UnitId = -1`` with our own display name and description, as the
spec allows for units outside the table.

Codes checked against the UNECE Rec 20 tables used by node-opcua's generated unit list and the
OPC Foundation UNECE_to_OPCUA mapping: PS (pound-force per square inch), CEL (degree Celsius), P1
(percent), B1 (barrel (US) per day), C16 (millimetre per second), RPM (revolutions per minute), C26
(millisecond), SEC (second), HUR (hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["UNECE_NAMESPACE", "UnitInfo", "unit_id", "unit_info"]

UNECE_NAMESPACE: Final = "http://www.opcfoundation.org/UA/units/un/cefact"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitInfo:
    code: str | None  # UNECE common code, None when there is none
    unit_id: int  # OPC UA UnitId (Int32), -1 when there is no common code
    display: str  # DisplayName
    description: str


def unit_id(code: str) -> int:
    """UNECE common code (1-3 ASCII characters) -> OPC UA UnitId."""
    if not 1 <= len(code) <= 3 or not code.isascii():
        raise ValueError(f"not a UNECE common code: {code!r}")
    value = 0
    for ch in code:
        value = (value << 8) | ord(ch)
    return value


# unit as written in the tag map (case-insensitive) -> (code, display, description)
_TABLE: Final[dict[str, tuple[str | None, str, str]]] = {
    "psi": ("PS", "psi", "pound-force per square inch"),
    "psig": ("PS", "psig", "pound-force per square inch (gauge)"),
    "psia": ("PS", "psia", "pound-force per square inch (absolute)"),
    "°c": ("CEL", "°C", "degree Celsius"),
    "degc": ("CEL", "°C", "degree Celsius"),
    "%": ("P1", "%", "percent"),
    "bbl/day": ("B1", "bbl/d", "barrel (US) per day"),
    "bbl/d": ("B1", "bbl/d", "barrel (US) per day"),
    "mm/s": ("C16", "mm/s", "millimetre per second"),
    "rpm": ("RPM", "r/min", "revolutions per minute"),
    "ms": ("C26", "ms", "millisecond"),
    "s": ("SEC", "s", "second"),
    "h": ("HUR", "h", "hour"),
    "mmscfd": (None, "MMSCFD", "million standard cubic feet per day (no UNECE common code)"),
    "kw/k": (None, "kW/K", "kilowatt per kelvin (heat transfer coefficient x area)"),
    "x": (None, "x", "speed factor relative to real time"),
    "ticks": (None, "ticks", "scan ticks"),
    "": (None, "", "dimensionless"),
}


def unit_info(unit: str) -> UnitInfo:
    """EUInformation fields for a tag-map unit; unknown units get UnitId -1 and their own text."""
    entry = _TABLE.get(unit.strip().lower())
    if entry is None:
        return UnitInfo(code=None, unit_id=-1, display=unit, description=unit)
    code, display, description = entry
    uid = unit_id(code) if code else -1
    return UnitInfo(code=code, unit_id=uid, display=display, description=description)
