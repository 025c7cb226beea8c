#!/usr/bin/env python3
"""SSE fan-out cost, measured in one run: encodings per scan, scan-thread CPU, stalled-client memory.

    .venv/bin/python scripts/bench_http_stream.py [--clients 50] [--seconds 8] [--speed 5]

1. Encodings: with N SSE clients connected, ``encodes`` grows by exactly one per scan.
2. Scan-thread CPU: ``time.thread_time()`` read inside the scan thread (a snapshot callback) gives
   its CPU seconds per scan; phases with 0 and N clients alternate (0, N, 0, N) in the same run, so
   machine noise hits both alike. The clients run in a child process (their own interpreter), as
   real browsers would. Goal: N clients cost at most 5 % more scan-thread CPU than none.
3. Stalled clients: S clients that connect and never read, with a small receive window, while the
   PLC runs as fast as it can; the process RSS and each client's backlog are sampled over time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from plc_emulator.http import HttpServer
    from plc_emulator.runtime import PlcRuntime

CLIENT_CODE = r"""
import asyncio, sys, aiohttp
async def one(url, counts, i):
    async with aiohttp.ClientSession() as s, s.get(url, timeout=aiohttp.ClientTimeout(total=None)) as r:
        print("connected", flush=True)
        async for _ in r.content.iter_any():
            counts[i] += 1
async def main():
    n, url = int(sys.argv[1]), sys.argv[2]
    counts = [0] * n
    await asyncio.gather(*(one(url, counts, i) for i in range(n)))
asyncio.run(main())
"""


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class ScanCpu:
    """Scan-thread CPU seconds, sampled by a callback that runs in the scan thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cpu = 0.0
        self.scans = 0

    def __call__(self, _snap: object) -> None:
        t = time.thread_time()
        with self.lock:
            self.cpu = t
            self.scans += 1

    def read(self) -> tuple[float, int]:
        with self.lock:
            return self.cpu, self.scans


async def phase(cpu: ScanCpu, seconds: float) -> tuple[float, int]:
    c0, n0 = cpu.read()
    await asyncio.sleep(seconds)
    c1, n1 = cpu.read()
    return c1 - c0, n1 - n0


async def run(args: argparse.Namespace) -> dict[str, object]:
    from plc_emulator.http import HttpServer
    from plc_emulator.runtime import PlcRuntime, RuntimeConfig
    from plc_emulator.runtime.metrics import Metrics
    from plc_emulator.tagmap import load

    tm = load(str(ROOT / "tag_maps" / "separation_train.yaml"))
    cpu = ScanCpu()
    out: dict[str, object] = {"clients": args.clients, "seconds_per_phase": args.seconds, "speed": args.speed}
    async with PlcRuntime(tm, RuntimeConfig(speed=args.speed)) as plc:
        plc.on_snapshot(cpu)
        async with HttpServer(plc, Metrics(plc)) as http:
            stats = http.broadcaster.stats
            url = f"http://127.0.0.1:{http.port}/stream"
            await phase(cpu, 1.0)  # warm-up
            per_scan: dict[str, list[float]] = {"0": [], str(args.clients): []}
            encodes_ok = []
            for rnd in range(args.rounds):
                c, n = await phase(cpu, args.seconds)
                per_scan["0"].append(c / max(n, 1))
                child = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", CLIENT_CODE, str(args.clients), url, stdout=asyncio.subprocess.PIPE)
                assert child.stdout is not None
                for _ in range(args.clients):
                    await child.stdout.readline()
                e0, s0 = stats.encodes, stats.scans_seen
                c, n = await phase(cpu, args.seconds)
                per_scan[str(args.clients)].append(c / max(n, 1))
                encodes_ok.append({"round": rnd, "scans": stats.scans_seen - s0, "encodes": stats.encodes - e0,
                                   "clients": stats.clients})
                child.terminate()
                await child.wait()
            base = statistics.mean(per_scan["0"])
            loaded = statistics.mean(per_scan[str(args.clients)])
            out["scan_cpu_us_per_scan"] = {k: [round(v * 1e6, 1) for v in vs] for k, vs in per_scan.items()}
            out["scan_cpu_ratio"] = round(loaded / base, 4)
            out["encodings"] = encodes_ok
            out["stalled"] = await stalled(plc, http, args)
    return out


async def stalled(plc: PlcRuntime, http: HttpServer, args: argparse.Namespace) -> dict[str, object]:
    socks = []
    for _ in range(args.stalled):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", http.port))
        s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    plc.set_speed(0)
    samples = []
    t0 = time.monotonic()
    for _ in range(int(args.stall_seconds)):
        await asyncio.sleep(1.0)
        pend = [len(c.pending) for c in http.broadcaster._clients]
        samples.append({"t": round(time.monotonic() - t0, 1), "tick": plc.tick, "rss_kib": rss_kib(),
                        "max_pending": max(pend or [0]),
                        "dropped_to_snapshot": http.broadcaster.stats.dropped_to_snapshot})
    for s in socks:
        s.close()
    return {"clients": args.stalled, "buffer": http.settings.stream_client_buffer, "samples": samples}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--speed", type=float, default=5.0, help="x real time during the CPU phases")
    ap.add_argument("--stalled", type=int, default=5)
    ap.add_argument("--stall-seconds", type=float, default=10.0)
    args = ap.parse_args()
    os.environ.setdefault("LOG_LEVEL", "warning")
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
