"""Access levels per listener, on the REAL runtime: no side door to pause the PLC or reset the ESD.

A plain listener is ``operator`` by default: the one-line ``printf ... | nc`` pause is answered
exception 0x01 (the Modbus/TCP Security code for an unauthorized request), the PLC keeps running,
and the attempt is audited with the client's address. ``viewer`` reads only; ``engineer`` may pause.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from structlog.testing import capture_logs

from plc_emulator.image.codec import encode_words
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.modbus.access import AccessLevel, parse_level
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.modbus.conftest import RawClient

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"), pytest.mark.uvloop]

# printf '\0\1\0\0\0\6\1\5\0\4\377\0' | nc 127.0.0.1 5020  (FC 5: coil 4 = runtime.paused ON)
PAUSE_FRAME = b"\x00\x01\x00\x00\x00\x06\x01\x05\x00\x04\xff\x00"
TAGMAP = load(str(DEFAULT_TAGMAP))


@asynccontextmanager
async def serving(level: AccessLevel | None) -> AsyncIterator[tuple[PlcRuntime, RawClient]]:
    kwargs = {} if level is None else {"access": level}
    async with (PlcRuntime(TAGMAP, RuntimeConfig(paused=True, speed=0.0)) as plc,
                ModbusAdapter(TAGMAP, plc, host="127.0.0.1", port=0, **kwargs) as mb):  # type: ignore[arg-type]
        raw = await RawClient.open(mb.port)
        try:
            yield plc, raw
        finally:
            await raw.close()


async def _exchange(raw: RawClient, frame: bytes) -> bytes:
    await raw.send(frame)
    head = await asyncio.wait_for(raw.reader.readexactly(7), 5)
    length = struct.unpack(">H", head[4:6])[0]
    return head + await asyncio.wait_for(raw.reader.readexactly(length - 1), 5)


async def test_default_listener_refuses_the_nc_pause_and_audits_it() -> None:
    async with serving(None) as (plc, raw):
        plc.resume()
        with capture_logs() as logs:
            resp = await _exchange(raw, PAUSE_FRAME)
        assert resp == b"\x00\x01\x00\x00\x00\x03\x01\x85\x01"
        assert not plc.paused
        local = raw.writer.get_extra_info("sockname")
        rec = [e for e in logs if e["event"] == "audit.write"]
        assert len(rec) == 1
        assert rec[0]["client"] == f"{local[0]}:{local[1]}"
        assert rec[0]["target"] == "PLC.paused" and rec[0]["result"].startswith("denied")  # noqa: PT018
        assert rec[0]["level"] == "operator"


async def test_operator_writes_setpoints_but_not_the_esd_reset() -> None:
    sp = TAGMAP.tag("SEP-V100.LIC100_SP")
    assert sp.modbus is not None
    async with serving(AccessLevel.OPERATOR) as (plc, raw):
        words = encode_words(55.0, sp.modbus, sp.range)
        pdu = struct.pack(">BHHB2H", 16, sp.modbus.address, 2, 4, *words)
        assert await raw.call(pdu) == pdu[:5]
        assert await raw.call(struct.pack(">BHH", 5, 3, 0xFF00)) == bytes((0x85, 0x01))  # ESD.reset
        assert plc.queue_depth == 1


async def test_viewer_reads_but_every_write_function_is_refused() -> None:
    sp = TAGMAP.tag("SEP-V100.LIC100_SP")
    assert sp.modbus is not None
    a = sp.modbus.address
    async with serving(AccessLevel.VIEWER) as (plc, raw):
        with capture_logs() as logs:
            read = await raw.call(struct.pack(">BHH", 3, a, 2))
            assert read[:2] == bytes((3, 4))
            w = encode_words(55.0, sp.modbus, sp.range)
            for pdu in (struct.pack(">BHH", 6, a, w[0]), struct.pack(">BHHB2H", 16, a, 2, 4, *w),
                        struct.pack(">BHHH", 22, a, 0xFFFF, 0),
                        struct.pack(">BHHHHB2H", 23, a, 2, a, 2, 4, *w), struct.pack(">BHH", 5, 10, 0xFF00)):
                assert await raw.call(pdu) == bytes((pdu[0] | 0x80, 0x01))
        assert plc.queue_depth == 0
        assert plc.snapshot.values[TAGMAP.tags.index(sp)] != 55.0
        assert sum(e["event"] == "audit.write" for e in logs) == 5


async def test_engineer_may_pause() -> None:
    async with serving(AccessLevel.ENGINEER) as (plc, raw):
        plc.resume()
        resp = await _exchange(raw, PAUSE_FRAME)
        assert resp == PAUSE_FRAME
        assert plc.paused


async def test_parse_level() -> None:
    assert parse_level(" Engineer ") is AccessLevel.ENGINEER
    with pytest.raises(ValueError, match="viewer, operator, engineer"):
        parse_level("admin")
