"""The web HMI in a real Chromium (Debian's, driven by Playwright) against ``plc-emulator run``.

One emulator for the module (Modbus, OPC UA and HTTP on free loopback ports, a users file with a
viewer, an operator and an engineer); each check is read back over the other protocols with
real clients (pymodbus, asyncua).
"""

from __future__ import annotations

import shutil
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

from plc_emulator.opcua.security import Role, UserRecord
from tests.conftest import DEFAULT_TAGMAP, free_port
from tests.runtime._proc import CLI, Proc, ready_parts

pytestmark = [pytest.mark.integration, pytest.mark.external]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("chromium not installed (scripts/setup --all installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

SP, SP_ADDR = "SEP-V100.LIC100_SP", 100


class App:
    def __init__(self, proc: Proc, parts: dict[str, str]) -> None:
        self.proc = proc
        self.http = f"http://{parts['http']}"
        self.modbus_port = int(parts["modbus"].rsplit(":", 1)[1])
        self.opcua = f"opc.tcp://{parts['opcua']}/"

    def registers(self, address: int, count: int) -> list[int]:
        from pymodbus.client import ModbusTcpClient

        with ModbusTcpClient("127.0.0.1", port=self.modbus_port, timeout=3) as c:
            rr = c.read_holding_registers(address, count=count, device_id=1)
            assert not rr.isError(), rr
            return list(rr.registers)

    def float_at(self, address: int) -> float:
        hi, lo = self.registers(address, 2)
        return float(struct.unpack(">f", struct.pack(">HH", hi, lo))[0])

    def tick(self) -> int:
        hi, lo = self.registers(301, 2)
        return (hi << 16) | lo

    def opcua_value(self, node: str) -> Any:
        from asyncua.sync import Client

        with Client(self.opcua, timeout=10) as c:
            ns = c.get_namespace_index("urn:plc-emulator:separation-train")
            return c.get_node(f"ns={ns};s={node}").read_value()

    def rest(self, method: str, path: str, body: dict[str, Any]) -> int:
        import json
        import urllib.request

        req = urllib.request.Request(self.http + path, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Basic ZWQ6ZW5naW5lZXItcHc="})  # ed:engineer-pw
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, users: dict[str, UserRecord]) -> Iterator[App]:
    d = tmp_path_factory.mktemp("hmi")
    lines = ["users:"] + [f"  {n}: {{role: {u.role.name.lower()}, password: \"{u.password_hash}\"}}"
                          for n, u in users.items()]
    (d / "users.yaml").write_text("\n".join(lines) + "\n")
    assert users["vic"].role is Role.VIEWER
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(free_port()),
                 "--http-port", str(free_port()), "--opcua-port", str(free_port()), "--opcua-security", "None",
                 "--opcua-users", str(d / "users.yaml"), "--data-dir", str(d / "data"), "--log-level", "warning"])
    try:
        yield App(proc, ready_parts(proc.wait_line("ready", timeout=90)))
    finally:
        proc.terminate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, app: App) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "403" not in m.text else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(app.http + "/")
    expect(pg.locator("#conn")).to_have_text("live", timeout=10_000)
    yield pg
    ctx.close()
    assert errors == [], errors


def login(page: Page, user: str, password: str) -> None:
    page.fill("#login-user", user)
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page.locator("#who")).to_contain_text(user, timeout=10_000)
    expect(page.locator("#conn")).to_have_text("live", timeout=10_000)


def test_page_loads_and_live_values_change_within_a_second(page: Page) -> None:
    expect(page.locator("#plant")).to_have_text("SeparationTrain")
    assert page.locator("[data-unit]").count() == 5  # SEP-V100, SEP-V200, SEP-V300, PMP-P100, HX-E100
    assert page.locator("[data-inst]").count() == 12  # the twelve field instruments
    box = page.locator('[data-inst="SEP-V100.inlet_pressure"] [data-value]')
    expect(box).not_to_have_text("----", timeout=5000)
    first = box.inner_text()
    t0 = time.monotonic()
    expect(box).not_to_have_text(first, timeout=1000)  # a noisy transmitter at a 100 ms scan
    assert time.monotonic() - t0 < 1.0


def test_viewer_is_refused_the_write(page: Page, app: App) -> None:
    login(page, "vic", "viewer-pw")
    before = app.float_at(SP_ADDR)
    page.click('[data-loop="LIC100"]')
    page.fill("#fp-sp-input", "33")
    page.click("#fp-sp-set")
    expect(page.locator("#message")).to_contain_text("403", timeout=5000)
    t = app.tick()
    deadline = time.monotonic() + 5
    while app.tick() < t + 2:  # two scans later: still not applied (bounded)
        assert time.monotonic() < deadline
    assert app.float_at(SP_ADDR) == before


def test_setpoint_typed_in_a_faceplate_is_read_back_over_modbus(page: Page, app: App) -> None:
    login(page, "olga", "operator-pw")
    page.click('[data-loop="LIC100"]')
    page.fill("#fp-sp-input", "57.5")
    page.click("#fp-sp-set")
    msg = page.locator("#message")
    expect(msg).to_contain_text("applies at tick", timeout=5000)
    applies = int(msg.inner_text().rsplit(" ", 1)[1].rstrip(")"))
    deadline = time.monotonic() + 5
    while app.tick() < applies:  # Modbus answers from the current scan; bounded
        assert time.monotonic() < deadline
    assert app.float_at(SP_ADDR) == 57.5
    expect(page.locator('#fp-sp [data-value]')).to_have_text("57.5%", timeout=2000)


def test_alarm_acknowledged_in_the_page_is_acknowledged_over_opcua(page: Page, app: App) -> None:
    assert app.rest("POST", "/faults", {"action": "trip_pump"}) == 202
    row = page.locator('tr[data-alarm="PMP-P100.status.TRIPPED"]')
    expect(row).to_have_class("unacked", timeout=5000)
    assert app.opcua_value("ALARMS.PMP_P100_status_TRIPPED_unacked") is True
    login(page, "olga", "operator-pw")
    row.locator("button.ack").click()
    expect(row).not_to_have_class("unacked", timeout=5000)
    assert app.opcua_value("ALARMS.PMP_P100_status_TRIPPED_unacked") is False


def test_fault_injected_from_the_page_shows_bad_quality_over_modbus(page: Page, app: App) -> None:
    assert app.registers(8, 1)[0] & 0xC0 == 0xC0  # SEP-V100.oil_level quality register: Good
    login(page, "ed", "engineer-pw")
    page.select_option("#fault-target", "V100.oil_level")
    page.select_option("#fault-kind", "fail")
    page.click("#fault-inject")
    expect(page.locator('[data-fault="V100.oil_level"]')).to_be_visible(timeout=5000)
    box = page.locator('[data-inst="SEP-V100.oil_level"] [data-value]')
    expect(box).to_have_attribute("data-quality", "bad", timeout=5000)
    word = app.registers(8, 1)[0]
    assert word & 0xC0 == 0x00
    assert word >> 8 == 0x8C
    page.locator('[data-fault="V100.oil_level"] button').click()
    expect(box).to_have_attribute("data-quality", "good", timeout=5000)

