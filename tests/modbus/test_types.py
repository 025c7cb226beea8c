"""64-bit values in every word order and bit-packed status words, on the REAL runtime over the wire.

The default tag map is extended (in a temp copy) with float64/int64/uint64 holding points bound to
writable engine signals in each of the four word orders, read-only 64-bit mirrors, and status words
whose bits are discrete tags. A pymodbus client writes and reads them back, decoding with pymodbus's
own converters (big/little word order; byte-swapped orders swapped by hand), and the map export
shows the types.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.cli.map import render
from plc_emulator.errors import TagMapError
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.modbus.access import AccessLevel
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import TagMap
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
DT = AsyncModbusTcpClient.DATATYPE
ORDERS = ("ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA")
FORMATS = {"float64": DT.FLOAT64, "int64": DT.INT64, "uint64": DT.UINT64}
# writable signals of the default map to bind the new points to (write limits allow these values)
SIGNALS = {"float64": ("LIC100.sp", 57.25), "int64": ("LIC300.sp", 30.0), "uint64": ("LIC200.sp", 44.0)}


def _extended(tmp: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_TAGMAP.read_text())
    tags: dict[str, Any] = {}
    addr = 1000
    for fmt, (signal, _) in SIGNALS.items():
        for order in ORDERS:
            tags[f"{fmt}_{order}"] = {
                "signal": signal, "unit": "%", "description": f"{signal} as {fmt} {order}", "kind": "analog",
                "range": [0, 100], "access": "rw", "write_limits": [20, 80], "precision": 3,
                "modbus": {"table": "holding_register", "address": addr, "format": fmt, "word_order": order},
                "opcua": {"browse_name": f"{fmt}_{order}", "node_id": f"TYPES.{fmt}_{order}"},
            }
            addr += 4
    for bit, signal in enumerate(("LIC100.mode", "PIC100.mode", "LIC200.mode")):
        tags[f"mode_bit{bit}"] = {
            "signal": signal, "unit": "", "description": f"{signal} in status word bit {bit}", "kind": "discrete",
            "states": ["MAN", "AUTO"], "range": [0, 1], "access": "rw", "write_limits": [0, 1], "precision": 0,
            "modbus": {"table": "holding_register", "address": 1100, "format": "bool", "bit": bit},
            "opcua": {"browse_name": f"mode_bit{bit}", "node_id": f"TYPES.mode_bit{bit}"},
        }
    doc["devices"]["TYPES"] = {"description": "data type test points", "tags": tags}
    path = tmp / "types.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@dataclass
class Rig:
    tagmap: TagMap
    plc: PlcRuntime
    mb: AsyncModbusTcpClient

    async def step(self) -> None:
        target = self.plc.step(1)
        async with asyncio.timeout(10):
            await self.plc.wait_tick(target)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    tagmap = load(str(_extended(tmp_path_factory.mktemp("types"))))
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0)) as plc,
                ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0, access=AccessLevel.OPERATOR) as modbus):
        mb = AsyncModbusTcpClient("127.0.0.1", port=int(modbus.port), timeout=5, retries=0)
        await mb.connect()
        try:
            yield Rig(tagmap, plc, mb)
        finally:
            mb.close()


def _swap_bytes(words: list[int]) -> list[int]:
    return [((w >> 8) | (w << 8)) & 0xFFFF for w in words]


def to_wire(value: float, fmt: str, order: str) -> list[int]:
    """What a client puts on the wire for ``order``, built with pymodbus's converters."""
    v: int | float = value if fmt == "float64" else int(value)
    big = AsyncModbusTcpClient.convert_to_registers(v, FORMATS[fmt], word_order="big")
    return {"ABCDEFGH": big, "GHEFCDAB": big[::-1], "BADCFEHG": _swap_bytes(big),
            "HGFEDCBA": _swap_bytes(big[::-1])}[order]


def from_wire(words: list[int], fmt: str, order: str) -> float:
    big = {"ABCDEFGH": words, "GHEFCDAB": words[::-1], "BADCFEHG": _swap_bytes(words),
           "HGFEDCBA": _swap_bytes(words)[::-1]}[order]
    return float(AsyncModbusTcpClient.convert_from_registers(big, FORMATS[fmt], word_order="big"))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("order", ORDERS)
async def test_64_bit_round_trip_in_every_word_order(rig: Rig, fmt: str, order: str) -> None:
    p = rig.tagmap.tag(f"TYPES.{fmt}_{order}").modbus
    assert p is not None
    assert p.order_name == order
    _, value = SIGNALS[fmt]
    value += ORDERS.index(order)  # a different value per order, so a mix-up cannot pass
    wr = await rig.mb.write_registers(p.address, to_wire(value, fmt, order))
    assert not wr.isError(), wr
    rr = await rig.mb.read_holding_registers(p.address, count=4)
    assert from_wire(rr.registers, fmt, order) == value  # PLC memory: at once
    await rig.step()
    rr = await rig.mb.read_holding_registers(p.address, count=4)
    assert from_wire(rr.registers, fmt, order) == value  # and after the engine applied it
    # the same signal's other orders show the same value in their own order
    for other in ORDERS:
        q = rig.tagmap.tag(f"TYPES.{fmt}_{other}").modbus
        assert q is not None
        got = (await rig.mb.read_holding_registers(q.address, count=4)).registers
        assert from_wire(got, fmt, other) == value


async def test_half_a_64_bit_point_is_refused(rig: Rig) -> None:
    p = rig.tagmap.tag("TYPES.float64_ABCDEFGH").modbus
    assert p is not None
    rr = await rig.mb.write_registers(p.address, [0, 0])
    assert rr.isError() and rr.exception_code == 3  # noqa: PT018


async def test_status_word_bits(rig: Rig) -> None:
    word = 1100
    assert not (await rig.mb.write_register(word, 0b101)).isError()  # LIC100 AUTO, PIC100 MAN, LIC200 AUTO
    assert (await rig.mb.read_holding_registers(word, count=1)).registers == [0b101]
    await rig.step()
    cols = {t.signal: i for i, t in enumerate(rig.tagmap.tags)}
    vals = rig.plc.snapshot.values
    assert (vals[cols["LIC100.mode"]], vals[cols["PIC100.mode"]], vals[cols["LIC200.mode"]]) == (1.0, 0.0, 1.0)
    # the coil of PIC100.mode and bit 1 of the word are one value: set the coil, the bit follows
    pic = rig.tagmap.tag("SEP-V100.PIC100_MODE").modbus
    assert pic is not None
    assert not (await rig.mb.write_coil(pic.address, True)).isError()
    assert (await rig.mb.read_holding_registers(word, count=1)).registers == [0b111]
    # FC 22 clears one bit; a bit with no point is refused
    assert not (await rig.mb.mask_write_register(address=word, and_mask=0xFFFE, or_mask=0)).isError()
    assert (await rig.mb.read_holding_registers(word, count=1)).registers == [0b110]
    rr = await rig.mb.write_register(word, 0b1000)
    assert rr.isError() and rr.exception_code == 3  # noqa: PT018


async def test_map_export_shows_the_new_types(tmp_path: Path) -> None:
    text = render(load(str(_extended(tmp_path))), "csv")
    assert "float64,4,GHEFCDAB" in text
    assert "int64,4,HGFEDCBA" in text
    assert "bool (bit 2)" in text


async def test_bad_bits_and_orders_are_reported_with_line_and_column(tmp_path: Path) -> None:
    doc = yaml.safe_load(_extended(tmp_path).read_text())
    t = doc["devices"]["TYPES"]["tags"]
    t["mode_bit2"]["modbus"]["bit"] = 1  # clashes with mode_bit1
    t["float64_ABCDEFGH"]["modbus"]["word_order"] = "ABDC"
    t["mode_bit0"]["modbus"]["bit"] = 16
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(TagMapError) as ei:
        load(str(bad))
    text = str(ei.value)
    assert "overlaps TYPES.mode_bit1 (41101 bit 1)" in text
    assert "must be one of ABCDEFGH, GHEFCDAB, BADCFEHG, HGFEDCBA" in text
    assert "a register has bits 0..15 (got 16)" in text
    assert all(line.startswith(str(bad) + ":") for line in text.splitlines())


async def test_encode_decode_are_inverse_at_the_type_limits() -> None:
    from plc_emulator.image.codec import decode_words, encode_words
    from plc_emulator.tagmap.model import ModbusPoint, Table, ValueFormat, WordOrder

    for order in WordOrder:
        for fmt, values in ((ValueFormat.INT64, (-(2.0**63), 2.0**62, -5.0)),
                            (ValueFormat.UINT64, (0.0, 2.0**63, 2.0**64 - 2048)),
                            (ValueFormat.FLOAT64, (1e300, -2.5, 0.1))):
            p = ModbusPoint(table=Table.HOLDING_REGISTER, address=0, format=fmt, word_order=order)
            for v in values:
                assert decode_words(encode_words(v, p, (0, 1)), p, (0, 1)) == v
        p = ModbusPoint(table=Table.HOLDING_REGISTER, address=0, format=ValueFormat.UINT64, word_order=order)
        assert decode_words(encode_words(2.0**70, p, (0, 1)), p, (0, 1)) == 2.0**64 - 2048  # clamped
    assert struct.pack(">d", 1.0).hex() == "3ff0000000000000"
