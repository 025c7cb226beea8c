"""Debian's mbpoll against the adapter: floats and ints in every word order, a write, an exception."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
from collections.abc import AsyncIterator

import numpy as np
import pytest

from plc_emulator.modbus import ModbusAdapter
from plc_emulator.tagmap.model import ValueFormat, WordOrder
from tests.image.maps import full_map
from tests.modbus.fakeplc import FakePlc

pytestmark = [pytest.mark.integration, pytest.mark.external,
              pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll not installed")]

LINE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.M)
PERM = {WordOrder.ABCD: (0, 1, 2, 3), WordOrder.CDAB: (2, 3, 0, 1), WordOrder.BADC: (1, 0, 3, 2),
        WordOrder.DCBA: (3, 2, 1, 0)}


async def mbpoll(port: int, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "mbpoll", "-m", "tcp", "-a", "1", "-p", str(port), "-0", "-o", "2", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return int(proc.returncode or 0), out.decode(), err.decode()


def values(out: str) -> dict[int, str]:
    return {int(a): v for a, v in LINE.findall(out)}


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakePlc, int]]:
    plc = FakePlc(full_map(), seed=5)
    async with ModbusAdapter(plc.tagmap, plc) as mb:
        yield plc, mb.port


def _points(plc: FakePlc, fmt: ValueFormat) -> list[tuple[int, WordOrder, float]]:
    out = []
    for i, t in enumerate(plc.tagmap.tags):
        if t.modbus is not None and t.modbus.format is fmt and t.name.startswith("ro_"):
            out.append((t.modbus.address, t.modbus.word_order, float(plc.values[i])))
    return out


@pytest.mark.parametrize("fmt", [ValueFormat.FLOAT32, ValueFormat.INT32])
async def test_32bit_values_in_every_word_order(served: tuple[FakePlc, int], fmt: ValueFormat) -> None:
    plc, port = served
    pts = _points(plc, fmt)
    assert {o for _, o, _ in pts} == set(WordOrder)
    kind = "float" if fmt is ValueFormat.FLOAT32 else "int"
    for addr, order, want in pts:
        exp = float(np.float32(want)) if fmt is ValueFormat.FLOAT32 else float(round(want))
        if order in (WordOrder.ABCD, WordOrder.CDAB):
            flag = ["-B"] if order is WordOrder.ABCD else []  # mbpoll: -B big-endian words, default CDAB
            rc, out, err = await mbpoll(port, "-r", str(addr), "-c", "1", "-t", f"4:{kind}", *flag, "-1",
                                        "127.0.0.1")
            assert rc == 0, err
            got = float(values(out)[addr])
            assert got == pytest.approx(exp, rel=1e-5, abs=1e-6), (order, out)
        else:  # mbpoll has no byte-swapped modes: read the raw words and reorder the bytes here
            rc, out, err = await mbpoll(port, "-r", str(addr), "-c", "2", "-t", "4:hex", "-1", "127.0.0.1")
            assert rc == 0, err
            regs = values(out)
            raw = struct.pack(">HH", int(regs[addr], 16), int(regs[addr + 1], 16))
            vb = bytes(raw[PERM[order].index(i)] for i in range(4))
            got = float(struct.unpack(">f" if fmt is ValueFormat.FLOAT32 else ">i", vb)[0])
            assert got == exp, order


async def test_write_and_exception_exit(served: tuple[FakePlc, int]) -> None:
    plc, port = served
    rc, out, err = await mbpoll(port, "-r", "43", "-t", "4", "127.0.0.1", "250")
    assert rc == 0, err
    assert "Written 1 references" in out
    assert [(c.target, c.value) for c in plc.submitted] == [("LIC200.sp", 25.0)]
    rc, _, err = await mbpoll(port, "-r", "500", "-c", "1", "-t", "4", "-1", "127.0.0.1")
    assert rc != 0
    assert "Illegal data address" in err
    rc, _, err = await mbpoll(port, "-r", "43", "-t", "4", "127.0.0.1", "900")  # above the write limit
    assert rc != 0
    assert "Illegal data value" in err
    assert len(plc.submitted) == 1
