"""node-opcua (npm) receives condition events, calls Acknowledge and ConditionRefresh successfully."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from plc_emulator.opcua.conditions import AlarmConditions
from plc_emulator.opcua.server import OpcUaAdapter
from tests.conftest import ROOT

from .fakeplc import AlarmPlc
from .test_opcua_conditions import alarm_tagmap

NODE = shutil.which("node")
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"
SCRIPT = Path(__file__).parent / "js" / "conditions.js"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.external,
    pytest.mark.skipif(
        NODE is None or not (NODE_MODULES / "node-opcua-client").is_dir(),
        reason="node or tools/node/node_modules/node-opcua-client not installed",
    ),
]


async def test_node_opcua_ack_and_refresh() -> None:
    assert NODE is not None
    tm = alarm_tagmap()
    plc = AlarmPlc(tm)
    async with OpcUaAdapter(tm, plc, port=0) as adapter:
        conds: AlarmConditions = adapter.conditions  # attached by the adapter
        env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
        proc = await asyncio.create_subprocess_exec(
            NODE,
            str(SCRIPT),
            adapter.endpoint,
            "HI",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        result = None
        try:
            async with asyncio.timeout(90):
                while True:
                    line = (await proc.stdout.readline()).decode().strip()
                    if not line:
                        break
                    if line == "SUBSCRIBED":
                        plc.set("V100.oil_level", 80.0)
                        plc.step()
                    elif line.startswith("ACKED"):
                        assert line == "ACKED Good"
                        plc.step()
                    elif line.startswith("RESULT "):
                        result = json.loads(line[len("RESULT ") :])
                await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await conds.close()
    err = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert result is not None, err
    assert result["ack"] == "Good"
    assert result["refresh"] == "Good"
    assert result["first"]["severity"] == 500
    assert result["first"]["retain"] is True
    assert result["first"]["source"] == "SEP-V100.oil_level"
    assert result["first"]["eventType"] == "ns=0;i=9341"  # ExclusiveLimitAlarmType
    assert result["refreshed"][-1] == {"acked": True, "active": True, "retain": True}
    assert [c.source for c in plc.applied] == ["opcua"]
