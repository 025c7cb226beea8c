"""The one write rule shared by every protocol: an EU value for a tag -> a Command, or WriteRejected.

Modbus (after decoding registers to an EU value) and OPC UA (after unwrapping the Variant) both call
:func:`validate_write`, so one function decides whether a write is accepted on any protocol. Checks,
in order: role, access, type (finite number; bools 0/1; enums and integer signals whole numbers),
then the tag's write limits (enums: a valid state index). Nothing is queued here.
"""

from __future__ import annotations

import math
from typing import Final

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.catalogue import ValueType
from plc_emulator.errors import Rejection, WriteRejected
from plc_emulator.signals import lookup
from plc_emulator.tagmap.model import Access, Tag, TagKind, ValueFormat

__all__ = ["ROLES", "validate_text_write", "validate_write"]

# User roles of OPC UA sessions and Modbus listeners: viewers read only, operators write process
# points (setpoints, modes, outputs, commands, acknowledgements), engineers also drive the
# simulation (``runtime.*``: pause, speed, step), reset the ESD and inject faults (``faults.*``,
# ``comm.*``). ``role=None`` means no access control (tests, tools).
ROLES: Final = ("viewer", "operator", "engineer")
_ENGINEER_ONLY_PREFIXES: Final = ("runtime.", "faults.", "comm.", "ESD.reset")


def _vtype(tag: Tag) -> ValueType:
    if tag.kind is TagKind.DISCRETE:
        return ValueType.BOOL
    if tag.kind is TagKind.MULTISTATE:
        return ValueType.ENUM
    spec = lookup(tag.signal)
    if tag.kind is TagKind.COUNTER or (spec is not None and spec.vtype is ValueType.INT):
        return ValueType.INT
    return ValueType.FLOAT


def is_string(tag: Tag) -> bool:
    return tag.modbus is not None and tag.modbus.format is ValueFormat.STRING


def _check_access(tag: Tag, role: str | None) -> None:
    key = tag.key
    if role is not None:
        if role not in ROLES or role == "viewer":
            raise WriteRejected(Rejection.ACCESS_DENIED, key, f"role {role!r} may not write")
        if role != "engineer" and tag.signal.startswith(_ENGINEER_ONLY_PREFIXES):
            raise WriteRejected(Rejection.ACCESS_DENIED, key, f"role {role!r} may not write {tag.signal}")
    if tag.access is not Access.RW:
        raise WriteRejected(Rejection.NOT_WRITABLE, key, "read-only point")


def validate_text_write(tag: Tag, text: str, source: str = "modbus", role: str | None = None) -> Command:
    """A client write of ``text`` to a string point -> its Command (value = length, params["text"]).

    Same role and access checks as :func:`validate_write`; ``text`` must be 7-bit ASCII without NUL
    and fit the point (2 characters per register), else TYPE_MISMATCH / OUT_OF_RANGE.
    """
    _check_access(tag, role)
    if not is_string(tag) or tag.modbus is None:
        raise WriteRejected(Rejection.TYPE_MISMATCH, tag.key, "not a string point")
    bad = next((i for i, ch in enumerate(text) if not 0 < ord(ch) < 0x80), None)
    if bad is not None:
        raise WriteRejected(Rejection.TYPE_MISMATCH, tag.key,
                            f"ASCII text only: character {ord(text[bad]):#04x} at offset {bad}")
    if len(text) > 2 * tag.modbus.length:
        raise WriteRejected(Rejection.OUT_OF_RANGE, tag.key,
                            f"at most {2 * tag.modbus.length} characters (got {len(text)})")
    return Command(kind=CommandKind.WRITE, target=tag.signal, value=float(len(text)), params={"text": text},
                   source=source)


def _fmt(value: float) -> str:
    return f"{value:g}"


def validate_write(tag: Tag, value: object, source: str = "opcua", role: str | None = None) -> Command:
    """Check a client write of ``value`` (EU, 0/1 or state index) to ``tag``; return its Command.

    Raises :class:`WriteRejected` with NOT_WRITABLE (read-only tag), ACCESS_DENIED (role may not
    write it), TYPE_MISMATCH (not a finite number, a bool other than 0/1, a fractional enum or
    integer) or OUT_OF_RANGE (outside the write limits, or not a state index).
    """
    key = tag.key
    _check_access(tag, role)
    if is_string(tag):
        raise WriteRejected(Rejection.TYPE_MISMATCH, key, "string point: write its text (Modbus FC 16)")
    if isinstance(value, bool):
        number = 1.0 if value else 0.0
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise WriteRejected(Rejection.TYPE_MISMATCH, key, f"not a number (got {type(value).__name__})")
    if not math.isfinite(number):
        raise WriteRejected(Rejection.TYPE_MISMATCH, key, f"not a finite number (got {number})")
    vtype = _vtype(tag)
    if vtype is ValueType.BOOL and number not in (0.0, 1.0):
        raise WriteRejected(Rejection.TYPE_MISMATCH, key, f"boolean point takes 0 or 1 (got {_fmt(number)})")
    if vtype in (ValueType.ENUM, ValueType.INT) and not number.is_integer():
        raise WriteRejected(Rejection.TYPE_MISMATCH, key, f"integer point (got {_fmt(number)})")
    if vtype is ValueType.ENUM and tag.states and not 0 <= number < len(tag.states):
        raise WriteRejected(
            Rejection.OUT_OF_RANGE, key,
            f"state index 0..{len(tag.states) - 1} (got {_fmt(number)})",
        )
    lo, hi = tag.write_limits if tag.write_limits is not None else tag.range
    if not lo <= number <= hi:
        raise WriteRejected(
            Rejection.OUT_OF_RANGE, key, f"outside write limits {_fmt(lo)}..{_fmt(hi)} (got {_fmt(number)})"
        )
    return Command(kind=CommandKind.WRITE, target=tag.signal, value=number, source=source)
