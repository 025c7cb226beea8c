"""``plc-emulator run`` Modbus flags end to end (subprocess, loopback): one process serves plain TCP,
RTU-over-TCP and Modbus/TCP Security; the default access level refuses the one-line nc pause."""

from __future__ import annotations

import json
import socket
import ssl
import struct
from pathlib import Path

import pytest

from plc_emulator.modbus.rtu import rtu_frame
from tests.conftest import DEFAULT_TAGMAP
from tests.modbus.certs import Pki
from tests.runtime._proc import CLI, Proc, clean_env, ready_parts, run

pytestmark = pytest.mark.integration
PAUSE_FRAME = b"\x00\x01\x00\x00\x00\x06\x01\x05\x00\x04\xff\x00"  # FC 5 coil 4 (runtime.paused) ON


def _exchange(sock: socket.socket, frame: bytes, size: int) -> bytes:
    sock.sendall(frame)
    out = b""
    while len(out) < size:
        chunk = sock.recv(260)
        if not chunk:
            break
        out += chunk
    return out


def _addr(hostport: str) -> tuple[str, int]:
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def test_links_and_the_default_access_level(tmp_path: Path) -> None:
    """On the default event loop, uvloop: the transports are uvloop's, not asyncio's."""
    pki = Pki(tmp_path / "pki")
    crt, key = pki.issue("plc", server=True)
    ccrt, ckey = pki.issue("hmi", role="Engineer")
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
                 "--data-dir", str(tmp_path / "data"), "--modbus-rtu-tcp-port", "0", "--modbus-units", "3",
                 "--modbus-tls-port", "0", "--modbus-tls-cert", str(crt), "--modbus-tls-key", str(key),
                 "--modbus-tls-ca", str(pki.ca)])
    try:
        parts = ready_parts(proc.wait_line("ready ", 60))
        with socket.create_connection(_addr(parts["modbus"]), timeout=5) as s:
            assert _exchange(s, PAUSE_FRAME, 9) == b"\x00\x01\x00\x00\x00\x03\x01\x85\x01"
        with socket.create_connection(_addr(parts["modbus-rtu-tcp"]), timeout=5) as s:
            resp = _exchange(s, rtu_frame(3, struct.pack(">BHH", 3, 100, 2)), 9)
            assert resp[:3] == b"\x03\x03\x04"
            assert resp == rtu_frame(3, resp[1:-2])
        ctx = ssl.create_default_context(cafile=str(pki.ca))
        ctx.load_cert_chain(str(ccrt), str(ckey))
        with socket.create_connection(_addr(parts["modbus-tls"]), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert _exchange(s, PAUSE_FRAME, 12) == PAUSE_FRAME  # the certificate's role: engineer
        assert proc.terminate(60) == 0, proc.stderr[-5:]
    finally:
        proc.kill()
    assert any("audit.write" in line and "denied" in line for line in proc.stderr)
    loops = [json.loads(line)["loop"] for line in proc.stderr if '"runtime.event_loop"' in line]
    assert loops == ["uvloop"], proc.stderr[:5]


@pytest.mark.parametrize(("args", "needle"), [
    (["--modbus-access", "root"], "--modbus-access: access level must be one of viewer, operator, engineer"),
    (["--modbus-tls-port", "0"], "--modbus-tls-port needs --modbus-tls-cert FILE"),
    (["--event-loop", "tokio"], "event loop must be one of uvloop, asyncio (got 'tokio')"),
])
def test_bad_modbus_flags_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    r = run([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path / "d"), *args], env=clean_env(),
            timeout=60)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr
