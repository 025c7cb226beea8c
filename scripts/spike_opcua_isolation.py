#!/usr/bin/env python3
"""Isolation spike: OPC UA in the main event loop vs in its own process, under two attacks.

Designs (each a server process started by this script on the default tag map, 100 ms scan):

* ``inloop``         PlcRuntime + Modbus + our OPC UA adapter on one event loop, asyncua's own limits
                     (no message-size check, no item limits): what ``plc-emulator run`` was;
* ``inloop-limits``  the same with this branch's limits (message size from the header, per-call and
                     per-node monitored-item limits);
* ``process``        PlcRuntime + Modbus in one process; the OPC UA adapter, asyncua's own limits, in a
                     second process fed with snapshots through shared memory (seqlock: tick, time,
                     values, statuses) and sending writes/method calls back through a queue.

Attacks (own process, ``tests/opcua/attacks.py``, fixed rate, 5 s): ``hel`` (HEL declaring 4 GB,
then zeros at 20 MB/s, reconnecting when closed) and ``items`` (50,000 monitored items on one node, in
calls of 1,000 at 10 calls/s). A Modbus client polls 10 holding registers every 100 ms the whole
time. Figures: poll p50/p99/max before (3 s) and during the attack, scan overruns, RSS growth of the
Modbus/PLC process (and of the OPC UA process for ``process``).

    .venv/bin/python scripts/spike_opcua_isolation.py [--designs inloop,inloop-limits,process]
                                                      [--attacks hel,items] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.opcua.attacks import Poller, summary  # noqa: E402

TAGMAP = ROOT / "tag_maps" / "separation_train.yaml"
_HEAD = struct.Struct("<QQd")  # seq, tick, sim_time


# ------------------------------------------------------------------------------------ shared memory
class SnapshotWriter:
    """Scan thread side: one seqlock-protected copy of tick, time, values and statuses."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.shm = SharedMemory(create=True, size=_HEAD.size + n * 12)
        self.seq = 0

    def __call__(self, snap: Any) -> None:
        buf = self.shm.buf
        self.seq += 1  # odd: writing
        struct.pack_into("<Q", buf, 0, self.seq)
        struct.pack_into("<QQd", buf, 0, self.seq, snap.tick, snap.sim_time)
        np.frombuffer(buf, np.float64, self.n, _HEAD.size)[:] = snap.values
        np.frombuffer(buf, np.uint32, self.n, _HEAD.size + 8 * self.n)[:] = snap.status
        self.seq += 1  # even: consistent
        struct.pack_into("<Q", buf, 0, self.seq)


class MirrorPlc:
    """OPC UA process side: the PLC as the adapter sees it, read from shared memory."""

    def __init__(self, shm_name: str, n: int, commands: Any, period: float) -> None:
        from plc_emulator.runtime.pacing import ScanStats

        self.shm = SharedMemory(name=shm_name)
        self.n = n
        self.commands = commands
        self.period = period
        self.stats = ScanStats()
        self._callbacks: list[Any] = []
        self._last = -1
        self._snap = self._read()

    def _read(self) -> Any:
        from plc_emulator.image.snapshot import Snapshot

        buf = self.shm.buf
        while True:
            seq, tick, sim_time = _HEAD.unpack_from(buf, 0)
            values = np.frombuffer(buf, np.float64, self.n, _HEAD.size).copy()
            status = np.frombuffer(buf, np.uint32, self.n, _HEAD.size + 8 * self.n).copy()
            if seq % 2 == 0 and struct.unpack_from("<Q", buf, 0)[0] == seq:
                break
        empty16, emptyb = np.zeros(0, np.uint16), np.zeros(0, np.bool_)
        self._last = seq
        return Snapshot(tick=tick, sim_time=sim_time, values=values, status=status, holding=empty16,
                        input=empty16, coils=emptyb, discrete=emptyb, digest="")

    @property
    def snapshot(self) -> Any:
        return self._snap

    def on_snapshot(self, cb: Any) -> None:
        self._callbacks.append(cb)
        if len(self._callbacks) == 1:
            threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(0.002)
            if struct.unpack_from("<Q", self.shm.buf, 0)[0] != self._last:
                self._snap = self._read()
                for cb in self._callbacks:
                    cb(self._snap)

    def submit(self, cmd: Any) -> None:
        self.commands.put(cmd)

    def pause(self) -> None:
        self.commands.put(("pause",))

    def resume(self) -> None:
        self.commands.put(("resume",))

    def step(self, n: int = 1) -> int:
        self.commands.put(("step", n))
        return int(self._snap.tick) + n

    def set_speed(self, speed: float) -> None:
        self.commands.put(("speed", speed))


def _opcua_child(shm_name: str, n: int, commands: Any, port_out: Any) -> None:
    from plc_emulator.opcua.limits import OpcUaLimits
    from plc_emulator.opcua.server import OpcUaAdapter
    from plc_emulator.tagmap import load

    tagmap = load(TAGMAP)

    async def main() -> None:
        plc = MirrorPlc(shm_name, n, commands, tagmap.scan_period)
        async with OpcUaAdapter(tagmap, plc, port=0, limits=OpcUaLimits.unlimited()) as ua_server:
            port_out.put(ua_server.port)
            await asyncio.Event().wait()

    asyncio.run(main())


# ----------------------------------------------------------------------------------- server process
async def serve(design: str) -> None:
    from plc_emulator.modbus import ModbusAdapter
    from plc_emulator.opcua.limits import OpcUaLimits
    from plc_emulator.opcua.server import OpcUaAdapter
    from plc_emulator.runtime.config import RuntimeConfig
    from plc_emulator.runtime.logs import configure_logging
    from plc_emulator.runtime.plc import PlcRuntime
    from plc_emulator.tagmap import load

    configure_logging("warning")  # logs to stderr; stdout carries the ready/stats lines
    tagmap = load(TAGMAP)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    plc = PlcRuntime(tagmap, RuntimeConfig(paused=True))
    async with plc, ModbusAdapter(tagmap, plc, port=0) as mb:
        child = None
        if design == "process":
            writer = SnapshotWriter(len(tagmap.tags))
            writer(plc.snapshot)
            plc.on_snapshot(writer)
            ctx = mp.get_context("spawn")
            commands, port_q = ctx.Queue(), ctx.Queue()
            child = ctx.Process(target=_opcua_child, args=(writer.shm.name, len(tagmap.tags), commands, port_q),
                                daemon=True)
            child.start()
            ua_port = await asyncio.get_running_loop().run_in_executor(None, port_q.get)

            def pump() -> None:
                while True:
                    item = commands.get()
                    if isinstance(item, tuple):
                        getattr(plc, {"speed": "set_speed"}.get(item[0], item[0]))(*item[1:])
                    else:
                        plc.submit(item)

            threading.Thread(target=pump, daemon=True).start()
            adapter_cm: Any = None
        else:
            limits = OpcUaLimits() if design == "inloop-limits" else OpcUaLimits.unlimited()
            adapter_cm = OpcUaAdapter(tagmap, plc, port=0, limits=limits, freeze_gc=True)
            await adapter_cm.start()
            ua_port = adapter_cm.port
        plc.resume()
        print(f"ready modbus={mb.port} opcua={ua_port} child={child.pid if child else 0}", flush=True)
        await stop.wait()
        print(f"stats overruns={plc.stats.overruns}", flush=True)
        if adapter_cm is not None:
            await adapter_cm.stop()
        if child is not None:
            child.kill()


# ------------------------------------------------------------------------------------------ harness
def rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024.0 if m else 0.0


def run_attack(name: str, cfg: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.opcua.attacks", name, json.dumps(cfg)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    t1 = time.monotonic()
    out, err = proc.communicate(timeout=120)
    t2 = time.monotonic()
    if proc.returncode != 0:
        return t1, t2, {"error": err.strip().splitlines()[-1] if err.strip() else f"rc={proc.returncode}"}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return t1, t2, result


def measure(design: str, attack: str, seconds: float) -> dict[str, Any]:
    server = subprocess.Popen([sys.executable, __file__, "--serve", design], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    while line and not line.startswith("ready "):
        line = server.stdout.readline()
    parts = dict(p.split("=") for p in line.split()[1:])
    mb, ua_port, child = int(parts["modbus"]), int(parts["opcua"]), int(parts["child"])
    url = f"opc.tcp://127.0.0.1:{ua_port}/plc-emulator/"
    cfgs = {"hel": {"host": "127.0.0.1", "port": ua_port, "rate": 20e6},
            "items": {"url": url, "ns_uri": "urn:plc-emulator:separation-train", "node": "SEP-V100.inlet_pressure",
                      "count": 50_000, "batch": 1000, "rate": 10}}
    time.sleep(2.0)  # let the first scans and the address space settle before the baseline
    poller = Poller("127.0.0.1", mb).start()
    t0 = time.monotonic()
    time.sleep(3.0)
    rss0, crss0 = rss_mb(server.pid), rss_mb(child) if child else 0.0
    t1, t2, result = run_attack(attack, {**cfgs[attack], "seconds": seconds})
    rss1, crss1 = rss_mb(server.pid), rss_mb(child) if child else 0.0
    time.sleep(1.0)
    poller.stop()
    server.send_signal(signal.SIGTERM)
    out, _ = server.communicate(timeout=60)
    m = re.search(r"overruns=(\d+)", out)
    during = poller.window(t1, t2)
    return {"design": design, "attack": attack, "before": summary(poller.window(t0, t1 - 0.5)),
            "during": summary(during), "polls_over_100ms": sum(1 for x in during if x > 100),
            "poll_errors": poller.errors, "overruns": int(m.group(1)) if m else None,
            "rss_growth_mb": round(rss1 - rss0, 1), "opcua_process_rss_growth_mb": round(crss1 - crss0, 1),
            "result": result}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--designs", default="inloop,inloop-limits,process")
    ap.add_argument("--attacks", default="hel,items")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        asyncio.run(serve(a.serve))
        return 0
    rows = []
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'design':<14} {'attack':<6} {'p99 before':>10} {'p99 during':>10} {'max during':>10} "
          f"{'>100ms':>6} {'overruns':>8} {'RSS +MB':>8} {'UA RSS +MB':>10}  result")
    for design in a.designs.split(","):
        for attack in a.attacks.split(","):
            r = measure(design, attack, a.seconds)
            rows.append(r)
            res = r["result"]
            brief = res.get("statuses") or res.get("error")
            print(f"{design:<14} {attack:<6} {r['before']['p99']:>10} {r['during']['p99']:>10} "
                  f"{r['during']['max']:>10} {r['polls_over_100ms']:>6} {r['overruns']!s:>8} "
                  f"{r['rss_growth_mb']:>8} {r['opcua_process_rss_growth_mb']:>10}  {json.dumps(brief)[:90]}",
                  flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
