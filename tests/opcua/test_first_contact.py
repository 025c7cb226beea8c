"""First contact as UaExpert/node-opcua do it, against the real ``plc-emulator run`` with its defaults.

The client always sends its own application certificate. On the None endpoint the server ignores it
(Part 4 5.6.2.2), so a session works with an empty trust list. On Basic256Sha256 SignAndEncrypt the
unknown certificate is refused (BadCertificateUntrusted) and kept in ``pki/rejected/``; after
``plc-emulator certs trust rejected/NAME.der`` the same client gets in, without a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from plc_emulator.opcua.trust import REJECTED_CAP, list_certificates, store_rejected
from tests.conftest import DEFAULT_TAGMAP, ROOT
from tests.runtime._proc import CLI, Proc, clean_env, ready_parts

NODE = shutil.which("node")
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"
SCRIPT = Path(__file__).parent / "js" / "first_contact.js"


async def first_contact(url: str, pki: Path, secure: bool) -> dict[str, Any]:
    assert NODE is not None
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
    pipe = asyncio.subprocess.PIPE
    cfg = json.dumps({"url": url, "pki": str(pki), "secure": secure})
    proc = await asyncio.create_subprocess_exec(NODE, str(SCRIPT), cfg, env=env, stdout=pipe, stderr=pipe)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


def certs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "certs", *args], capture_output=True, text=True, timeout=60, check=False,
                          env=clean_env())


@pytest.mark.integration
@pytest.mark.external
@pytest.mark.skipif(NODE is None or not (NODE_MODULES / "node-opcua-client").is_dir(),
                    reason="node or tools/node/node_modules/node-opcua-client not installed")
async def test_none_works_and_secure_needs_trust(tmp_path: Path) -> None:
    data = tmp_path / "data"
    client_pki = tmp_path / "client-pki"
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port",
                 "0", "--opcua-port", "0", "--data-dir", str(data)])
    try:
        parts = ready_parts(proc.wait_line("ready ", 90))
        url = f"opc.tcp://{parts['opcua']}/plc-emulator/"
        pki = data / "pki"
        assert list((pki / "trusted").iterdir()) == []  # empty trust list
        none = await first_contact(url, client_pki, secure=False)
        assert none["ok"], none
        assert none["state"] == 0  # ServerState Running
        assert not (pki / "rejected").exists() or list((pki / "rejected").iterdir()) == []

        refused = await first_contact(url, client_pki, secure=True)
        assert not refused["ok"]
        assert "BadCertificateUntrusted" in refused["error"], refused
        rejected = sorted((pki / "rejected").iterdir())
        assert len(rejected) == 1
        assert rejected[0].name.startswith("plc-emulator-first-contact_")

        metrics = await asyncio.to_thread(scrape, f"http://{parts['http']}/metrics")
        assert 'plc_opcua_rejected_requests_total{reason="certificate"} 1.0' in metrics
        for family in ("plc_opcua_sessions", "plc_opcua_subscriptions", "plc_opcua_monitored_items",
                       "plc_opcua_publish_queue"):
            assert f"\n{family} " in metrics, family

        listed = certs("list", "--dir", str(pki))
        assert listed.returncode == 0, listed.stderr
        thumb = next(c.thumbprint for c in list_certificates(pki) if c.group == "rejected")
        assert any(line.startswith("rejected") and thumb in line for line in listed.stdout.splitlines())
        assert "1 own, 0 trusted, 1 rejected" in listed.stdout

        trusted = certs("trust", f"rejected/{rejected[0].name}", "--dir", str(pki))
        assert trusted.returncode == 0, trusted.stderr
        assert (pki / "trusted" / rejected[0].name).is_file()
        assert not rejected[0].exists()

        secure = await first_contact(url, client_pki, secure=True)
        assert secure["ok"], secure
        assert secure["securityMode"] == 3  # SignAndEncrypt
        rc = proc.terminate(60)
    finally:
        proc.kill()
    assert rc == 0


def test_rejected_folder_is_capped(tmp_path: Path) -> None:
    """Spraying certificates keeps at most REJECTED_CAP files, the newest; a repeat is stored once."""
    folder = tmp_path / "rejected"
    paths = [store_rejected(folder, f"not a certificate {i}".encode(), cap=5) for i in range(8)]
    assert all(p is not None for p in paths)
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted(p.name for p in paths[3:] if p is not None)
    again = store_rejected(folder, b"not a certificate 7", cap=5)
    assert again == paths[7]
    assert len(list(folder.iterdir())) == 5
    assert REJECTED_CAP == 100


def test_certs_cli_errors(tmp_path: Path) -> None:
    missing = certs("trust", "rejected/nope.der", "--dir", str(tmp_path))
    assert missing.returncode == 2
    assert "certificate file not found" in missing.stderr
    no_file = certs("trust", "--dir", str(tmp_path))
    assert no_file.returncode == 2
    assert "needs a certificate file" in no_file.stderr
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"junk")
    bad = certs("trust", str(junk), "--dir", str(tmp_path))
    assert bad.returncode == 2
    assert "is not a DER or PEM certificate" in bad.stderr
    nolist = certs("list", "--dir", str(tmp_path / "absent"))
    assert nolist.returncode == 2
    assert "PKI folder not found" in nolist.stderr
    for res in (missing, no_file, bad, nolist):
        assert "Traceback" not in res.stderr
