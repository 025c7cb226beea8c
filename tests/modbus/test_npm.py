"""An npm Modbus client (jsmodbus 5, tools/node/node_modules) against the adapter."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from plc_emulator.modbus import ModbusAdapter
from tests.conftest import ROOT
from tests.image.maps import full_map
from tests.modbus.fakeplc import FakePlc

NODE_MODULES = ROOT / "tools" / "node" / "node_modules"
SCRIPT = Path(__file__).parent / "js" / "jsmodbus_client.js"

pytestmark = [
    pytest.mark.integration, pytest.mark.external,
    pytest.mark.skipif(shutil.which("node") is None, reason="node not installed"),
    pytest.mark.skipif(not (NODE_MODULES / "jsmodbus").is_dir(),
                       reason="jsmodbus not installed (scripts/setup --all)"),
]


async def test_jsmodbus_reads_writes_and_sees_exceptions() -> None:
    plc = FakePlc(full_map(), seed=9)
    async with ModbusAdapter(plc.tagmap, plc) as mb:
        env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
        proc = await asyncio.create_subprocess_exec(
            "node", str(SCRIPT), str(mb.port), "61", "43", "333", "500",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
    assert proc.returncode == 0, err.decode()
    res = json.loads(out.decode().strip().splitlines()[-1])
    snap = plc.snapshot
    assert res["holding"] == [int(x) for x in snap.holding]
    assert res["input"] == [int(x) for x in snap.input]
    assert res["coils"] == [bool(x) for x in snap.coils]
    want = float(np.float32(plc.values[0]))  # ro_float32_ABCD at holding 0
    assert res["float0"] == want
    assert struct.pack(">f", res["float0"]) == struct.pack(">HH", *res["holding"][:2])
    assert res["exception"] == 2
    assert res["roException"] == 2
    assert [(c.target, c.value) for c in plc.submitted] == [("LIC200.sp", 33.3)]
