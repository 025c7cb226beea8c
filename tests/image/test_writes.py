"""validate_write: the one rule for client writes on every protocol."""

from __future__ import annotations

import pytest

from plc_emulator.commands import CommandKind
from plc_emulator.errors import Rejection, WriteRejected
from tests.image.maps import full_map

M = full_map()


def _reason(key: str, value: object, role: str | None = None) -> Rejection:
    with pytest.raises(WriteRejected) as e:
        M.tag(key) and __import__("plc_emulator.image.writes", fromlist=["x"]).validate_write(
            M.tag(key), value, source="opcua", role=role)
    return e.value.reason


def test_accepts_in_limits() -> None:
    from plc_emulator.image.writes import validate_write
    cmd = validate_write(M.tag("DEV.sp_f32"), 42, source="opcua")
    assert (cmd.kind, cmd.target, cmd.value, cmd.source) == (CommandKind.WRITE, "LIC100.sp", 42.0, "opcua")
    assert validate_write(M.tag("DEV.run_cmd"), True).value == 1.0
    assert validate_write(M.tag("DEV.mode"), 1.0).value == 1.0
    assert validate_write(M.tag("DEV.step"), 3, role="engineer").value == 3.0


@pytest.mark.parametrize(("key", "value", "role", "reason"), [
    ("DEV.ro_float32_ABCD", 1.0, None, Rejection.NOT_WRITABLE),
    ("DEV.sp_f32", float("nan"), None, Rejection.TYPE_MISMATCH),
    ("DEV.sp_f32", float("inf"), None, Rejection.TYPE_MISMATCH),
    ("DEV.sp_f32", "50", None, Rejection.TYPE_MISMATCH),
    ("DEV.sp_f32", None, None, Rejection.TYPE_MISMATCH),
    ("DEV.sp_f32", 80.0001, None, Rejection.OUT_OF_RANGE),
    ("DEV.sp_f32", 19.9, None, Rejection.OUT_OF_RANGE),
    ("DEV.run_cmd", 2, None, Rejection.TYPE_MISMATCH),
    ("DEV.run_cmd", 0.5, None, Rejection.TYPE_MISMATCH),
    ("DEV.mode", 0.5, None, Rejection.TYPE_MISMATCH),
    ("DEV.mode", 2, None, Rejection.OUT_OF_RANGE),
    ("DEV.step", 2.5, None, Rejection.TYPE_MISMATCH),
    ("DEV.sp_f32", 50.0, "viewer", Rejection.ACCESS_DENIED),
    ("DEV.sp_f32", 50.0, "nobody", Rejection.ACCESS_DENIED),
    ("DEV.step", 5, "operator", Rejection.ACCESS_DENIED),
])
def test_rejections(key: str, value: object, role: str | None, reason: Rejection) -> None:
    assert _reason(key, value, role) is reason


def test_operator_writes_process_points() -> None:
    from plc_emulator.image.writes import validate_write
    assert validate_write(M.tag("DEV.sp_f32"), 50.0, role="operator").target == "LIC100.sp"
