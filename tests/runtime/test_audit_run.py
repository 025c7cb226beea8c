"""Audit on the real `plc-emulator run`: Modbus (with the client address) and HTTP (with the user or
address) write attempts land in the historian's event table, accepted and refused alike."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

from tests.conftest import DEFAULT_TAGMAP, free_port
from tests.runtime._proc import CLI, Proc, ready_parts
from tests.runtime.test_cli import _modbus_write_float

SP_ADDRESS = 100  # SEP-V100.LIC100_SP, float32 ABCD (README register map)


def _coil_write(port: int, address: int, on: bool) -> bytes:
    import socket
    import struct

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack(">HHHBBHH", 7, 0, 6, 1, 5, address, 0xFF00 if on else 0))
        return s.recv(64)[7:]


def _http_put(port: int, tag: str, value: float) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/tags/{tag}", method="PUT",
                                 data=json.dumps({"value": value}).encode(),
                                 headers={"Content-Type": "application/json", "X-PLC-Request": "1"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


def test_modbus_and_http_writes_are_audited_in_the_historian(tmp_path: Path) -> None:
    mb, http = free_port(), free_port()
    data = tmp_path / "data"
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(mb),
                 "--http-port", str(http), "--opcua-port", "0", "--data-dir", str(data)])
    try:
        ready_parts(proc.wait_line("ready ", 60))
        assert _modbus_write_float(mb, SP_ADDRESS, 61.5)[0] == 16  # operator may write a setpoint
        assert _coil_write(mb, 3, True)[:2] == bytes([0x85, 0x01])  # ESD reset needs engineer: 0x01
        assert _http_put(http, "SEP-V100.LIC100_SP", 55.0) == 202  # anonymous is an operator
        rc = proc.terminate(60)
    finally:
        proc.kill()
    assert rc == 0, proc.stderr[-5:]
    with sqlite3.connect(data / "historian.db") as db:
        rows = [json.loads(d) for (d,) in db.execute("SELECT data FROM events WHERE kind = 'audit' ORDER BY id")]
    modbus = [r for r in rows if r["interface"] == "modbus"]
    http_rows = [r for r in rows if r["interface"] == "http"]
    assert (modbus[0]["target"], modbus[0]["new"], modbus[0]["result"]) == ("LIC100.sp", 61.5, "Good")
    assert any(r["result"].startswith("denied") for r in modbus[1:])
    assert all(r["client"].startswith("127.0.0.1:") for r in modbus)
    assert [(r["target"], r["new"], r["old"], r["result"]) for r in http_rows] == [
        ("SEP-V100.LIC100_SP", 55.0, 61.5, "Good")]
    assert http_rows[0]["client"] == "127.0.0.1"
    assert http_rows[0]["user"] is None  # anonymous
