"""More links, one service: RTU framing, RTU-over-TCP, RTU on a serial port (pty), Modbus/TCP Security.

Every link runs in front of the same ModbusService over the REAL runtime (PlcRuntime), with real
clients: pymodbus (RTU framer over TCP, TLS with client certificates) and mbpoll -m rtu on a pty
pair made by socat.
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import ssl
import struct
import time
import tty
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from pymodbus.client import AsyncModbusTcpClient, AsyncModbusTlsClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerType

from plc_emulator.image.codec import decode_words, encode_words
from plc_emulator.modbus import faults
from plc_emulator.modbus.config import ModbusConfig
from plc_emulator.modbus.links import build_adapter
from plc_emulator.modbus.rtu import RtuStreamFramer, crc16, frame_gap, rtu_frame
from plc_emulator.modbus.serial_link import SerialConfig
from plc_emulator.modbus.tls import TlsConfig, role_of
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.modbus.certs import Pki

pytestmark = pytest.mark.uvloop  # the async tests also run on uvloop (conftest.py)
TAGMAP = load(str(DEFAULT_TAGMAP))
SP = TAGMAP.tag("SEP-V100.LIC100_SP")
assert SP.modbus is not None
SP_ADDR = SP.modbus.address
PAUSE_COIL = 4
BOUND = 5.0


def sp_words(value: float) -> list[int]:
    assert SP.modbus is not None
    return encode_words(value, SP.modbus, SP.range)


def sp_value(words: list[int]) -> float:
    assert SP.modbus is not None
    return decode_words(words, SP.modbus, SP.range)


# ---------------------------------------------------------------------------------------- framing


def test_crc_and_frame_gap_follow_the_serial_line_spec() -> None:
    assert rtu_frame(1, bytes.fromhex("0300000003")) == bytes.fromhex("01030000000305cb")
    assert crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS check value
    assert frame_gap(9600) == pytest.approx(3.5 * 11 / 9600)
    assert frame_gap(19200) == pytest.approx(3.5 * 11 / 19200)
    assert frame_gap(38400) == frame_gap(115200) == 0.00175


def test_stream_framer_cuts_checks_and_routes() -> None:
    f = RtuStreamFramer(frozenset({1}))
    a = rtu_frame(1, struct.pack(">BHH", 3, 0, 2))
    w = rtu_frame(1, struct.pack(">BHHB2H", 16, 100, 2, 4, 1, 2))
    other = rtu_frame(7, struct.pack(">BHH", 3, 0, 2))
    bcast_read = rtu_frame(0, struct.pack(">BHH", 3, 0, 2))
    bcast_write = rtu_frame(0, struct.pack(">BHH", 6, 0, 5))
    got = f.feed(a[:3]) + f.feed(a[3:] + other + w[:9]) + f.feed(w[9:] + bcast_read + bcast_write)
    assert [(r.unit, r.pdu[0]) for r in got] == [(1, 3), (1, 16), (0, 6)]
    assert f.skipped == 2
    assert f.response(got[2], b"\x06") is None  # broadcast: never answered
    bad = bytearray(a)
    bad[-1] ^= 0xFF
    assert f.feed(bytes(bad)) == []
    assert f.crc_errors == 1
    assert len(f) == 0  # dropped to resync
    assert [r.pdu[0] for r in f.feed(a)] == [3]
    unknown = rtu_frame(1, b"\x41\x00")  # unsupported function: framed by its CRC, answered 0x01
    assert [r.pdu for r in f.feed(unknown)] == [b"\x41\x00"]


# ---------------------------------------------------------------------------------------- rigs


@pytest_asyncio.fixture
async def plc() -> AsyncIterator[PlcRuntime]:
    async with PlcRuntime(TAGMAP, RuntimeConfig(paused=True, speed=0.0)) as p:
        yield p


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


# ---------------------------------------------------------------------------------------- RTU over TCP


async def test_rtu_over_tcp_with_pymodbus_and_raw_frames(plc: PlcRuntime) -> None:
    cfg = ModbusConfig(rtu_tcp_port=0, unit_ids=(2,))
    async with build_adapter(TAGMAP, plc, "127.0.0.1", 0, cfg) as mb:
        port = mb.listener("rtu-tcp").port
        assert ("modbus-rtu-tcp", port) in mb.endpoints()
        cli = AsyncModbusTcpClient("127.0.0.1", port=port, framer=FramerType.RTU, timeout=2, retries=0)
        await cli.connect()
        try:
            assert not (await cli.write_registers(SP_ADDR, sp_words(63.0), device_id=2)).isError()
            rr = await cli.read_holding_registers(SP_ADDR, count=2, device_id=1)
            assert sp_value(rr.registers) == 63.0
        finally:
            cli.close()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        try:
            # another slave's request, then a broadcast write, then ours: only ours is answered
            w.write(rtu_frame(9, struct.pack(">BHH", 3, SP_ADDR, 2))
                    + rtu_frame(0, struct.pack(">BHHB2H", 16, SP_ADDR, 2, 4, *sp_words(41.0)))
                    + rtu_frame(1, struct.pack(">BHH", 3, SP_ADDR, 2)))
            resp = await asyncio.wait_for(r.readexactly(9), BOUND)
            assert resp == rtu_frame(1, bytes((3, 4)) + struct.pack(">2H", *sp_words(41.0)))
            assert mb.stats.skipped_frames == 1
        finally:
            w.close()


# ---------------------------------------------------------------------------------------- RTU on a serial line


async def _read_exactly(fd: int, n: int, limit: float = BOUND) -> bytes:
    loop = asyncio.get_running_loop()
    out = b""
    deadline = time.monotonic() + limit
    while len(out) < n:
        fut: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, lambda f=fut: f.done() or f.set_result(None))  # type: ignore[misc]
        try:
            await asyncio.wait_for(fut, max(0.0, deadline - time.monotonic()))
        finally:
            loop.remove_reader(fd)
        out += os.read(fd, n - len(out))
    return out


async def test_rtu_on_a_pty_with_timed_writes(plc: PlcRuntime) -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    cfg = ModbusConfig(serial=SerialConfig(device=os.ttyname(slave), baud=38400, parity="N"))
    try:
        async with build_adapter(TAGMAP, plc, "127.0.0.1", 0, cfg) as mb:
            link = mb.serial_links[0]
            assert link.gap == 0.00175
            read = rtu_frame(1, struct.pack(">BHH", 3, SP_ADDR, 2))
            # one frame split by a pause much longer than 3.5 characters: two bad fragments, no reply
            os.write(master, read[:4])
            await asyncio.sleep(0.05)
            os.write(master, read[4:])
            await asyncio.sleep(0.05)
            assert mb.stats.crc_errors == 2
            # another slave address and a broadcast write: no reply; the broadcast write is executed
            os.write(master, rtu_frame(5, struct.pack(">BHH", 3, SP_ADDR, 2)))
            await asyncio.sleep(0.02)
            os.write(master, rtu_frame(0, struct.pack(">BHHB2H", 16, SP_ADDR, 2, 4, *sp_words(66.0))))
            await asyncio.sleep(0.02)
            os.write(master, read)  # the whole frame in one write: answered
            resp = await _read_exactly(master, 9)
            assert resp == rtu_frame(1, bytes((3, 4)) + struct.pack(">2H", *sp_words(66.0)))
            assert mb.stats.skipped_frames == 1
            # a corrupted CRC is dropped silently
            bad = bytearray(read)
            bad[-2] ^= 0x55
            os.write(master, bytes(bad))
            await asyncio.sleep(0.02)
            os.write(master, read)
            assert await _read_exactly(master, 9) == resp
            assert mb.stats.crc_errors == 3
            # a slave behind a faulted link (modbus.unit.1 close) is silent on a serial line
            mb.service.set_unit_down(1, True)
            os.write(master, read)
            await asyncio.sleep(0.05)
            mb.service.set_unit_down(1, False)
            os.write(master, read)
            assert await _read_exactly(master, 9) == resp  # only this one was answered
            await asyncio.sleep(0.02)
            assert not select.select([master], [], [], 0)[0]
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(shutil.which("mbpoll") is None or shutil.which("socat") is None,
                    reason="mbpoll and socat come with scripts/setup --all")
async def test_mbpoll_rtu_on_a_socat_pty_pair(plc: PlcRuntime, tmp_path: Path) -> None:
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    socat = await asyncio.create_subprocess_exec(
        "socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + BOUND
        while not (a.exists() and b.exists()):
            assert time.monotonic() < deadline, "socat did not create the pty pair"
            await asyncio.sleep(0.02)
        async with build_adapter(TAGMAP, plc, "127.0.0.1", 0,
                                 ModbusConfig(serial=SerialConfig(device=str(a), baud=19200, parity="E"))):
            proc = await asyncio.create_subprocess_exec(
                "mbpoll", "-m", "rtu", "-a", "1", "-b", "19200", "-P", "even", "-t", "4:float", "-B",
                "-r", str(SP_ADDR + 1), "-c", "1", "-1", "-o", "2", str(b),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, err.decode()
        want = float(plc.snapshot.values[TAGMAP.tags.index(SP)])
        line = next(x for x in out.decode().splitlines() if x.startswith(f"[{SP_ADDR + 1}]"))
        assert float(line.split(":")[1]) == pytest.approx(want, rel=1e-6)
    finally:
        socat.terminate()
        await asyncio.wait_for(socat.wait(), 5)


# ---------------------------------------------------------------------------------------- TLS


def _client_ctx(pki: Pki, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


async def test_tls_roles_from_client_certificates(plc: PlcRuntime, pki: Pki) -> None:
    crt, key = pki.issue("plc", server=True)
    cfg = ModbusConfig(tls=TlsConfig(port=0, cert=crt, key=key, ca=pki.ca))
    operator, engineer = pki.issue("hmi", role="Operator"), pki.issue("eng", role="Engineer")
    plain = pki.issue("anon")
    assert role_of(ssl.PEM_cert_to_DER_cert(operator[0].read_text())) == "Operator"
    assert role_of(ssl.PEM_cert_to_DER_cert(plain[0].read_text())) is None
    async with build_adapter(TAGMAP, plc, "127.0.0.1", 0, cfg) as mb:
        port = mb.listener("tls").port

        async def client(cert: tuple[Path, Path] | None) -> AsyncModbusTlsClient:
            c = AsyncModbusTlsClient("127.0.0.1", port=port, sslctx=_client_ctx(pki, cert), timeout=2, retries=0)
            await c.connect()
            return c

        op = await client(operator)
        try:
            assert not (await op.write_registers(SP_ADDR, sp_words(58.0))).isError()
            assert sp_value((await op.read_holding_registers(SP_ADDR, count=2)).registers) == 58.0
            rr = await op.write_coil(PAUSE_COIL, True)
            assert rr.isError() and rr.exception_code == 1  # noqa: PT018 - operator may not pause
        finally:
            op.close()
        eng = await client(engineer)
        try:
            assert not (await eng.write_coil(PAUSE_COIL, True)).isError()
        finally:
            eng.close()
        viewer = await client(plain)  # no role extension: the listener's default, viewer
        try:
            assert not (await viewer.read_holding_registers(SP_ADDR, count=2)).isError()
            rr = await viewer.write_registers(SP_ADDR, sp_words(52.0))
            assert rr.isError() and rr.exception_code == 1  # noqa: PT018
        finally:
            viewer.close()
        nocert = AsyncModbusTlsClient("127.0.0.1", port=port, sslctx=_client_ctx(pki, None), timeout=2, retries=0)
        try:
            await nocert.connect()  # TLS 1.3: the handshake "succeeds" on the client side ...
            with pytest.raises(ModbusIOException):
                await nocert.read_holding_registers(SP_ADDR, count=2)  # ... and the first request fails
        finally:
            nocert.close()
        assert mb.stats.connected_clients <= 1


async def test_tls_refuses_a_certificate_from_another_ca_and_an_unknown_role(plc: PlcRuntime, pki: Pki,
                                                                            tmp_path: Path) -> None:
    crt, key = pki.issue("plc2", server=True)
    cfg = ModbusConfig(tls=TlsConfig(port=0, cert=crt, key=key, ca=pki.ca))
    rogue = Pki(tmp_path / "rogue", "Rogue CA").issue("mallory", role="Engineer")
    odd = pki.issue("odd", role="Superuser")
    async with build_adapter(TAGMAP, plc, "127.0.0.1", 0, cfg) as mb:
        port = mb.listener("tls").port
        for cert in (rogue, odd):
            c = AsyncModbusTlsClient("127.0.0.1", port=port, sslctx=_client_ctx(pki, cert), timeout=2, retries=0)
            try:
                await c.connect()
                with pytest.raises(ModbusIOException):
                    await c.read_holding_registers(SP_ADDR, count=2)
            finally:
                c.close()
        assert mb.stats.connections_refused >= 1  # the unknown role (the rogue CA fails in TLS itself;
        # pymodbus reconnects by itself, so the count grows)


def test_tls_config_errors_are_one_line(tmp_path: Path) -> None:
    from plc_emulator.modbus.tls import server_context

    missing = tmp_path / "nope.crt"
    with pytest.raises(ValueError, match="cannot load TLS certificate"):
        server_context(TlsConfig(cert=missing, key=missing, ca=missing))


def test_a_delayed_answer_never_leaves_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop's timers may fire up to a millisecond early; ``send_later`` waits out the rest."""
    now = [100.0]
    timers: list[tuple[float, Callable[[], None]]] = []

    class EarlyLoop:
        def call_later(self, delay: float, fn: Callable[[], None]) -> None:
            timers.append((delay, fn))

    monkeypatch.setattr(faults.time, "monotonic", lambda: now[0])
    sent: list[bytes] = []
    faults.send_later(EarlyLoop(), 0.3, sent.append, b"answer")  # type: ignore[arg-type]
    delay, fire = timers.pop()
    assert delay == 0.3
    now[0] += 0.2995  # the timer fires half a millisecond early
    fire()
    assert sent == []
    delay, fire = timers.pop()
    assert delay == pytest.approx(0.0005)
    now[0] += delay
    fire()
    assert sent == [b"answer"]
    assert timers == []
