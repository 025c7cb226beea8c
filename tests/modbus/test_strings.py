"""Fixed-length ASCII strings in free memory points, on the REAL runtime over the wire.

Two ``mem.*`` string points of 8 registers (16 characters), one high-byte-first and one
low-byte-first, are written by a pymodbus client with FC 16 and read back with FC 3 at once (PLC
memory semantics) and after scans; pymodbus's own string converter (high byte first) encodes and
decodes, byte-swapped by hand for low_first. Bad writes answer 0x03 and change nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.cli.map import render
from plc_emulator.commands import Command
from plc_emulator.errors import Rejection, TagMapError, WriteRejected
from plc_emulator.image.codec import string_text, string_words
from plc_emulator.image.writes import validate_write
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.journal import read_journal
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import ByteOrder, TagMap
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
DT = AsyncModbusTcpClient.DATATYPE
ADDR = {"high_first": 1300, "low_first": 1310}


def _string_tag(name: str, order: str, **modbus: Any) -> dict[str, Any]:
    return {"signal": f"mem.{name}", "unit": "", "description": f"text, {order}", "kind": "analog",
            "range": [0, 16], "access": "rw", "write_limits": [0, 16], "precision": 0,
            "modbus": {"table": "holding_register", "address": ADDR.get(order, 1320), "format": "string",
                       "registers": 8, "byte_order": order, **modbus},
            "opcua": {"browse_name": name, "node_id": f"TXT.{name}"}}


def string_map(tmp: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_TAGMAP.read_text())
    doc["devices"]["TXT"] = {"description": "string memory", "tags": {
        order: _string_tag(f"text_{order}", order) for order in ADDR}}
    path = tmp / "strings.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def to_wire(text: str, order: str) -> list[int]:
    words = AsyncModbusTcpClient.convert_to_registers(text, DT.STRING)
    words += [0] * (8 - len(words))
    return words if order == "high_first" else [((w >> 8) | (w << 8)) & 0xFFFF for w in words]


def from_wire(words: list[int], order: str) -> str:
    if order == "low_first":
        words = [((w >> 8) | (w << 8)) & 0xFFFF for w in words]
    text = AsyncModbusTcpClient.convert_from_registers(words, DT.STRING)
    assert isinstance(text, str)
    return text.rstrip("\0")


@dataclass
class Rig:
    tagmap: TagMap
    plc: PlcRuntime
    mb: AsyncModbusTcpClient
    journal: Path

    async def step(self, n: int = 1) -> None:
        target = self.plc.step(n)
        async with asyncio.timeout(10):
            await self.plc.wait_tick(target)

    async def read(self, order: str) -> str:
        rr = await self.mb.read_holding_registers(ADDR[order], count=8)
        assert not rr.isError(), rr
        return from_wire(rr.registers, order)

    def column(self, order: str) -> int:
        return next(i for i, t in enumerate(self.tagmap.tags) if t.signal == f"mem.text_{order}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    tmp = tmp_path_factory.mktemp("txt")
    tagmap = load(str(string_map(tmp)))
    journal = tmp / "j.jsonl"
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0, journal=journal)) as plc,
                ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0) as modbus):
        mb = AsyncModbusTcpClient("127.0.0.1", port=int(modbus.port), timeout=5, retries=0)
        await mb.connect()
        try:
            yield Rig(tagmap, plc, mb, journal)
        finally:
            mb.close()


@pytest.mark.parametrize("order", list(ADDR))
@pytest.mark.parametrize("text", ["RECIPE-7", "Batch 2026/11 ok", "x"])
async def test_string_round_trip_in_both_byte_orders(rig: Rig, order: str, text: str) -> None:
    rr = await rig.mb.write_registers(ADDR[order], to_wire(text, order))
    assert not rr.isError(), rr
    assert await rig.read(order) == text  # in the served image at once
    await rig.step(2)
    assert await rig.read(order) == text  # and kept by the scans
    snap = rig.plc.snapshot
    assert snap.texts[rig.column(order)] == text
    assert snap.values[rig.column(order)] == len(text)  # the number of a string point is its length


async def test_byte_orders_differ_on_the_wire(rig: Rig) -> None:
    for order, addr in ADDR.items():
        assert not (await rig.mb.write_registers(addr, to_wire("AB", order))).isError()
    hi = (await rig.mb.read_holding_registers(ADDR["high_first"], count=1)).registers
    lo = (await rig.mb.read_holding_registers(ADDR["low_first"], count=1)).registers
    assert (hi, lo) == ([0x4142], [0x4241])


@pytest.mark.parametrize(("label", "words"), [
    ("byte outside ASCII", [0x4180] + [0] * 7),
    ("NUL inside the text", [0x4100, 0x4200] + [0] * 6),
])
async def test_bad_text_is_refused_with_illegal_data_value(rig: Rig, label: str, words: list[int]) -> None:
    assert not (await rig.mb.write_registers(ADDR["high_first"], to_wire("KEEP", "high_first"))).isError()
    rr = await rig.mb.write_registers(ADDR["high_first"], words)
    assert rr.isError(), label
    assert rr.exception_code == 3
    assert await rig.read("high_first") == "KEEP"  # nothing half applied


async def test_part_of_a_string_is_refused(rig: Rig) -> None:
    assert not (await rig.mb.write_registers(ADDR["low_first"], to_wire("WHOLE", "low_first"))).isError()
    rr = await rig.mb.write_registers(ADDR["low_first"], [0x4142] * 4)  # 4 of its 8 registers
    assert rr.isError() and rr.exception_code == 3  # noqa: PT018
    rr = await rig.mb.write_register(ADDR["low_first"] + 1, 0x4142)  # FC 6 into the middle
    assert rr.isError() and rr.exception_code == 3  # noqa: PT018
    assert await rig.read("low_first") == "WHOLE"


async def test_numbers_are_not_text(rig: Rig) -> None:
    """OPC UA and other number paths cannot write a string point (its number is only the length)."""
    tag = rig.tagmap.tags[rig.column("high_first")]
    with pytest.raises(WriteRejected) as ei:
        validate_write(tag, 5.0, source="opcua", role="operator")
    assert ei.value.reason is Rejection.TYPE_MISMATCH


async def test_strings_replay_bit_for_bit(rig: Rig) -> None:
    """The journal carries the text; a headless replay gives the same digest, another text another."""
    assert not (await rig.mb.write_registers(ADDR["high_first"], to_wire("REPLAY", "high_first"))).isError()
    await rig.step(1)
    live = rig.plc.snapshot
    entries = read_journal(rig.journal).entries
    assert any(e.command.params.get("text") == "REPLAY" for e in entries)
    sched: dict[int, list[Command]] = {}
    for e in entries:
        sched.setdefault(e.tick, []).append(e.command)
    assert ScanCycle(rig.tagmap, seed=rig.plc.seed).run(live.tick, sched).digest == live.digest
    other = {t: [Command(kind=c.kind, target=c.target, value=c.value, source=c.source,
                         params={"text": "REPLAZ"} if c.params.get("text") == "REPLAY" else c.params)
                 for c in cs] for t, cs in sched.items()}
    assert ScanCycle(rig.tagmap, seed=rig.plc.seed).run(live.tick, other).digest != live.digest


async def test_map_export_shows_strings(tmp_path: Path) -> None:
    tagmap = load(str(string_map(tmp_path)))
    csv = render(tagmap, "csv")
    assert "string,8,high_first" in csv
    assert "string,8,low_first" in csv
    assert "| string | 8 | low_first |" in render(tagmap, "md")
    rows = [r for r in json.loads(render(tagmap, "json"))["points"] if r["tag"].startswith("TXT.")]
    assert sorted((r["type"], r["registers"], r["word_order"]) for r in rows) == [
        ("string", 8, "high_first"), ("string", 8, "low_first")]


async def test_bad_string_points_are_reported_with_line_and_column(tmp_path: Path) -> None:
    doc = yaml.safe_load(string_map(tmp_path).read_text())
    tags = doc["devices"]["TXT"]["tags"]
    tags["no_count"] = _string_tag("no_count", "x")
    del tags["no_count"]["modbus"]["registers"]
    del tags["no_count"]["modbus"]["byte_order"]
    tags["too_long"] = _string_tag("too_long", "high_first", address=1330, registers=124)
    tags["bad_order"] = _string_tag("bad_order", "middle_first", address=1500)
    tags["process"] = dict(_string_tag("p", "high_first", address=1600), signal="LIC100.sp", unit="%")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(TagMapError) as ei:
        load(str(bad))
    text = str(ei.value)
    assert "a string needs registers: N" in text
    assert "(got 124)" in text
    assert "must be one of high_first, low_first (got \"middle_first\")" in text
    assert "strings are free memory points: bind the tag to mem.<name> (got LIC100.sp)" in text
    assert all(line.startswith(str(bad) + ":") for line in text.splitlines())


async def test_string_codec_is_its_own_inverse() -> None:
    for order in ByteOrder:
        for text in ("", "A", "AB", "ABC", "0123456789abcdef"):
            assert string_text(string_words(text, 8, order), order) == text
    with pytest.raises(ValueError, match="0xff"):
        string_text([0xFF41], ByteOrder.HIGH_FIRST)



async def _mbpoll(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec("timeout", "10", "mbpoll", "-m", "tcp", "-a", "1", "-0", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll comes with scripts/setup --all")
@pytest.mark.parametrize("order", list(ADDR))
async def test_mbpoll_round_trip_in_both_byte_orders(rig: Rig, order: str) -> None:
    port = str(rig.mb.comm_params.port)
    words = to_wire("mbpoll 1.4", order)
    await _mbpoll("-p", port, "-t", "4:hex", "-r", str(ADDR[order]), "127.0.0.1", *(f"{w:#06x}" for w in words))
    assert await rig.read(order) == "mbpoll 1.4"  # written by mbpoll, read by pymodbus
    out = await _mbpoll("-p", port, "-t", "4:hex", "-r", str(ADDR[order]), "-c", "8", "-1", "127.0.0.1")
    got = [int(v, 16) for v in re.findall(r"^\[\d+\]:\s+(0x[0-9A-Fa-f]+)", out, re.MULTILINE)]
    assert from_wire(got, order) == "mbpoll 1.4"
