"""MQTT over TLS against a real mosquitto that requires a client certificate and a password."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from historian import ForwardConfig, Forwarder, Historian, HistorianConfig, MqttSink, Store, mqtt_endpoint
from historian._transport import MqttEndpoint
from tests.historian.conftest import MOSQUITTO, Subscriber
from tests.historian.test_mqtt import _outage_run, _wait_count
from tests.historian.tlsbroker import PASSWORD, USER, TlsBroker

pytestmark = [pytest.mark.integration, pytest.mark.external]


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    if MOSQUITTO is None or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto / mosquitto_passwd not installed")
    b = TlsBroker(tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.stop()


def _endpoint(b: TlsBroker, **over: Any) -> MqttEndpoint:
    kw: dict[str, Any] = {
        "ca_file": b.pki.ca, "cert_file": b.pki.client_cert, "key_file": b.pki.client_key,
        "username": USER, "password": PASSWORD,
    }
    url = over.pop("url", b.url)
    kw.update(over)
    return mqtt_endpoint(url, **kw)


def _subscriber(b: TlsBroker) -> Subscriber:
    return Subscriber(b.port, tls=b.client_context(), username=USER, password=PASSWORD, host="localhost")


def _fcfg() -> ForwardConfig:
    return ForwardConfig(batch_rows=500, poll_interval=0.05, backoff_initial=0.1, backoff_max=0.5,
                         publish_timeout=1.5, gauge_interval=0.1)


async def _until(pred: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def _fill(db: Path, n: int) -> None:
    with Historian(db, HistorianConfig(commit_interval=0.05)) as h:
        h.record_many((f"DEV{i % 2}.t{i % 5}", 1000.0 + i, float(i), 0) for i in range(n))


class TestCredentials:
    async def test_right_credentials_deliver_everything(self, tls_broker: TlsBroker, tmp_path: Path) -> None:
        """Client certificate + password + CA: connected, every row delivered, /health reason ok."""
        db = tmp_path / "h.db"
        _fill(db, 300)
        sub = _subscriber(tls_broker)
        fwd = Forwarder(db, MqttSink(_endpoint(tls_broker), plant="tls", timeout=2.0), _fcfg())
        task = asyncio.create_task(fwd.run())
        try:
            await _until(lambda: fwd.metrics().forwarded_rows == 300, 20, "300 rows over TLS")
            await asyncio.to_thread(_wait_count, sub, 300)
            assert sorted(set(sub.seqs())) == list(range(1, 301))
            ok, reason = fwd.health()
            assert ok, reason
            assert fwd.sink.name == f"mqtts://localhost:{tls_broker.port}"
        finally:
            fwd.stop()
            await asyncio.wait_for(task, 10)
            sub.close()

    @pytest.mark.parametrize(
        ("case", "expect"),
        [
            ("bad_password", "Not authorized (check username and password)"),
            ("no_client_cert", "TLS refused: the broker requires a client certificate"),
            ("rogue_client_cert", "TLS refused: the broker does not trust our client certificate"),
            ("wrong_ca", "broker certificate not trusted (self-signed certificate in certificate chain"),
            ("host_name", "broker certificate not trusted (IP address mismatch"),
        ],
    )
    async def test_each_wrong_setting_is_refused_clearly(
        self, tls_broker: TlsBroker, tmp_path: Path, case: str, expect: str
    ) -> None:
        """One error log line and a /health reason per refusal; nothing acknowledged, backlog counted."""
        b = tls_broker
        over: dict[str, Any] = {
            "bad_password": {"password": "wrong-password"},
            "no_client_cert": {"cert_file": None, "key_file": None},
            "rogue_client_cert": {"cert_file": b.pki.rogue_cert, "key_file": b.pki.rogue_key},
            "wrong_ca": {"ca_file": b.pki.rogue_ca},
            "host_name": {"url": f"mqtts://127.0.0.1:{b.port}"},
        }[case]
        db = tmp_path / "h.db"
        _fill(db, 120)
        fwd = Forwarder(db, MqttSink(_endpoint(b, **over), plant="tls", timeout=1.0), _fcfg())
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(fwd.run())
            try:
                await _until(lambda: fwd.metrics().reconnects == 0 and fwd._backoff.failures >= 2, 20,
                             "two refused attempts")
                await _until(lambda: fwd.metrics().backlog_rows == 120, 5, "backlog gauge")
            finally:
                fwd.stop()
                await asyncio.wait_for(task, 10)
        m = fwd.metrics()
        assert m.refused
        assert not m.connected
        ok, reason = fwd.health()
        assert not ok
        assert expect in reason, reason
        errors = [e for e in logs if e["event"] == "historian.forward_refused"]
        assert len(errors) == 1, logs  # one clear line, not one per retry
        assert expect in errors[0]["reason"]
        assert all("wrong-password" not in str(e) and PASSWORD not in str(e) for e in logs)
        assert "wrong-password" not in repr(fwd.sink.endpoint)  # type: ignore[attr-defined]
        with Store(db) as st:
            assert st.cursor(fwd.sink.name).acked == 0

    async def test_refused_until_the_broker_accepts_then_nothing_lost(
        self, tls_broker: TlsBroker, tmp_path: Path
    ) -> None:
        """A user the broker does not know yet: refused while rows keep arriving; once the broker's
        password file has it, the whole backlog is delivered and /health is ok again."""
        b = tls_broker
        db = tmp_path / "h.db"
        hist = Historian(db, HistorianConfig(commit_interval=0.05))
        sub = _subscriber(b)
        sink = MqttSink(_endpoint(b, username="edge2", password="rotated-secret"), plant="tls", timeout=1.0)
        fwd = Forwarder(db, sink, _fcfg())
        task = asyncio.create_task(fwd.run())
        try:
            hist.record_many((f"DEV0.t{i % 3}", 1000.0 + i, float(i), 0) for i in range(200))
            await _until(lambda: fwd.metrics().refused, 10, "refusal")
            hist.record_many((f"DEV0.t{i % 3}", 2000.0 + i, float(i), 0) for i in range(200))
            assert hist.flush()
            await _until(lambda: fwd.metrics().backlog_rows == 400, 5, "backlog grows while refused")
            assert not fwd.health()[0]
            b.stop()
            cmd = ["mosquitto_passwd", "-b", str(b.root / "passwd"), "edge2", "rotated-secret"]
            await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True)
            b.start()
            await _until(lambda: fwd.metrics().forwarded_rows >= 400, 20, "backlog delivered")
            await asyncio.to_thread(_wait_count, sub, 400)
            assert set(sub.seqs()) == set(range(1, 401))
            await _until(lambda: fwd.health()[0], 5, "health ok")
        finally:
            fwd.stop()
            await asyncio.wait_for(task, 10)
            hist.close()
            sub.close()


class TestTlsOutage:
    async def test_short_outage_over_tls_loses_nothing(self, tls_broker: TlsBroker, tmp_path: Path) -> None:
        """JSON QoS 1 over TLS with client certificate + password; broker down 3 s: every seq arrives,
        in order per stream (duplicates only from the batch in flight), live lag bounded."""
        sink = MqttSink(_endpoint(tls_broker), plant="alpha", timeout=2.0)
        await _outage_run(tls_broker, tmp_path, outage_s=3.0, total_s=10.0, sink=sink,
                          subscribe=lambda: _subscriber(tls_broker))

    @pytest.mark.slow
    async def test_sixty_second_outage_over_tls(self, tls_broker: TlsBroker, tmp_path: Path) -> None:
        sink = MqttSink(_endpoint(tls_broker), plant="alpha", timeout=2.0)
        await _outage_run(tls_broker, tmp_path, outage_s=60.0, total_s=90.0, sink=sink,
                          subscribe=lambda: _subscriber(tls_broker))


def _get(port: int, path: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()


class TestRealRuntime:
    """``plc-emulator run`` with the MQTT flags, as a user starts it."""

    def _args(self, b: TlsBroker, tmp_path: Path, http: int) -> list[str]:
        from tests.conftest import DEFAULT_TAGMAP
        from tests.runtime._proc import CLI

        return [CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0",
                "--opcua-port", "0", "--http-port", str(http), "--data-dir", str(tmp_path / "data"),
                "--mqtt-url", b.url, "--mqtt-ca", str(b.pki.ca), "--mqtt-cert", str(b.pki.client_cert),
                "--mqtt-key", str(b.pki.client_key), "--mqtt-username", USER]

    def test_password_file_connects_and_forwards(self, tls_broker: TlsBroker, tmp_path: Path) -> None:
        from tests.conftest import free_port
        from tests.runtime._proc import Proc

        pw = tmp_path / "mqtt.pw"
        pw.write_text(PASSWORD + "\n")
        http = free_port()
        sub = _subscriber(tls_broker)
        proc = Proc([*self._args(tls_broker, tmp_path, http), "--mqtt-password-file", str(pw)])
        try:
            proc.wait_line("ready ", 60)
            deadline = time.monotonic() + 20
            while not sub.snapshot() and time.monotonic() < deadline:
                time.sleep(0.05)
            msgs = sub.snapshot()
            assert msgs, "no sample reached the TLS broker"
            assert msgs[0].topic.startswith("plc/SeparationTrain/")
            status, body = _get(http, "/health")
            assert status == 200, body
            status, text = _get(http, "/metrics")
            assert f'plc_historian_forward_connected{{sink="mqtts://localhost:{tls_broker.port}"}} 1.0' in text
            assert proc.terminate(30) == 0
        finally:
            proc.kill()
            sub.close()
        assert PASSWORD not in "\n".join(proc.stderr + proc.stdout)

    def test_wrong_password_from_env_is_a_health_reason(self, tls_broker: TlsBroker, tmp_path: Path) -> None:
        from tests.conftest import free_port
        from tests.runtime._proc import Proc, clean_env

        http = free_port()
        proc = Proc(self._args(tls_broker, tmp_path, http), env=clean_env({"MQTT_PASSWORD": "not-it-123"}))
        try:
            proc.wait_line("ready ", 60)
            deadline = time.monotonic() + 20
            status, body = _get(http, "/health")
            while "refused" not in body and time.monotonic() < deadline:
                time.sleep(0.1)
                status, body = _get(http, "/health")
            assert status == 503, body
            assert "upstream: mqtts://localhost" in body, body
            assert "Not authorized" in body, body
            assert proc.terminate(30) == 0
        finally:
            proc.kill()
        refused = [line for line in proc.stderr if "historian.forward_refused" in line]
        assert len(refused) == 1, proc.stderr[-10:]
        assert "not-it-123" not in "\n".join(proc.stderr + proc.stdout)


class TestBadFlags:
    @pytest.mark.parametrize(("args", "message"), [
        (["--mqtt-url", "mqtts://u:pw@localhost:8883"], "must not contain a password"),
        (["--mqtt-url", "mqtts://localhost", "--mqtt-ca", "/nonexistent/ca.pem"], "MQTT CA file not found"),
        (["--mqtt-url", "mqtt://localhost", "--mqtt-cert", __file__], "needs both a certificate and a key"),
        (["--mqtt-url", "http://localhost"], "not an MQTT URL"),
        (["--mqtt-url", "mqtts://localhost", "--mqtt-ca", __file__], "MQTT TLS settings unusable"),
    ])
    def test_exit_2_with_one_line(self, tmp_path: Path, args: list[str], message: str,
                                  capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        from plc_emulator.cli import main
        from tests.conftest import DEFAULT_TAGMAP
        from tests.runtime._proc import EMULATOR_ENV

        for name in EMULATOR_ENV:
            monkeypatch.delenv(name, raising=False)
        assert main(["run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path), *args]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
        assert "pw@" not in err
