#!/usr/bin/env python3
"""OPC UA publishing benchmark: a naive bare asyncua server vs our adapter, measured in one run.

Cases (each server in its own process, subscribed to by an independent node-opcua client with one
subscription, sampling = publishing interval = the scan period, queue size 10):

* ``naive-1000``   bare asyncua 2.1: 1,000 Double variables added with ``add_variable`` under one
                   folder, every 100 ms ``write_value`` on each (what issue #4 measured at 3.7 cycles/s);
* ``ours-1000``    our adapter on the real PLC runtime + engine, generated 1,000-analog-tag map, 100 ms;
* ``naive-10000``  the same bare server with 10,000 variables, updated every 1 s (``--skip-naive-10k``
                   skips it: adding the variables alone takes minutes);
* ``ours-10000``   our adapter, 10,000 analog tags, 1 s scan;
* ``plant``        our adapter on the default tag map (tag_maps/separation_train.yaml), 100 ms.

Figures per case: time to serve (process start -> endpoint up), update cost per cycle and per changed
node (server-side time spent publishing values), cycles/s, notifications delivered vs expected
(counted per SourceTimestamp: every value change the server published inside the client's window
must arrive), server CPU (process time / wall time), and for our runs the scan jitter and overruns
from the runtime. Ratios compare cases measured in the same run.

    .venv/bin/python scripts/bench_opcua.py [--seconds 10] [--skip-naive-10k] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"

CLIENT_JS = r"""
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, TimestampsToReturn,
        ClientSubscription, ClientMonitoredItemGroup } = require("node-opcua-client");
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");
const cfg = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
setTimeout(() => { console.error("hard timeout"); process.exit(3); }, (cfg.seconds + 240) * 1000);
(async () => {
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 3 },
    securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
    requestedSessionTimeout: 600000,
    clientCertificateManager: new OPCUACertificateManager({ rootFolder: cfg.pki,
                                                            automaticallyAcceptUnknownCertificate: true }) });
  await client.connect(cfg.url);
  const session = await client.createSession();
  const ns = (await session.readNamespaceArray()).indexOf(cfg.nsUri);
  const sub = ClientSubscription.create(session, { requestedPublishingInterval: cfg.periodMs,
    requestedLifetimeCount: 6000, requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 0,
    publishingEnabled: true, priority: 1 });
  const perTs = {};
  let count = 0;
  const items = cfg.nodes.map((s) => ({ nodeId: `ns=${ns};s=${s}`, attributeId: AttributeIds.Value }));
  // groups of at most 100 items: the server's MaxMonitoredItemsPerCall (node-opcua does not split)
  const groups = [];
  for (let i = 0; i < items.length; i += 100) {
    const group = ClientMonitoredItemGroup.create(sub, items.slice(i, i + 100),
      { samplingInterval: cfg.periodMs, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
    await new Promise((r) => group.on("initialized", r));
    groups.push(group);
  }
  const start = Date.now();
  for (const group of groups) {
    group.on("changed", (item, dv) => {
      count += 1;
      const ts = dv.sourceTimestamp ? dv.sourceTimestamp.getTime() : 0;
      perTs[ts] = (perTs[ts] || 0) + 1;
    });
  }
  await new Promise((r) => setTimeout(r, cfg.seconds * 1000));
  const end = Date.now();
  await sub.terminate(); await session.close(); await client.disconnect();
  process.stdout.write(JSON.stringify({ count, perTs, start, end }) + "\n");
  process.exit(0);
})().catch((e) => { console.error("FAILED:", e.message); process.exit(1); });
"""


# ---------------------------------------------------------------------------------------- servers
def _generated_tagmap(n: int, period: float) -> Any:
    """``n`` analog tags bound to the engine's measured signals, 200 per device, no Modbus points."""
    from plc_emulator.engine.catalogue import CATALOGUE, SignalKind
    from plc_emulator.tagmap.model import (
        Access,
        Device,
        HistorianSettings,
        Location,
        ModbusSettings,
        OpcUaPoint,
        OpcUaSettings,
        Tag,
        TagKind,
        TagMap,
    )

    measured = [s for s in CATALOGUE if s.kind is SignalKind.MEASURED]
    devices: list[Any] = []
    for d in range(0, n, 200):
        tags = []
        for i in range(d, min(n, d + 200)):
            s = measured[i % len(measured)]
            dev = f"GEN-{d // 200:03d}"
            tags.append(Tag(device=dev, name=f"pt{i:05d}", signal=s.name, unit=s.unit,
                            description=s.description, kind=TagKind.ANALOG,
                            range=(float(s.range[0]), float(s.range[1])), access=Access.RO,
                            write_limits=None, states=(), precision=2, modbus=None,
                            opcua=OpcUaPoint(browse_name=f"pt{i:05d}", node_id=f"{dev}.pt{i:05d}"),
                            alarms=None,
                            historian=None, location=Location(file="<bench>", line=i + 1, col=1)))
        devices.append(Device(name=f"GEN-{d // 200:03d}", description="generated", tags=tuple(tags)))
    return TagMap(path="<bench>", sha256="0" * 64, name=f"bench-{n}", plant="BenchPlant", description="bench",
                  scan_period=period, seed=1, epoch=float(int(time.time())), modbus=ModbusSettings(),
                  opcua=OpcUaSettings(),
                  historian=HistorianSettings(), process={}, pm={}, devices=tuple(devices))


async def _serve_naive(n: int, period: float, ready: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    from asyncua import Server, ua

    t0 = time.perf_counter()
    server = Server()
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:0/naive/")
    ns = await server.register_namespace("urn:bench:naive")
    folder = await server.nodes.objects.add_folder(ua.NodeId("Naive", ns), "Naive")
    nodes = []
    for i in range(n):
        nodes.append(await folder.add_variable(ua.NodeId(f"v{i:05d}", ns), f"v{i:05d}", 0.0))
    await server.start()
    build = time.perf_counter() - t0
    url = f"opc.tcp://127.0.0.1:{server.bserver.port}/naive/"
    stop = ready(url, "urn:bench:naive", [f"v{i:05d}" for i in range(n)], build)
    per_ts: dict[int, int] = {}
    cycles, busy = 0, 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    nxt = time.perf_counter()
    while not stop.is_set():
        start = time.perf_counter()
        now = datetime.now(UTC)
        ts = now.replace(microsecond=(now.microsecond // 1000) * 1000)  # whole ms: same key as the client
        cycles += 1
        for i, node in enumerate(nodes):
            await node.write_value(ua.DataValue(ua.Variant(float(cycles * 1000 + i), ua.VariantType.Double),
                                                SourceTimestamp=ts))
        busy += time.perf_counter() - start
        per_ts[round(ts.timestamp() * 1000)] = n
        nxt += period
        delay = nxt - time.perf_counter()
        if delay < 0:
            nxt = time.perf_counter()
        await asyncio.sleep(max(delay, 0))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    await server.stop()
    return {"build_s": build, "cycles": cycles, "cycles_per_s": cycles / wall, "update_s": busy,
            "nodes_written": cycles * n, "cpu_pct": 100 * cpu / wall, "per_ts": per_ts, "wall_s": wall}


async def _serve_ours(n: int, period: float, ready: Any, *, plant: bool) -> dict[str, Any]:
    from plc_emulator.opcua.server import OpcUaAdapter
    from plc_emulator.runtime.config import RuntimeConfig
    from plc_emulator.runtime.plc import PlcRuntime
    from plc_emulator.tagmap import load

    t0 = time.perf_counter()
    tagmap = load(str(ROOT / "tag_maps" / "separation_train.yaml")) if plant else _generated_tagmap(n, period)
    per_ts: dict[int, int] = {}
    coalesced_at: dict[int, int] = {}
    stats = {"applies": 0, "update_s": 0.0, "nodes_written": 0}
    async with (PlcRuntime(tagmap, RuntimeConfig(speed=1.0)) as plc,
                OpcUaAdapter(tagmap, plc, freeze_gc=True) as adapter):  # as plc-emulator run does
        build = time.perf_counter() - t0
        pub = adapter.publisher
        orig = pub.apply

        def timed(snap: Any, *, force: bool = False) -> int:
            s = time.perf_counter()
            written = orig(snap, force=force)
            stats["update_s"] += time.perf_counter() - s
            stats["applies"] += 1
            stats["nodes_written"] += written
            key = round(snap.sim_time * 1000)
            per_ts[key] = per_ts.get(key, 0) + written
            coalesced_at[key] = adapter.coalesced_scans
            return written

        pub.apply = timed  # type: ignore[method-assign]
        node_ids = [t.opcua.node_id for t in tagmap.tags]
        stop = ready(adapter.endpoint, tagmap.opcua.namespace_uri, node_ids, build)
        cpu0, wall0, over0 = time.process_time(), time.perf_counter(), plc.stats.overruns
        coalesced0 = adapter.coalesced_scans
        jit0 = plc.stats.max_jitter
        plc.stats.max_jitter = 0.0
        await stop.wait()
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        result = {"build_s": build, "cycles": stats["applies"], "cycles_per_s": stats["applies"] / wall,
                  "update_s": stats["update_s"], "nodes_written": stats["nodes_written"],
                  "cpu_pct": 100 * cpu / wall, "per_ts": per_ts, "wall_s": wall,
                  "overruns": plc.stats.overruns - over0, "max_jitter_ms": 1000 * plc.stats.max_jitter,
                  "coalesced": adapter.coalesced_scans - coalesced0, "ticks": plc.tick,
                  "coalesced_at": coalesced_at,
                  "startup_jitter_ms": 1000 * jit0}
    return result


def serve_main(kind: str, n: int, period: float) -> None:
    """Child process: serve, print READY + the node list file, wait for 'stop' on stdin, print stats."""
    import logging

    logging.disable(logging.WARNING)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def ready(url: str, ns_uri: str, nodes: list[str], build: float) -> asyncio.Event:
            fd, path = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(nodes, f)
            print(f"READY {url} {ns_uri} {path} {build:.3f}", flush=True)
            loop.add_reader(sys.stdin.fileno(), stop.set)
            return stop

        if kind == "naive":
            res = await _serve_naive(n, period, ready)
        else:
            res = await _serve_ours(n, period, ready, plant=(kind == "plant"))
        print("STATS " + json.dumps(res), flush=True)

    asyncio.run(main())


# ---------------------------------------------------------------------------------------- driver
def run_case(name: str, case: tuple[str, int, float], seconds: float, workdir: Path) -> dict[str, Any]:
    kind, n, period = case
    t_start = time.perf_counter()
    cmd = [sys.executable, __file__, "--serve", kind, "--tags", str(n), "--period", str(period)]
    srv = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if srv.stdout is None or srv.stdin is None:
        raise RuntimeError("no pipes")
    try:
        line = ""
        for line in srv.stdout:  # the runtime logs to stdout too: skip to our READY line
            if line.startswith("READY"):
                break
        if not line.startswith("READY"):
            raise RuntimeError(f"{name}: server did not start (exit {srv.wait()})")
        serving_s = time.perf_counter() - t_start
        _, url, ns_uri, nodes_file, build = line.split()
        nodes = json.loads(Path(nodes_file).read_text())
        Path(nodes_file).unlink()
        cfg = workdir / f"{name}.json"
        cfg.write_text(json.dumps({"url": url, "nsUri": ns_uri, "nodes": nodes, "periodMs": period * 1000,
                                   "seconds": seconds, "pki": str(workdir / "pki")}))
        env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
        client = subprocess.run(["node", str(workdir / "client.js"), str(cfg)], capture_output=True,
                                text=True, env=env, timeout=seconds + 300, check=False)
        if client.returncode != 0:
            raise RuntimeError(f"{name}: node client failed: {client.stderr[-500:]}")
        got = json.loads(client.stdout.strip().splitlines()[-1])
        srv.stdin.write("stop\n")
        srv.stdin.flush()
        stats_line = ""
        for line in srv.stdout:
            if line.startswith("STATS "):
                stats_line = line
                break
        stats = json.loads(stats_line[6:])
    finally:
        try:
            srv.wait(timeout=60)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
    # expected vs delivered per SourceTimestamp, inside the client's window (one period of margin)
    # window: from the first scan the client saw (mostly) complete, to two periods before it stopped
    per_ts = {int(k): v for k, v in stats["per_ts"].items()}
    client_ts = {int(k): v for k, v in got["perTs"].items()}
    full = sorted(ts for ts, v in client_ts.items() if per_ts.get(ts) and v >= 0.5 * per_ts[ts])
    lo = (full[0] if full else max(client_ts, default=0)) + 2 * period * 1000
    hi = max(client_ts, default=0) - 2 * period * 1000
    expected = sum(v for ts, v in per_ts.items() if lo <= ts <= hi)
    delivered = sum(v for ts, v in client_ts.items() if lo <= ts <= hi)
    window_s = max(1e-9, (hi - lo) / 1000)
    # scans published inside the window vs scans the PLC ran there (a coalesced scan is one whose
    # values were only ever published merged into the next one)
    published = [ts for ts in per_ts if lo <= ts <= hi]
    scans_in_window = round((hi - lo) / (period * 1000)) + 1
    coalesced_in_window = None
    if "coalesced_at" in stats and published:
        at = {int(k): v for k, v in stats["coalesced_at"].items()}
        coalesced_in_window = at[max(published)] - at[min(published)]
    written = max(1, stats["nodes_written"])
    return {
        "case": name, "tags": len(nodes), "period_ms": period * 1000, "serving_s": round(serving_s, 2),
        "build_s": round(float(build), 2), "cycles_per_s": round(stats["cycles_per_s"], 2),
        "target_cycles_per_s": round(1 / period, 2),
        "update_ms_per_cycle": round(1000 * stats["update_s"] / max(1, stats["cycles"]), 3),
        "update_us_per_node": round(1e6 * stats["update_s"] / written, 2),
        "expected_notifications": expected, "delivered_notifications": delivered,
        "delivered_pct": round(100 * delivered / expected, 2) if expected else None,
        "notifications_per_s": round(delivered / window_s, 1),
        "expected_per_s": round(expected / window_s, 1),
        "server_cpu_pct": round(stats["cpu_pct"], 1),
        "overruns": stats.get("overruns"), "max_jitter_ms": round(stats["max_jitter_ms"], 2)
        if "max_jitter_ms" in stats else None,
        "coalesced_scans": stats.get("coalesced"), "coalesced_in_window": coalesced_in_window,
        "scans_published_in_window": len(published), "scans_in_window": scans_in_window,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="client measuring window per case")
    ap.add_argument("--skip-naive-10k", action="store_true", help="skip the slow naive 10,000-variable case")
    ap.add_argument("--cases", default="naive-1000,ours-1000,naive-10000,ours-10000,plant")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--serve", choices=("naive", "ours", "plant"), help=argparse.SUPPRESS)
    ap.add_argument("--tags", type=int, default=1000, help=argparse.SUPPRESS)
    ap.add_argument("--period", type=float, default=0.1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_main(args.serve, args.tags, args.period)
        return 0
    if shutil.which("node") is None or not (NODE_MODULES / "node-opcua-client").is_dir():
        print("bench_opcua: needs node and tools/node/node_modules/node-opcua-client (scripts/setup --all)",
              file=sys.stderr)
        return 1
    table = {"naive-1000": ("naive", 1000, 0.1), "ours-1000": ("ours", 1000, 0.1),
             "naive-10000": ("naive", 10000, 1.0), "ours-10000": ("ours", 10000, 1.0),
             "plant": ("plant", 0, 0.1)}
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    if args.skip_naive_10k:
        names = [c for c in names if c != "naive-10000"]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_opcua_") as tmp:
        work = Path(tmp)
        (work / "client.js").write_text(CLIENT_JS)
        for name in names:
            kind, n, period = table[name]
            print(f"-- {name}: {kind}, {n or 'default plant'} tags, {period * 1000:g} ms ...",
                  file=sys.stderr, flush=True)
            r = run_case(name, table[name], args.seconds, work)
            results.append(r)
            print(json.dumps(r), flush=True)
    by = {r["case"]: r for r in results}
    print("\ncase          tags  period  serve_s  cycles/s  upd_ms/cyc  us/node  delivered        cpu%  "
          "overruns  max_jitter_ms  scans_published/run(window)")
    for r in results:
        print(f"{r['case']:<12} {r['tags']:>6} {r['period_ms']:>6g} {r['serving_s']:>8} "
              f"{r['cycles_per_s']:>6}/{r['target_cycles_per_s']:<4g} {r['update_ms_per_cycle']:>9} "
              f"{r['update_us_per_node']:>8} "
              f"{r['delivered_notifications']:>7}/{r['expected_notifications']:<7} "
              f"{r['server_cpu_pct']:>5} {r['overruns']!s:>8} {r['max_jitter_ms']!s:>13}  "
              f"{r['scans_published_in_window']}/{r['scans_in_window']}")
    for n in ("1000", "10000"):
        if f"naive-{n}" in by and f"ours-{n}" in by:
            ratio = by[f"ours-{n}"]["update_us_per_node"] / max(1e-9, by[f"naive-{n}"]["update_us_per_node"])
            print(f"update cost per changed node, ours/naive at {n} tags: {ratio:.3f} (goal <= 0.333)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
