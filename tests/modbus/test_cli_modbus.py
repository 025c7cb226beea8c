"""``plc-emulator run`` Modbus flags end to end (subprocess, loopback)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_TAGMAP
from tests.runtime._proc import CLI, Proc, clean_env, ready_parts, run

pytestmark = pytest.mark.integration
PAUSE_FRAME = b"\x00\x01\x00\x00\x00\x06\x01\x05\x00\x04\xff\x00"  # FC 5 coil 4 (runtime.paused) ON


def _exchange(hostport: str, frame: bytes) -> bytes:
    host, port = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(frame)
        out = b""
        while len(out) < 6 or len(out) < 6 + int.from_bytes(out[4:6], "big"):
            chunk = s.recv(260)
            if not chunk:
                break
            out += chunk
        return out


def test_nc_pause_is_refused_by_default(tmp_path: Path) -> None:
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
                 "--data-dir", str(tmp_path / "data")])
    try:
        parts = ready_parts(proc.wait_line("ready ", 60))
        assert _exchange(parts["modbus"], PAUSE_FRAME) == b"\x00\x01\x00\x00\x00\x03\x01\x85\x01"
        assert proc.terminate(60) == 0, proc.stderr[-5:]
    finally:
        proc.kill()
    assert any("audit.write" in line and "denied" in line for line in proc.stderr)


@pytest.mark.parametrize(("args", "env", "needle"), [
    (["--modbus-access", "root"], {}, "--modbus-access: access level must be one of viewer, operator, engineer"),
])
def test_bad_modbus_flags_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], needle: str) -> None:
    r = run([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path / "d"), *args], env=clean_env(env),
            timeout=60)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr
