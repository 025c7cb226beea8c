"""`plc-emulator run` and `replay` as subprocesses: ready line, SIGTERM, env precedence, exit codes."""

from __future__ import annotations

import json
import signal
import socket
import struct
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_TAGMAP, free_port
from tests.runtime._proc import CLI, Proc, clean_env, ready_parts, run

pytestmark = pytest.mark.integration

SCENARIO = """\
name: cli_test
description: a write, a fault and its clearing, for journal/replay tests
seed: 5
events:
  - {at: 1s, action: write, target: LIC100.sp, value: 60}
  - {at: 2s, action: inject_fault, target: V100.pressure, params: {kind: bias, offset: 3}}
  - {at: 4s, action: clear_fault, target: V100.pressure}
"""


def _health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _modbus_write_float(port: int, address: int, value: float) -> bytes:
    """FC16 write of one float32 (ABCD) to holding ``address``; returns the response PDU."""
    values = struct.pack(">f", value)
    pdu = struct.pack(">BHHB", 16, address, 2, 4) + values
    adu = struct.pack(">HHHB", 1, 0, len(pdu) + 1, 1) + pdu
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(adu)
        head = s.recv(7)
        _tid, _pid, length, _unit = struct.unpack(">HHHB", head)
        body = b""
        while len(body) < length - 1:
            body += s.recv(length - 1 - len(body))
    return body


def _digest(lines: list[str]) -> str:
    return next(line.split()[1] for line in lines if line.startswith("digest: "))


class TestRun:
    def test_ready_health_write_sigterm_and_replay(self, tmp_path: Path) -> None:
        """Real time: ready, /health 200, a Modbus write journaled, SIGTERM -> 0, replay gives the digest."""
        mb, http = free_port(), free_port()
        journal = tmp_path / "live.jsonl"
        proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(mb),
                     "--http-port", str(http), "--journal", str(journal),
                     "--data-dir", str(tmp_path / "data")])
        try:
            parts = ready_parts(proc.wait_line("ready ", 60))
            assert parts["modbus"] == f"127.0.0.1:{mb}"
            assert parts["http"] == f"127.0.0.1:{http}"
            assert parts["scan"] == "100ms"
            status, body = _health(http)
            assert status == 200, body
            assert body["status"] == "ok"
            assert _modbus_write_float(mb, 100, 61.5) == struct.pack(">BHH", 16, 100, 2)  # LIC100_SP
            rc = proc.terminate(60)
        finally:
            proc.kill()
        assert rc == 0, proc.stderr[-5:]
        live = _digest(proc.stdout)
        lines = journal.read_text().splitlines()
        assert json.loads(lines[-1]).keys() == {"end_tick"}
        writes = [json.loads(x) for x in lines[1:-1]]
        assert [(w["target"], w["value"], w["source"]) for w in writes] == [("LIC100.sp", 61.5, "modbus")]
        rep = run([CLI, "replay", str(DEFAULT_TAGMAP), str(journal)])
        assert rep.returncode == 0, rep.stderr
        assert _digest(rep.stdout.splitlines()) == live

    def test_ctrl_c_stops_cleanly(self, tmp_path: Path) -> None:
        """SIGINT (Ctrl-C) at full speed: exit 0, digest printed, journal closed with end_tick."""
        journal = tmp_path / "j.jsonl"
        proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0",
                     "--http-port", "0", "--speed", "max", "--journal", str(journal),
                     "--data-dir", str(tmp_path / "data")])
        try:
            proc.wait_line("ready ", 60)
            proc.p.send_signal(signal.SIGINT)
            rc = proc.wait(60)
        finally:
            proc.kill()
        assert rc == 0, proc.stderr[-5:]
        assert any(line.startswith("digest: ") for line in proc.stdout)
        assert json.loads(journal.read_text().splitlines()[-1]).keys() == {"end_tick"}

    def test_duration_scenario_max_speed_replays(self, tmp_path: Path) -> None:
        """--speed max --duration: exits 0 by itself; scenario commands are journaled; replay matches."""
        scenario = tmp_path / "s.yaml"
        scenario.write_text(SCENARIO)
        journal = tmp_path / "j.jsonl"
        res = run([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0",
                   "--http-port", "0", "--speed", "max", "--duration", "6s", "--scenario", str(scenario),
                   "--journal", str(journal), "--data-dir", str(tmp_path / "data")])
        assert res.returncode == 0, res.stderr
        header, *rest = journal.read_text().splitlines()
        assert json.loads(header)["seed"] == 5  # the scenario's seed (no --seed given)
        entries = [json.loads(x) for x in rest]
        assert [(e.get("tick"), e.get("kind")) for e in entries] == [
            (10, "write"), (20, "inject_fault"), (40, "clear_fault"), (None, None)]
        assert entries[-1] == {"end_tick": 60}
        rep = run([CLI, "replay", str(DEFAULT_TAGMAP), str(journal)])
        assert rep.returncode == 0, rep.stderr
        assert _digest(rep.stdout.splitlines()) == _digest(res.stdout.splitlines())
        # JSON logs when stderr is not a TTY; meaningful events only, none per scan
        events = [json.loads(line)["event"] for line in res.stderr.splitlines() if line.startswith("{")]
        assert {"plc.started", "app.ready", "plc.stopped", "app.stopped"} <= set(events)
        assert len(events) < 30  # 60 scans ran

    def test_env_precedence(self, tmp_path: Path) -> None:
        """flag > env > tag map > default: --modbus-port beats MODBUS_PORT; API_PORT etc. apply."""
        env_mb, flag_mb, env_http = free_port(), free_port(), free_port()
        env = clean_env({"MODBUS_PORT": str(env_mb), "API_PORT": str(env_http), "POLL_INTERVAL_MS": "50",
                         "DATA_DIR": str(tmp_path / "d"), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "warning"})
        journal = tmp_path / "j.jsonl"
        res = run([CLI, "run", str(DEFAULT_TAGMAP), "--modbus-port", str(flag_mb), "--speed", "max",
                   "--duration", "1s", "--journal", str(journal)], env=env)
        assert res.returncode == 0, res.stderr
        parts = ready_parts(next(x for x in res.stdout.splitlines() if x.startswith("ready ")))
        assert parts["modbus"] == f"127.0.0.1:{flag_mb}"
        assert parts["http"] == f"127.0.0.1:{env_http}"
        assert parts["scan"] == "50ms"
        assert (tmp_path / "d").is_dir()
        assert "plc.started" not in res.stderr  # LOG_LEVEL=warning filters info lines
        header = json.loads(journal.read_text().splitlines()[0])
        assert (header["dt"], json.loads(journal.read_text().splitlines()[-1])) == (0.05, {"end_tick": 20})
        rep = run([CLI, "replay", str(DEFAULT_TAGMAP), str(journal)])  # replays with the journal's dt
        assert _digest(rep.stdout.splitlines()) == _digest(res.stdout.splitlines())
        res2 = run([CLI, "run", str(DEFAULT_TAGMAP), "--speed", "max", "--duration", "1s"], env=env)
        assert res2.returncode == 0, res2.stderr
        parts2 = ready_parts(next(x for x in res2.stdout.splitlines() if x.startswith("ready ")))
        assert parts2["modbus"] == f"127.0.0.1:{env_mb}"

    def test_port_in_use_exits_1_with_one_line(self, tmp_path: Path) -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            res = run([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(port),
                       "--http-port", "0", "--data-dir", str(tmp_path), "--log-level", "error"])
        assert res.returncode == 1
        assert res.stderr.strip().splitlines() == [f"plc-emulator: error: modbus port {port} on 127.0.0.1 is "
                                                   "already in use"]
        assert "Traceback" not in res.stderr

    @pytest.mark.parametrize(("args", "env", "message"), [
        (["--speed", "fast"], {}, "speed must be a number"),
        (["--modbus-port", "x"], {}, "invalid int value"),
        ([], {"POLL_INTERVAL_MS": "-5"}, "POLL_INTERVAL_MS must be"),
        ([], {"LOG_LEVEL": "loud"}, "log level must be one of"),
        ([], {"MODBUS_PORT": "70000"}, "modbus port must be a port number"),
        (["--duration", "soon"], {}, "not a duration"),
    ])
    def test_bad_input_exits_2(self, tmp_path: Path, args: list[str], env: dict[str, str],
                               message: str) -> None:
        res = run([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path), *args], env=clean_env(env))
        assert res.returncode == 2
        assert message in res.stderr
        assert "Traceback" not in res.stderr

    def test_bad_scenario_exits_2(self, tmp_path: Path) -> None:
        scenario = tmp_path / "bad.yaml"
        scenario.write_text("events:\n  - {at: 1s, action: explode, target: V100.pressure}\n")
        res = run([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path), "--scenario", str(scenario)])
        assert res.returncode == 2
        assert res.stderr.startswith(f"{scenario}:2:")
        assert "Traceback" not in res.stderr

    def test_missing_tagmap_exits_2(self, tmp_path: Path) -> None:
        res = run([CLI, "run", str(tmp_path / "nope.yaml")])
        assert res.returncode == 2
        assert res.stderr.strip() == f"plc-emulator: error: tag map not found: {tmp_path / 'nope.yaml'}"


class TestReplay:
    def _journal(self, tmp_path: Path) -> Path:
        journal = tmp_path / "j.jsonl"
        res = run([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0",
                   "--http-port", "0", "--speed", "max", "--duration", "2s", "--journal", str(journal),
                   "--data-dir", str(tmp_path / "d"), "--log-level", "error"])
        assert res.returncode == 0, res.stderr
        return journal

    def test_other_tagmap_exits_2(self, tmp_path: Path) -> None:
        journal = self._journal(tmp_path)
        other = tmp_path / "other.yaml"
        other.write_text(DEFAULT_TAGMAP.read_text() + "\n# edited\n")
        res = run([CLI, "replay", str(other), str(journal)])
        assert res.returncode == 2
        assert "was recorded with a different tag map" in res.stderr
        assert "Traceback" not in res.stderr

    def test_corrupt_line_exits_2_naming_it(self, tmp_path: Path) -> None:
        journal = self._journal(tmp_path)
        lines = journal.read_text().splitlines()
        lines.insert(1, '{"tick": 3, "kind": "write", "target": "LIC100.sp", "value": 50.0, "params": {}}')
        lines.insert(2, '{"tick": 4, "kind": "explode"')
        journal.write_text("\n".join(lines) + "\n")
        res = run([CLI, "replay", str(DEFAULT_TAGMAP), str(journal)])
        assert res.returncode == 2
        assert f"{journal}:3: corrupt journal line" in res.stderr
        assert "Traceback" not in res.stderr

    def test_without_end_tick_warns_and_replays_to_last_command(self, tmp_path: Path) -> None:
        journal = self._journal(tmp_path)
        lines = journal.read_text().splitlines()[:-1]  # as after a crash: no end_tick
        lines.append('{"tick": 7, "kind": "write", "target": "LIC100.sp", "value": 50.0, "params": {}}')
        journal.write_text("\n".join(lines) + "\n")
        res = run([CLI, "replay", str(DEFAULT_TAGMAP), str(journal)])
        assert res.returncode == 0, res.stderr
        assert "no end_tick" in res.stderr
        assert "tick: 7" in res.stdout.splitlines()
