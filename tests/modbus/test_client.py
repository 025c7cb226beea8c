"""A real pymodbus client over loopback: every point of the default map and of a map with every format."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.image.codec import BIT_TABLES, PointRole, RegisterImage
from plc_emulator.image.quality import quality_word
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import Table, TagMap, ValueFormat, WordOrder
from tests.conftest import DEFAULT_TAGMAP
from tests.image.maps import full_map
from tests.modbus.fakeplc import FakePlc

pytestmark = [pytest.mark.integration, pytest.mark.uvloop]  # also on uvloop (conftest.py)

# byte positions of A B C D in the two registers' big-endian bytes, per word order
PERM = {WordOrder.ABCD: (0, 1, 2, 3), WordOrder.CDAB: (2, 3, 0, 1), WordOrder.BADC: (1, 0, 3, 2),
        WordOrder.DCBA: (3, 2, 1, 0)}


def independent_decode(regs: Sequence[int], fmt: ValueFormat, order: WordOrder,
                       raw_range: tuple[int, int] | None, eu: tuple[float, float]) -> float:
    """Decode without the emulator's codec: struct + a byte permutation, or pymodbus for ABCD/CDAB."""
    if fmt.registers == 2:
        b = struct.pack(">HH", *regs)
        value_bytes = bytes(b[PERM[order].index(i)] for i in range(4))
        code = {ValueFormat.FLOAT32: ">f", ValueFormat.INT32: ">i", ValueFormat.UINT32: ">I"}[fmt]
        v = float(struct.unpack(code, value_bytes)[0])
        if order in (WordOrder.ABCD, WordOrder.CDAB):
            dt = {ValueFormat.FLOAT32: AsyncModbusTcpClient.DATATYPE.FLOAT32,
                  ValueFormat.INT32: AsyncModbusTcpClient.DATATYPE.INT32,
                  ValueFormat.UINT32: AsyncModbusTcpClient.DATATYPE.UINT32}[fmt]
            wo = "big" if order is WordOrder.ABCD else "little"
            assert float(AsyncModbusTcpClient.convert_from_registers(list(regs), dt, word_order=wo)) == v
        return v
    raw = regs[0] - 65536 if fmt is ValueFormat.INT16 and regs[0] >= 32768 else regs[0]
    if raw_range is None:
        return float(raw)
    return eu[0] + (raw - raw_range[0]) * (eu[1] - eu[0]) / (raw_range[1] - raw_range[0])


async def read_all(client: AsyncModbusTcpClient, img: RegisterImage, unit: int) -> dict[Table, list[int]]:
    out: dict[Table, list[int]] = {}
    for table, size in img.sizes.items():
        vals: list[int] = []
        step = 2000 if table in BIT_TABLES else 125
        for start in range(0, size, step):
            n = min(step, size - start)
            if table is Table.HOLDING_REGISTER:
                rr = await client.read_holding_registers(start, count=n, device_id=unit)
            elif table is Table.INPUT_REGISTER:
                rr = await client.read_input_registers(start, count=n, device_id=unit)
            elif table is Table.COIL:
                rr = await client.read_coils(start, count=n, device_id=unit)
            else:
                rr = await client.read_discrete_inputs(start, count=n, device_id=unit)
            assert not rr.isError(), rr
            vals += [int(x) for x in (rr.bits[:n] if table in BIT_TABLES else rr.registers)]
        out[table] = vals
    return out


def check_every_point(tagmap: TagMap, plc: FakePlc, tables: dict[Table, list[int]]) -> set[WordOrder]:
    img = RegisterImage(tagmap)
    orders: set[WordOrder] = set()
    for ref in img.points:
        regs = tables[ref.table][ref.address : ref.address + ref.count]
        if ref.role is PointRole.QUALITY:
            assert regs == [quality_word(int(plc.status[ref.tag_index]))], ref.tag.key
            continue
        want = float(plc.values[ref.tag_index])
        fmt = ref.point.format
        if ref.table in BIT_TABLES or fmt is ValueFormat.BOOL:
            assert regs == [int(want != 0)], ref.tag.key
            continue
        got = independent_decode(regs, fmt, ref.point.word_order, ref.point.raw_range, ref.tag.range)
        if fmt is ValueFormat.FLOAT32:
            orders.add(ref.point.word_order)
            assert got == float(np.float32(want)), ref.tag.key
        elif fmt.registers == 2:
            assert got == round(want), ref.tag.key
        else:
            rr = ref.point.raw_range
            step = (ref.tag.range[1] - ref.tag.range[0]) / (rr[1] - rr[0]) if rr else 1.0
            assert math.isclose(got, want, abs_tol=abs(step) / 2 + 1e-9), ref.tag.key
    return orders


@pytest.mark.parametrize("which", ["default", "every-format"])
async def test_pymodbus_client_reads_every_point(which: str) -> None:
    tagmap = load(DEFAULT_TAGMAP) if which == "default" else full_map()
    plc = FakePlc(tagmap, seed=11)
    async with ModbusAdapter(tagmap, plc) as mb:
        client = AsyncModbusTcpClient("127.0.0.1", port=mb.port, timeout=3, retries=0)
        await client.connect()
        try:
            tables = await read_all(client, plc.image, tagmap.modbus.unit_id)
        finally:
            client.close()
    orders = check_every_point(tagmap, plc, tables)
    assert orders == set(WordOrder)  # all four word orders were read and checked


async def test_pymodbus_client_writes_and_exceptions() -> None:
    tagmap = full_map()
    plc = FakePlc(tagmap)
    async with ModbusAdapter(tagmap, plc) as mb:
        client = AsyncModbusTcpClient("127.0.0.1", port=mb.port, timeout=3, retries=0)
        await client.connect()
        try:
            # sp_f32 is CDAB = pymodbus "little" word order
            regs = client.convert_to_registers(61.25, client.DATATYPE.FLOAT32, word_order="little")
            assert not (await client.write_registers(40, regs, device_id=1)).isError()
            assert not (await client.write_coil(0, True, device_id=1)).isError()
            rr = await client.write_register(0, 1, device_id=1)
            assert (rr.function_code, rr.exception_code) == (0x86, 2)
            rr = await client.read_holding_registers(500, count=1, device_id=1)
            assert (rr.function_code, rr.exception_code) == (0x83, 2)
            info = await client.read_device_information(device_id=1)
            assert info.information[0] == b"plc-emulator"
        finally:
            client.close()
    assert [(c.target, c.value) for c in plc.submitted] == [("LIC100.sp", 61.25), ("P100.run_cmd", 1.0)]


async def test_write_reaches_the_real_runtime_next_tick() -> None:
    """Lockstep with the real PlcRuntime: a write is in the next snapshot; a refused one changes nothing."""
    from plc_emulator.runtime.config import RuntimeConfig
    from plc_emulator.runtime.plc import PlcRuntime

    tagmap = load(DEFAULT_TAGMAP)
    tag = tagmap.tag("SEP-V100.LIC100_SP")
    assert tag.modbus is not None
    addr = tag.modbus.address
    idx = tagmap.tags.index(tag)
    async with PlcRuntime(tagmap, RuntimeConfig(paused=True)) as plc, ModbusAdapter(tagmap, plc) as mb:
        client = AsyncModbusTcpClient("127.0.0.1", port=mb.port, timeout=3, retries=0)
        await client.connect()
        try:
            new = 63.5 if plc.snapshot.values[idx] != 63.5 else 41.5
            regs = client.convert_to_registers(new, client.DATATYPE.FLOAT32)
            assert not (await client.write_registers(addr, regs, device_id=1)).isError()
            bad = client.convert_to_registers(95.0, client.DATATYPE.FLOAT32)  # write limits 20..80
            rr = await client.write_registers(addr, bad, device_id=1)
            assert (rr.function_code, rr.exception_code) == (0x90, 3)
            tick = plc.snapshot.tick
            plc.step(1)
            await plc.wait_tick(tick + 1)
            assert plc.snapshot.values[idx] == new
            rr = await client.read_holding_registers(addr, count=2, device_id=1)
            assert client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32) == new
        finally:
            client.close()
