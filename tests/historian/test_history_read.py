"""OPC UA HistoryRead (raw) from the historian store, with continuation points, over the real adapter."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from historian import Historian, HistorianConfig
from plc_emulator.opcua.history import HistorianHistory, historized_node_ids
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP, ROOT

pytestmark = pytest.mark.integration

T0 = 1_700_000_000.0
N = 2500  # more than two responses of 1000
STATUSES = {17: 0x808C0000, 18: 0x40900000}  # one Bad, one Uncertain sample


def _value(i: int) -> float:
    return 40.0 + i * 0.01


class Server:
    def __init__(self, adapter: OpcUaAdapter, node_id: str, ns: int) -> None:
        self.adapter = adapter
        self.node_id = node_id
        self.ns = ns


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    tm = load(DEFAULT_TAGMAP)
    node_id, tag = next(iter(historized_node_ids(tm).items()))
    db = tmp_path / "historian.db"
    with Historian(db, HistorianConfig(), clock=lambda: T0) as h:
        h.record_many((tag, T0 + i * 0.1, _value(i), STATUSES.get(i, 0)) for i in range(N))
    async with PlcRuntime(tm, RuntimeConfig(paused=True)) as plc:
        adapter = OpcUaAdapter(tm, plc)
        adapter.set_history_storage(HistorianHistory(db, tm))
        async with adapter:
            yield Server(adapter, node_id, adapter.namespace_index)


async def _read_pages(
    client: Client, nodeid: ua.NodeId, start: datetime, end: datetime, per_page: int
) -> tuple[list[ua.DataValue], int]:
    details = ua.ReadRawModifiedDetails(
        IsReadModified=False, StartTime=start, EndTime=end, NumValuesPerNode=per_page, ReturnBounds=False
    )
    out: list[ua.DataValue] = []
    cont: bytes | None = None
    for pages in range(1, 101):  # bounded
        params = ua.HistoryReadParameters(
            HistoryReadDetails=details,
            TimestampsToReturn=ua.TimestampsToReturn.Both,
            ReleaseContinuationPoints=False,
            NodesToRead=[ua.HistoryReadValueId(NodeId=nodeid, ContinuationPoint=cont)],
        )
        (result,) = await client.uaclient.history_read(params)
        assert result.StatusCode.is_good()
        out += result.HistoryData.DataValues
        cont = result.ContinuationPoint
        if not cont:
            return out, pages
    raise AssertionError("continuation points never ended")


class TestHistoryRead:
    async def test_asyncua_pages_through_the_whole_range(self, server: Server) -> None:
        """3 responses of <= 1000 values; every stored value once, in order, with its StatusCode."""
        async with Client(server.adapter.endpoint, timeout=10) as client:
            nodeid = ua.NodeId(server.node_id, server.ns)
            historizing = await client.get_node(nodeid).read_attribute(ua.AttributeIds.Historizing)
            assert historizing.Value.Value is True
            start = datetime.fromtimestamp(T0 - 1, UTC)
            end = datetime.fromtimestamp(T0 + N, UTC)
            values, pages = await _read_pages(client, nodeid, start, end, per_page=1000)
            assert pages == 3
            assert len(values) == N
            times = [v.SourceTimestamp for v in values]
            assert times == sorted(times)
            assert len(set(times)) == N
            for i, dv in enumerate(values):
                code = STATUSES.get(i, 0)
                assert dv.StatusCode.value == code
                if code >> 30 < 2:  # Bad samples carry a null value
                    assert dv.Value.Value == pytest.approx(_value(i))
            sub, _ = await _read_pages(
                client, nodeid, start + timedelta(seconds=1.05), start + timedelta(seconds=11.05), per_page=0
            )
            assert len(sub) == 100
            assert [round(v.Value.Value, 2) for k, v in enumerate(sub, 1) if k != 17] == [
                round(_value(i), 2) for i in range(1, 101) if i != 17
            ]
            unknown, _ = await _read_pages(client, ua.NodeId("no.such.tag", server.ns), start, end, 10)
            assert unknown == []

    @pytest.mark.external
    async def test_node_opcua_reads_history(self, server: Server, tmp_path: Path) -> None:
        """node-opcua's readHistoryValue over the same range gets the stored values and statuses."""
        node = shutil.which("node")
        modules = ROOT / "tools" / "node" / "node_modules" / "node-opcua-client"
        if node is None or not modules.exists():
            pytest.skip("node / node-opcua-client not installed")
        script = tmp_path / "hist.js"
        script.write_text(_JS)
        start = datetime.fromtimestamp(T0 - 1, UTC).isoformat()
        end = datetime.fromtimestamp(T0 + N, UTC).isoformat()
        args = [node, str(script), server.adapter.endpoint, f"ns={server.ns};s={server.node_id}", start, end]
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"NODE_PATH": str(ROOT / "tools" / "node" / "node_modules")},
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()[-2000:]
        (line,) = [x for x in out.decode().splitlines() if x.startswith("RESULT ")]
        res = json.loads(line[len("RESULT ") :])
        assert res["count"] == N
        assert res["pages"] >= 3
        assert res["statuses"][17] == 0x808C0000
        assert res["statuses"][18] == 0x40900000
        assert res["first"] == pytest.approx(_value(0))


_JS = r"""
const { OPCUAClient, ReadRawModifiedDetails, TimestampsToReturn, HistoryReadRequest } =
  require("node-opcua-client");
(async () => {
  const [endpoint, nodeId, start, end] = process.argv.slice(2);
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 1 } });
  await client.connect(endpoint);
  const session = await client.createSession();
  let cont = null, values = [], pages = 0;
  for (let i = 0; i < 100; i++) {
    const res = await session.historyRead(new HistoryReadRequest({
      historyReadDetails: new ReadRawModifiedDetails({ isReadModified: false, startTime: new Date(start),
        endTime: new Date(end), numValuesPerNode: 1000, returnBounds: false }),
      timestampsToReturn: TimestampsToReturn.Both, releaseContinuationPoints: false,
      nodesToRead: [{ nodeId, continuationPoint: cont }] }));
    const r = res.results[0];
    values = values.concat(r.historyData.dataValues);
    pages++;
    cont = r.continuationPoint;
    if (!cont || cont.length === 0) break;
  }
  console.log("RESULT " + JSON.stringify({ count: values.length, pages,
    statuses: values.map(v => v.statusCode.value), first: values[0].value.value }));
  await session.close(); await client.disconnect();
})().catch(e => { console.error(e); process.exit(1); });
"""
