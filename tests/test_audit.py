"""The shared audit record and log (used by the OPC UA, Modbus and HTTP interfaces)."""

from __future__ import annotations

from plc_emulator.audit import AuditAction, AuditLog, AuditRecord


def test_audit_log_sinks() -> None:
    log = AuditLog()
    got: list[AuditRecord] = []

    def broken(rec: AuditRecord) -> None:
        raise RuntimeError("sink down")

    log.add_sink(broken)
    log.add_sink(got.append)
    rec = AuditRecord(interface="modbus", action=AuditAction.WRITE, target="LIC100.sp", user=None,
                      client="10.0.0.5:5000", old=50.0, new=float("nan"), result="IllegalDataValue")
    log.record(rec)
    log.record(rec)
    assert got == [rec, rec]
    assert rec.as_dict()["new"] == "nan"
    assert not rec.ok
