"""tools/mbfleet (C, libmodbus) polls RTUs of a real PLC runtime once per period and counts misses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from plc_emulator.fleet.targets import holding_span
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP, ROOT, free_port

MBFLEET = ROOT / "tools" / "mbfleet" / "mbfleet"
pytestmark = [pytest.mark.external,
              pytest.mark.skipif(not MBFLEET.is_file(), reason="tools/mbfleet not built (scripts/setup --all)")]


async def mbfleet(targets: list[str], tmp: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    file = tmp / "targets"
    file.write_text("# host port unit start count\n" + "\n".join(targets) + "\n", encoding="utf-8")
    p = await asyncio.create_subprocess_exec(str(MBFLEET), str(file), *args, stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(p.communicate(), 30)
    assert p.returncode is not None
    return p.returncode, json.loads(out) if p.returncode == 0 else {}, err.decode()


@pytest.fixture
async def rtu() -> AsyncIterator[tuple[int, int, int]]:
    """A real PLC runtime served on one port for unit ids 1 and 2 (like a small gateway)."""
    tm = load(DEFAULT_TAGMAP)
    async with PlcRuntime(tm, RuntimeConfig(paused=True)) as plc, \
            ModbusAdapter(tm, plc, host="127.0.0.1", port=0, unit_ids=(2,)) as mb:
        start, count = holding_span(tm)
        yield mb.port, start, count


async def test_every_rtu_polled_once_per_period_for_all_holding_registers(rtu: tuple[int, int, int],
                                                                         tmp_path: Path) -> None:
    port, start, count = rtu
    assert count > 125  # more than one FC 3 read per poll
    code, res, err = await mbfleet([f"127.0.0.1 {port} 1 {start} {count}", f"127.0.0.1 {port} 2 {start} {count}"],
                                   tmp_path, "1.0", "0.25", "1")
    assert code == 0, err
    assert res["connections"] == 1  # one connection carries both unit ids
    assert res["rounds"] == 4
    assert res["polls"] == res["ok"] == 8
    assert res["misses"] == 0
    assert 0 < res["p50_ms"] <= res["p99_ms"] <= res["max_ms"] < 1000


async def test_unanswered_units_and_dead_ports_are_misses(rtu: tuple[int, int, int], tmp_path: Path) -> None:
    port, start, count = rtu
    dead = free_port()
    code, res, err = await mbfleet([f"127.0.0.1 {port} 9 {start} {count}", f"127.0.0.1 {dead} 1 0 10"],
                                   tmp_path, "0.6", "0.3", "0.1", "2")
    assert code == 0, err
    assert res["polls"] == 4
    assert res["ok"] == 0
    assert res["misses"] == 4


async def test_bad_targets_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    code, _res, err = await mbfleet(["127.0.0.1 502 1 0 10", "127.0.0.1 70000 1 0 10"], tmp_path, "1")
    assert code == 2
    assert ":3: expected HOST PORT UNIT START COUNT" in err
