"""Historian test helpers: a real mosquitto broker in a tmp dir and a persistent QoS 1 subscriber."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)


def wait_until(pred: Any, timeout: float, what: str, interval: float = 0.02) -> None:
    """Bounded poll: return as soon as ``pred()`` is true, fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    if pred():
        return
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Broker:
    """mosquitto on 127.0.0.1:<free port>, persistence on, started/stopped by PID."""

    def __init__(self, root: Path) -> None:
        assert MOSQUITTO is not None
        self.root = root
        self.port = free_port()
        data = root / "mqtt"
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o777)
        root.chmod(0o777)
        self.conf = root / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {data}/\nmax_queued_messages 0\nmax_inflight_messages 0\n"
            "log_dest stdout\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.root / "mosquitto.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited: {(self.root / 'mosquitto.log').read_text()[-2000:]}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(up, 10, "mosquitto to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # clean stop: the broker saves its persistent sessions
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto not installed")
    b = Broker(tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@dataclass
class Received:
    topic: str
    payload: dict[str, Any]
    wall: float


class Subscriber:
    """paho client in its own thread, persistent session (clean_session=False), QoS 1, auto-reconnect."""

    def __init__(self, port: int, topic: str = "plc/#", client_id: str = "test-subscriber", *,
                 tls: Any = None, username: str | None = None, password: str | None = None,
                 host: str = "127.0.0.1") -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        c.reconnect_delay_set(0.05, 0.5)

        def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
            client.subscribe(topic, qos=1)

        def on_subscribe(*a: Any) -> None:
            self._subscribed.set()

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            with self._lock:
                self.messages.append(Received(msg.topic, json.loads(msg.payload), time.time()))

        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        self._c = c
        if tls is not None:
            c.tls_set_context(tls)
        if username is not None:
            c.username_pw_set(username, password)
        c.connect(host, port, keepalive=5)
        c.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("subscriber did not subscribe")

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def seqs(self) -> list[int]:
        return [s["seq"] for m in self.snapshot() for s in m.payload["samples"]]

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()
