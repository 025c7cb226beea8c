"""``plc-emulator run`` OPC UA options: bad values exit 2 with one line, before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_TAGMAP

CODE = "from plc_emulator.cli import main; raise SystemExit(main())"


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CODE, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp),
                           "--modbus-port", "0", "--http-port", "0", "--opcua-port", "0", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("args", "message"), [
    (("--opcua-security", "Basic128Rsa15"), "unknown OPC UA security policy 'Basic128Rsa15'"),
    (("--opcua-no-anonymous",), "--opcua-no-anonymous needs --opcua-users FILE"),
    (("--opcua-users", "/nonexistent/users.yaml"), "cannot read users file"),
    (("--opcua-port", "70000"), "opcua port must be a port number"),
])
def test_bad_opcua_options_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    res = run(*args, tmp=tmp_path)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_unreadable_certificate_is_one_line(tmp_path: Path) -> None:
    """A corrupt server key stops the server with one clear line (exit 1), no traceback."""
    own = tmp_path / "pki" / "own"
    own.mkdir(parents=True)
    (own / "cert.der").write_bytes(b"junk")
    (own / "key.pem").write_bytes(b"junk")
    res = run("--duration", "1s", tmp=tmp_path)
    assert res.returncode == 1
    assert "cert.der is not a valid DER certificate" in res.stderr
    assert "Traceback" not in res.stderr


def test_anonymous_role_flag_and_warning(tmp_path: Path) -> None:
    base = [sys.executable, "-c", CODE, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path), "--modbus-port",
            "0", "--http-port", "0", "--opcua-port", "0", "--speed", "max", "--duration", "1s"]
    bad = subprocess.run([*base, "--opcua-anonymous-role", "admin"], capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode == 2
    assert "--opcua-anonymous-role" in bad.stderr
    warned = subprocess.run(base, capture_output=True, text=True, timeout=120, check=False)
    assert warned.returncode == 0, warned.stderr[-2000:]
    assert "opcua.anonymous_can_write role=operator" in warned.stderr
    quiet = subprocess.run([*base, "--opcua-anonymous-role", "viewer"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert quiet.returncode == 0
    assert "anonymous_can_write" not in quiet.stderr
