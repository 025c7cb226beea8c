"""Raw-socket tests of every Modbus exception rule, framing, unit ids and connection isolation."""

from __future__ import annotations

import socket
import struct

import pytest

from plc_emulator.image.codec import encode_words
from plc_emulator.modbus import ModbusAdapter, service
from plc_emulator.modbus.access import AccessLevel, Client
from plc_emulator.modbus.frames import FrameBuffer, FramingError, Request, mbap
from plc_emulator.modbus.service import ModbusService
from tests.image.maps import full_map
from tests.modbus.conftest import RawClient
from tests.modbus.fakeplc import FakePlc

pytestmark = [pytest.mark.integration, pytest.mark.uvloop]  # also on uvloop (conftest.py)

HOLD = 61  # holding registers of full_map (0..60); input 4, coils 3, discrete 6


def pdu(fc: int, fmt: str = "", *args: int) -> bytes:
    return bytes([fc]) + struct.pack(">" + fmt, *args)


def hr(address: int, count: int) -> bytes:
    return pdu(3, "HH", address, count)


def fc16(address: int, words: list[int], byte_count: int | None = None) -> bytes:
    bc = 2 * len(words) if byte_count is None else byte_count
    return pdu(16, "HHB", address, len(words), bc) + struct.pack(f">{len(words)}H", *words)


def fc23(r_addr: int, r_count: int, w_addr: int, words: list[int], w_count: int | None = None) -> bytes:
    n = len(words) if w_count is None else w_count
    head = pdu(23, "HHHHB", r_addr, r_count, w_addr, n, 2 * len(words))
    return head + struct.pack(f">{len(words)}H", *words)


SP_F32 = encode_words(50.0, full_map().tag("DEV.sp_f32").modbus, (0, 100))  # type: ignore[arg-type]

EXCEPTIONS = [
    # unsupported function codes: 0x01 with the FC echoed
    ("fc 0x55", bytes([0x55, 0, 0, 0, 1]), 0xD5, 1),
    ("fc 8 diagnostics", pdu(8, "HH", 0, 0), 0x88, 1),
    ("fc 0", bytes([0]), 0x80, 1),
    ("fc 43 MEI 13", bytes([43, 13, 1, 0]), 0xAB, 1),
    # quantity limits -> 0x03
    ("fc3 qty 0", hr(0, 0), 0x83, 3),
    ("fc3 qty 126", hr(0, 126), 0x83, 3),
    ("fc4 qty 126", pdu(4, "HH", 0, 126), 0x84, 3),
    ("fc1 qty 0", pdu(1, "HH", 0, 0), 0x81, 3),
    ("fc1 qty 2001", pdu(1, "HH", 0, 2001), 0x81, 3),
    ("fc2 qty 2001", pdu(2, "HH", 0, 2001), 0x82, 3),
    ("fc16 qty 124", pdu(16, "HHB", 40, 124, 248) + bytes(20), 0x90, 3),  # 248 data bytes cannot fit a PDU
    ("fc16 qty 123 short", pdu(16, "HHB", 40, 123, 246) + bytes(20), 0x90, 3),
    ("fc16 qty 0", pdu(16, "HHB", 40, 0, 0), 0x90, 3),
    ("fc15 qty 1969", pdu(15, "HHB", 0, 1969, 247) + bytes(247), 0x8F, 3),
    ("fc23 write 122", pdu(23, "HHHHB", 0, 1, 40, 122, 244) + bytes(20), 0x97, 3),
    ("fc23 read 126", fc23(0, 126, 40, SP_F32), 0x97, 3),
    ("fc23 read 0", fc23(0, 0, 40, SP_F32), 0x97, 3),
    # byte counts and malformed PDUs -> 0x03
    ("fc16 byte count", fc16(40, SP_F32, byte_count=3), 0x90, 3),
    ("fc16 short payload", fc16(40, SP_F32)[:-1], 0x90, 3),
    ("fc15 byte count", pdu(15, "HHB", 0, 2, 2) + b"\x03\x00", 0x8F, 3),
    ("fc23 byte count", pdu(23, "HHHHB", 0, 1, 40, 2, 3) + bytes(4), 0x97, 3),
    ("fc3 truncated", bytes([3, 0, 0]), 0x83, 3),
    ("fc3 too long", hr(0, 1) + b"\x00", 0x83, 3),
    ("fc5 coil value 0x1234", pdu(5, "HH", 0, 0x1234), 0x85, 3),
    ("fc5 coil value 0x00FF", pdu(5, "HH", 0, 0x00FF), 0x85, 3),
    ("fc43 read code 5", bytes([43, 14, 5, 0]), 0xAB, 3),
    # addresses outside the map -> 0x02
    ("fc3 start past end", hr(HOLD, 1), 0x83, 2),
    ("fc3 end past end", hr(HOLD - 4, 5), 0x83, 2),
    ("fc3 0xFFFF", hr(0xFFFF, 125), 0x83, 2),
    ("fc4 past end", pdu(4, "HH", 3, 2), 0x84, 2),
    ("fc1 past end", pdu(1, "HH", 2, 2), 0x81, 2),
    ("fc2 past end", pdu(2, "HH", 6, 1), 0x82, 2),
    ("fc6 gap", pdu(6, "HH", 55, 1), 0x86, 2),
    ("fc6 past end", pdu(6, "HH", 1000, 1), 0x86, 2),
    ("fc5 past end", pdu(5, "HH", 3, 0xFF00), 0x85, 2),
    ("fc22 past end", pdu(22, "HHH", HOLD, 0, 0), 0x96, 2),
    ("fc23 read past end", fc23(HOLD, 1, 40, SP_F32), 0x97, 2),
    ("fc43 specific object 0x7F", bytes([43, 14, 4, 0x7F]), 0xAB, 2),
    # writes to read-only points -> 0x02
    ("fc6 ro value", pdu(6, "HH", 36, 1), 0x86, 2),
    ("fc16 ro float", fc16(0, [0, 0]), 0x90, 2),
    ("fc6 quality register", pdu(6, "HH", 42, 0), 0x86, 2),
    ("fc5 ro coil", pdu(5, "HH", 2, 0xFF00), 0x85, 2),
    # out of limits / partial / type -> 0x03
    ("fc16 sp above limits", fc16(40, encode_words(81.0, full_map().tag("DEV.sp_f32").modbus, (0, 100))),  # type: ignore[arg-type]
     0x90, 3),
    ("fc6 u16 sp above limits", pdu(6, "HH", 43, 900), 0x86, 3),
    ("fc6 half a float", pdu(6, "HH", 40, 0), 0x86, 3),
    ("fc6 enum out of range", pdu(6, "HH", 44, 2), 0x86, 3),
    ("fc22 mask to out of range", pdu(22, "HHH", 43, 0, 900), 0x96, 3),
    ("fc23 bad write", fc23(0, 2, 43, [900]), 0x97, 3),
]


@pytest.mark.parametrize(("name", "request_pdu", "fc", "code"), EXCEPTIONS, ids=[e[0] for e in EXCEPTIONS])
async def test_exception_rules(  # noqa: PLR0917
    raw: RawClient, fake_plc: FakePlc, adapter: ModbusAdapter, name: str,
                               request_pdu: bytes, fc: int, code: int) -> None:
    resp = await raw.call(request_pdu)
    assert resp == bytes([fc, code]), name
    assert fake_plc.submitted == []  # nothing from a refused request reaches the PLC
    assert adapter.stats.exceptions[(fc & 0x7F, code)] == 1
    # the connection keeps working afterwards
    assert (await raw.call(hr(0, 2)))[:2] == b"\x03\x04"


async def test_limits_are_inclusive(raw: RawClient) -> None:
    assert len(await raw.call(hr(0, HOLD))) == 2 + 2 * HOLD  # whole table (61 <= 125)
    resp = await raw.call(pdu(1, "HH", 0, 3))
    assert resp[:2] == b"\x01\x01"


async def test_reads_are_slices_of_the_snapshot(raw: RawClient, fake_plc: FakePlc) -> None:
    snap = fake_plc.snapshot
    resp = await raw.call(hr(0, HOLD))
    assert list(struct.unpack(f">{HOLD}H", resp[2:])) == [int(x) for x in snap.holding]
    resp = await raw.call(pdu(4, "HH", 0, 4))
    assert list(struct.unpack(">4H", resp[2:])) == [int(x) for x in snap.input]
    resp = await raw.call(pdu(2, "HH", 0, 6))
    bits = [(resp[2] >> i) & 1 for i in range(6)]
    assert bits == [int(b) for b in snap.discrete]
    # a gap reads as zeros (49..59)
    assert (await raw.call(hr(49, 11)))[2:] == bytes(22)


async def test_multi_point_write_all_or_nothing(raw: RawClient, fake_plc: FakePlc) -> None:
    # 43 sp_u16 in limits + 44 mode ok + 45..46 speed out of limits: nothing applied
    speed_bad = encode_words(100, fake_plc.tagmap.tag("DEV.speed_i32").modbus, (0, 3600))  # type: ignore[arg-type]
    assert await raw.call(fc16(43, [500, 1, *speed_bad])) == bytes([0x90, 3])
    assert fake_plc.submitted == []
    speed_ok = encode_words(3000, fake_plc.tagmap.tag("DEV.speed_i32").modbus, (0, 3600))  # type: ignore[arg-type]
    assert await raw.call(fc16(43, [500, 1, *speed_ok])) == pdu(16, "HH", 43, 4)
    assert [(c.target, c.value, c.source) for c in fake_plc.submitted] == [
        ("LIC200.sp", 50.0, "modbus"), ("LIC100.mode", 1.0, "modbus"), ("P100.speed_sp", 3000.0, "modbus")]


async def test_single_writes_echo(raw: RawClient, fake_plc: FakePlc) -> None:
    req = pdu(6, "HH", 43, 250)
    assert await raw.call(req) == req
    req = pdu(5, "HH", 1, 0xFF00)
    assert await raw.call(req) == req
    assert await raw.call(pdu(15, "HHB", 0, 2, 1) + b"\x01") == pdu(15, "HH", 0, 2)
    assert [(c.target, c.value) for c in fake_plc.submitted] == [
        ("LIC200.sp", 25.0), ("ESD.trip", 1.0), ("P100.run_cmd", 1.0), ("ESD.trip", 0.0)]


async def test_mask_write(raw: RawClient, fake_plc: FakePlc) -> None:
    cur = int(fake_plc.snapshot.holding[43])
    and_mask, or_mask = 0x0000, 300  # result = or_mask
    assert await raw.call(pdu(22, "HHH", 43, and_mask, or_mask)) == pdu(22, "HHH", 43, and_mask, or_mask)
    assert fake_plc.submitted[-1].value == pytest.approx(30.0)
    assert cur != 300 or fake_plc.submitted


async def test_fc23_writes_before_reading() -> None:
    plc = FakePlc(full_map(), apply_writes=True)
    async with ModbusAdapter(plc.tagmap, plc) as mb:
        c = await RawClient.open(mb.port)
        try:
            before = int(plc.snapshot.holding[43])
            new = 700 if before != 700 else 600
            resp = await c.call(fc23(43, 1, 43, [new]))
            assert resp == bytes([23, 2]) + struct.pack(">H", new)  # the read sees the write
            assert [(x.target, x.value) for x in plc.submitted] == [("LIC200.sp", new / 10)]
            # a refused write: exception and no read; a bad read range: nothing written
            assert await c.call(fc23(43, 1, 43, [900])) == bytes([0x97, 3])
            assert await c.call(fc23(HOLD, 1, 43, [500])) == bytes([0x97, 2])
            assert len(plc.submitted) == 1
        finally:
            await c.close()


async def test_device_identification(raw: RawClient) -> None:
    resp = await raw.call(bytes([43, 14, 1, 0]))
    assert resp[:3] == bytes([43, 14, 1])
    more, _next, n = resp[4], resp[5], resp[6]
    assert (more, n) == (0, 3)
    objs = {}
    pos = 7
    for _ in range(n):
        oid, ln = resp[pos], resp[pos + 1]
        objs[oid] = resp[pos + 2 : pos + 2 + ln].decode()
        pos += 2 + ln
    assert objs[0] == "plc-emulator"
    assert objs[1] == "PLC-EMU"
    assert objs[2] == __import__("plc_emulator").__version__
    resp = await raw.call(bytes([43, 14, 4, 5]))  # one specific object: model name = tag map name
    assert resp[6:9] == bytes([1, 5, len("test")])
    assert resp[9:] == b"test"


@pytest.mark.parametrize("unit", [1, 0, 255])
async def test_configured_unit_and_tcp_conventions_answer(raw: RawClient, unit: int) -> None:
    assert (await raw.call(hr(0, 1), unit=unit))[:2] == b"\x03\x02"


async def test_unknown_unit_exception(raw: RawClient) -> None:
    assert await raw.call(hr(0, 1), unit=7) == bytes([0x83, 0x0A])  # gateway path unavailable


async def test_several_units_and_a_down_unit() -> None:
    plc = FakePlc(full_map())
    async with ModbusAdapter(plc.tagmap, plc, unit_ids=(1, 2, 5)) as mb:
        c = await RawClient.open(mb.port)
        try:
            for unit in (1, 2, 5):
                assert (await c.call(hr(0, 1), unit=unit))[:2] == b"\x03\x02"
            assert await c.call(hr(0, 1), unit=3) == bytes([0x83, 0x0A])
            mb.service.set_unit_down(2, True)  # what a link fault on unit 2 does
            assert await c.call(hr(0, 1), unit=2) == bytes([0x83, 0x0B])  # gateway target failed to respond
            assert (await c.call(hr(0, 1), unit=5))[:2] == b"\x03\x02"
        finally:
            await c.close()


async def test_unknown_unit_ignored() -> None:
    plc = FakePlc(full_map(unknown_unit="ignore"))
    async with ModbusAdapter(plc.tagmap, plc) as mb:
        c = await RawClient.open(mb.port)
        try:
            await c.send(c.frame(hr(0, 1), unit=7, tid=100) + c.frame(hr(0, 1), unit=1, tid=101))
            tid, unit, resp = await c.recv()
            assert (tid, unit, resp[:2]) == (101, 1, b"\x03\x02")  # 100 got no answer
            assert mb.stats.ignored_units == 1
        finally:
            await c.close()


async def test_unit_id_override() -> None:
    plc = FakePlc(full_map())
    async with ModbusAdapter(plc.tagmap, plc, unit_id=17) as mb:
        c = await RawClient.open(mb.port)
        try:
            assert (await c.call(hr(0, 1), unit=17))[:1] == b"\x03"
            assert await c.call(hr(0, 1), unit=1) == bytes([0x83, 0x0A])
        finally:
            await c.close()


async def test_partial_frames_and_pipelining(raw: RawClient) -> None:
    frame = raw.frame(hr(0, 2), tid=0x1234)
    for b in frame:  # one byte per segment
        await raw.send(bytes([b]))
    tid, _, resp = await raw.recv()
    assert (tid, resp[:2]) == (0x1234, b"\x03\x04")
    # three requests in one segment -> three answers in order
    await raw.send(raw.frame(hr(0, 1), tid=1) + raw.frame(bytes([0x55]), tid=2) + raw.frame(hr(0, 3), tid=3))
    got = [await raw.recv() for _ in range(3)]
    assert [(t, p[:2]) for t, _, p in got] == [(1, b"\x03\x02"), (2, b"\xd5\x01"), (3, b"\x03\x06")]


async def test_nonzero_protocol_id_is_skipped(raw: RawClient, adapter: ModbusAdapter) -> None:
    await raw.send(raw.frame(hr(0, 1), tid=9, pid=7) + raw.frame(hr(0, 1), tid=10))
    tid, _, _ = await raw.recv()
    assert tid == 10
    assert adapter.stats.skipped_frames == 1


async def test_garbage_and_hangups_affect_nobody_else(adapter: ModbusAdapter) -> None:
    good = await RawClient.open(adapter.port)
    bad = await RawClient.open(adapter.port)
    half = await RawClient.open(adapter.port)
    try:
        assert (await good.call(hr(0, 1)))[:1] == b"\x03"
        await bad.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)  # length field 0x2F20 > 254
        assert await bad.closed_by_peer()
        await half.send(half.frame(hr(0, 1))[:9])  # a hang-up in the middle of a frame
        await half.close()
        assert (await good.call(hr(0, 10)))[:2] == b"\x03\x14"
        fresh = await RawClient.open(adapter.port)
        assert (await fresh.call(hr(0, 1)))[:1] == b"\x03"
        await fresh.close()
        assert adapter.stats.framing_errors == 1
    finally:
        await good.close()
        await bad.close()


@pytest.mark.parametrize("length", [0, 1, 255, 0xFFFF])
async def test_impossible_length_closes_only_that_connection(adapter: ModbusAdapter, length: int) -> None:
    c = await RawClient.open(adapter.port)
    other = await RawClient.open(adapter.port)
    try:
        await c.send(struct.pack(">HHHB", 1, 0, length, 1) + b"\x03\x00\x00\x00\x01")
        assert await c.closed_by_peer()
        assert (await other.call(hr(0, 1)))[:1] == b"\x03"
    finally:
        await c.close()
        await other.close()


async def test_many_concurrent_clients(adapter: ModbusAdapter, fake_plc: FakePlc) -> None:
    import asyncio
    expect = fake_plc.snapshot.holding[:10].astype(">u2").tobytes()

    async def one() -> int:
        c = await RawClient.open(adapter.port)
        try:
            ok = 0
            for _ in range(20):
                if (await c.call(hr(0, 10)))[2:] == expect:
                    ok += 1
            return ok
        finally:
            await c.close()

    results = await asyncio.gather(*(one() for _ in range(25)))
    assert results == [20] * 25
    assert adapter.stats.requests[3] == 500
    assert adapter.stats.connections_total == 25


async def test_stats_count_clients(adapter: ModbusAdapter) -> None:
    c = await RawClient.open(adapter.port)
    await c.call(hr(0, 1))
    assert adapter.stats.connected_clients == 1
    await c.close()
    import asyncio
    deadline = asyncio.get_running_loop().time() + 5
    # connection_lost runs after the close: a bounded poll with a deadline
    while adapter.stats.connected_clients and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert adapter.stats.connected_clients == 0


class _BusyPlc(FakePlc):
    def submit(self, cmd: object) -> None:
        from plc_emulator.errors import EmulatorError
        raise EmulatorError("command queue full")


class _BrokenPlc(FakePlc):
    def submit(self, cmd: object) -> None:
        raise RuntimeError("bug")


@pytest.mark.parametrize(("cls", "code"), [(_BusyPlc, 6), (_BrokenPlc, 4)])
async def test_plc_refusing_a_valid_write(cls: type[FakePlc], code: int) -> None:
    plc = cls(full_map())
    async with ModbusAdapter(plc.tagmap, plc) as mb:
        c = await RawClient.open(mb.port)
        try:
            assert await c.call(pdu(6, "HH", 43, 250)) == bytes([0x86, code])
            assert (await c.call(hr(0, 1)))[:1] == b"\x03"  # still serving
        finally:
            await c.close()


async def test_client_that_never_reads_does_not_block_others(adapter: ModbusAdapter) -> None:
    hog = await RawClient.open(adapter.port)
    other = await RawClient.open(adapter.port)
    try:
        burst = b"".join(hog.frame(hr(0, 125), tid=i & 0xFFFF) for i in range(3000))  # ~750 KB of answers
        hog.writer.write(burst)  # never read; the server pauses reading from this client
        for _ in range(20):
            assert (await other.call(hr(0, 10)))[:2] == b"\x03\x14"
    finally:
        hog.writer.transport.abort()
        await other.close()


# ---------------------------------------------------------------- the short per-request path


def test_a_repeated_read_is_answered_from_its_snapshot_until_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    plc = FakePlc(full_map(), apply_writes=True)
    svc = ModbusService(plc.tagmap, plc)
    read = hr(43, 1)  # DEV.sp_u16 (LIC200.sp, 0.1 per count)
    first = svc.handle(1, read)
    assert first == bytes([3, 2]) + plc.snapshot.holding[43:44].astype(">u2").tobytes()
    assert svc.handle(1, read) is first  # the same snapshot: the answer kept with it
    assert svc.stats.requests[3] == 2  # and still counted per request
    assert svc.handle(1, pdu(6, "HH", 43, 250)) == pdu(6, "HH", 43, 250)  # a new snapshot (PLC memory)
    assert svc.handle(1, read) == bytes([3, 2, 0, 250])
    # a bad read is not kept: each one is counted as an exception
    for _ in range(2):
        assert svc.handle(1, hr(0, HOLD + 1)) == bytes([0x83, 2])
    assert svc.stats.exceptions[(3, 2)] == 2
    # a viewer's write is never answered from the reads kept
    viewer = Client("10.0.0.9:1", AccessLevel.VIEWER)
    assert svc.handle(1, pdu(6, "HH", 43, 250), viewer) == bytes([0x86, 1])
    # bounded: at most so many distinct reads per snapshot (4096; 100 here, full_map is small)
    monkeypatch.setattr(service, "_MAX_KEPT_READS", 100)
    for a in range(HOLD):
        for n in range(1, HOLD - a + 1):
            assert svc.handle(1, hr(a, n)) == bytes([3, 2 * n]) + svc.view().holding[2 * a : 2 * (a + n)]
    assert len(svc.view().reads) == 100
    # a unit taken down answers 0x0B at once, a kept read notwithstanding
    svc.set_unit_down(1, True)
    assert svc.handle(1, read) == bytes([0x83, 0x0B])
    svc.set_unit_down(1, False)
    assert svc.handle(1, read) == bytes([3, 2, 0, 250])


def test_single_cuts_only_a_lone_whole_frame() -> None:
    one = mbap(7, 1, hr(0, 2))
    fb = FrameBuffer()
    assert fb.single(one) == Request(7, 1, hr(0, 2))
    assert len(fb) == 0
    assert fb.single(one + one) is None  # two frames: feed() answers both
    assert fb.single(one[:-1]) is None  # half a frame: feed() buffers it
    assert fb.single(b"\x00\x07\x00\x01" + one[4:]) is None  # protocol id 1: feed() skips it
    assert fb.feed(one[:5]) == []
    assert fb.single(one) is None  # something is buffered: these bytes continue it
    with pytest.raises(FramingError):
        fb.feed(one)  # ...and here they make an impossible length


async def test_accepted_sockets_have_tcp_nodelay(adapter: ModbusAdapter, raw: RawClient) -> None:
    assert await raw.call(hr(0, 1))
    (conn,) = adapter.listeners[0].connections
    assert conn.transport is not None
    sock = conn.transport.get_extra_info("socket")
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_a_whole_frame_after_a_partial_one_goes_through_the_buffer(raw: RawClient) -> None:
    a, b = raw.frame(hr(0, 2), tid=1), raw.frame(hr(0, 3), tid=2)
    await raw.send(a[:4])
    await raw.send(a[4:] + b)  # the rest of a, then b whole: answered in order
    got = [await raw.recv() for _ in range(2)]
    assert [(t, p[:2]) for t, _, p in got] == [(1, b"\x03\x04"), (2, b"\x03\x06")]
