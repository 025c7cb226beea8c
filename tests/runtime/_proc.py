"""Run ``plc-emulator`` as a subprocess and wait for its lines with deadlines (no sleeping)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import ROOT

CLI = str(ROOT / ".venv" / "bin" / "plc-emulator")
# Variables the emulator reads: cleared so the developer's shell cannot change a test's outcome.
EMULATOR_ENV = ("LOG_LEVEL", "POLL_INTERVAL_MS", "MODBUS_PORT", "OPCUA_PORT", "API_PORT", "DATA_DIR",
                "BIND_HOST", "CLEANUP_HOURS", "MQTT_URL", "MQTT_CA", "MQTT_CERT", "MQTT_KEY", "MQTT_USERNAME",
                "MQTT_PASSWORD", "MQTT_PASSWORD_FILE", "MQTT_MAX_BACKLOG_AGE", "SPARKPLUG_URL", "SPARKPLUG_GROUP",
                "SPARKPLUG_NODE", "SPARKPLUG_HOST_ID", "MODBUS_ACCESS", "EVENT_LOOP")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_ENV}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


class Proc:
    """A child process whose stdout lines arrive on a queue and stderr is collected."""

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.args = list(args)
        self.p = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(env) if env is not None else clean_env(), cwd=cwd)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._t_out = threading.Thread(target=self._pump_out, daemon=True)
        self._t_err = threading.Thread(target=self._pump_err, daemon=True)
        self._t_out.start()
        self._t_err.start()

    def _pump_out(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.stdout.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _pump_err(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.stderr.append(line.rstrip("\n"))

    def wait_line(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {prefix!r} line within {timeout} s; stderr: {self.stderr[-5:]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.p.wait(5)
                rc = self.p.returncode
                raise AssertionError(f"exited {rc} before {prefix!r}; stderr: {self.stderr[-5:]}")
            if line.startswith(prefix):
                return line

    def wait(self, timeout: float = 60.0) -> int:
        rc = self.p.wait(timeout)
        self._t_out.join(5)
        self._t_err.join(5)
        return rc

    def terminate(self, timeout: float = 30.0) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)


def run(args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 120.0,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=dict(env) if env is not None else clean_env(), check=False)


def ready_parts(line: str) -> dict[str, str]:
    """``ready modbus=H:P http=H:P scan=100ms`` -> {"modbus": "H:P", ...}."""
    return dict(part.split("=", 1) for part in line.split()[1:])
