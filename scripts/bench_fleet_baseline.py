#!/usr/bin/env python3
"""The "one process per RTU" baseline: RSS and CPU of M ``plc-emulator run`` processes, polled at 1 s.

    .venv/bin/python scripts/bench_fleet_baseline.py [--processes 10] [--seconds 60] [--settle 15]
                                                     [--scan-ms 1000] [--json FILE]

Starts M RTUs of the example fleet (``tag_maps/fleets/oil_field.yaml``: each with its own tag map
and seed; free loopback ports instead of the file's; its parameter overrides and scenarios are not
passed, ``run`` has no flag for them) as M ``plc-emulator run`` processes, exactly as
one would serve a field today: each with Modbus, OPC UA, HTTP and its historian (the defaults of
``run``), scanning every ``--scan-ms``. Once all are ready and ``--settle`` seconds have passed, the
independent C poller ``tools/mbfleet/mbfleet`` (libmodbus; built by ``scripts/setup --all``) polls
every RTU once per second for all its holding registers during ``--seconds``, while this script
measures each process's CPU time (utime + stime from /proc) over that window, and at its end RSS
and PSS (/proc/PID/smaps_rollup) and the scan overruns from /metrics.

Reported (Markdown to stdout, JSON with ``--json``): per process mean and max RSS, PSS, CPU as a
fraction of one core; RTUs per core (1 / CPU); how many RTUs this machine holds (the smaller of
memory / PSS and cores / CPU); hosts of this size for 10,000 RTUs; the poller's latency percentiles
and misses. Every figure comes from this one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLI = ROOT / ".venv" / "bin" / "plc-emulator"
MBFLEET = ROOT / "tools" / "mbfleet" / "mbfleet"
FLEET = ROOT / "tag_maps" / "fleets" / "oil_field.yaml"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FLEET_TARGET = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Rtu:
    """One ``plc-emulator run`` child: its ports and its stdout lines."""

    id: str
    proc: subprocess.Popen[str]
    modbus: int
    http: int
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_ready(self, deadline: float) -> None:
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise SystemExit(f"{self.id} exited ({self.proc.wait(5)}) before it was ready")
            if line.startswith("ready "):
                return
        raise SystemExit(f"{self.id} not ready in time")


def start(rtus: list[Any], workdir: Path, scan_ms: int) -> list[Rtu]:
    out = []
    for spec in rtus:
        mb, http, ua = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("MODBUS_PORT", "API_PORT", "OPCUA_PORT", "DATA_DIR")}
        env.update(POLL_INTERVAL_MS=str(scan_ms), LOG_LEVEL="warning")
        args = [str(CLI), "run", str(spec.tagmap), "--seed", str(spec.seed), "--host", "127.0.0.1",
                "--modbus-port", str(mb), "--http-port", str(http), "--opcua-port", str(ua),
                "--data-dir", str(workdir / spec.id)]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        r = Rtu(spec.id, p, mb, http)
        threading.Thread(target=r.pump, daemon=True).start()
        out.append(r)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB."""
    rollup = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return int(rollup["Rss"].split()[0]), int(rollup["Pss"].split()[0])


def overruns(http_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("plc_scan_overruns_total"):
                return float(line.split()[-1])
    return math.nan


def mem_total_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise SystemExit("no MemTotal in /proc/meminfo")


def poll(children: list[Rtu], span: tuple[int, int], seconds: float, workdir: Path) -> dict[str, Any]:
    targets = workdir / "targets"
    targets.write_text("".join(f"127.0.0.1 {c.modbus} 1 {span[0]} {span[1]}\n" for c in children))
    r = subprocess.run([str(MBFLEET), str(targets), str(seconds), "1", "1"], capture_output=True, text=True,
                       timeout=seconds + 60, check=False)
    if r.returncode != 0:
        raise SystemExit(f"mbfleet failed: {r.stderr.strip()}")
    return dict(json.loads(r.stdout))


def measure(children: list[Rtu], span: tuple[int, int], args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    over0 = [overruns(c.http) for c in children]
    cpu0, t0 = [cpu_seconds(c.proc.pid) for c in children], time.monotonic()
    load = poll(children, span, args.seconds, workdir)
    cpu1, t1 = [cpu_seconds(c.proc.pid) for c in children], time.monotonic()
    mem = [memory_kib(c.proc.pid) for c in children]
    over1 = [overruns(c.http) for c in children]
    cpu = [(b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1, strict=True)]
    rss = [m[0] / 1024 for m in mem]
    pss = [m[1] / 1024 for m in mem]
    cores = os.cpu_count() or 1
    mem_mib = mem_total_kib() / 1024
    cpu_mean, pss_mean = sum(cpu) / len(cpu), sum(pss) / len(pss)
    per_core = 1 / cpu_mean if cpu_mean > 0 else math.inf
    fit = min(mem_mib / pss_mean, cores * per_core)
    return {
        "processes": len(children), "scan_ms": args.scan_ms, "window_s": round(t1 - t0, 1), "cores": cores,
        "mem_total_mib": round(mem_mib), "rss_mean_mib": sum(rss) / len(rss), "rss_max_mib": max(rss),
        "pss_mean_mib": pss_mean, "cpu_mean_core": cpu_mean, "cpu_max_core": max(cpu),
        "rtus_per_core": per_core, "rtus_this_machine": math.floor(fit),
        "hosts_for_10000": math.ceil(FLEET_TARGET / fit) if fit > 0 else math.inf,
        "overruns": sum(b - a for a, b in zip(over0, over1, strict=True)), "poller": load,
    }


def report(m: dict[str, Any]) -> str:
    p = m["poller"]
    return "\n".join([
        f"One process per RTU: {m['processes']} x `plc-emulator run` (Modbus + OPC UA + HTTP + historian), "
        f"scan {m['scan_ms']} ms, polled at 1 s for all holding registers by tools/mbfleet over "
        f"{m['window_s']} s; {m['cores']} cores, {m['mem_total_mib']} MiB",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| RSS per RTU (mean / max) | {m['rss_mean_mib']:.0f} / {m['rss_max_mib']:.0f} MiB |",
        f"| PSS per RTU (shared pages split) | {m['pss_mean_mib']:.0f} MiB |",
        f"| CPU per RTU (mean / max, share of one core) | {m['cpu_mean_core']:.1%} / {m['cpu_max_core']:.1%} |",
        f"| RTUs per core (1 / CPU) | {m['rtus_per_core']:.1f} |",
        f"| RTUs this machine holds (min of memory / PSS, cores / CPU) | {m['rtus_this_machine']} |",
        f"| Hosts like this one for 10,000 RTUs | {m['hosts_for_10000']} |",
        f"| Scan overruns during the window | {m['overruns']:.0f} |",
        f"| Poller: polls / misses | {p['polls']} / {p['misses']} |",
        f"| Poller latency p50 / p99 / max | {p['p50_ms']:.1f} / {p['p99_ms']:.1f} / {p['max_ms']:.1f} ms |",
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--processes", type=int, default=10, help="M processes (RTUs), 1..200")
    ap.add_argument("--seconds", type=float, default=60.0, help="polling window")
    ap.add_argument("--settle", type=float, default=15.0, help="seconds between all ready and the window")
    ap.add_argument("--scan-ms", type=int, default=1000, help="scan period of every RTU (POLL_INTERVAL_MS)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    if not 1 <= args.processes <= 200 or args.seconds <= 0 or args.settle < 0:
        ap.error("--processes 1..200, --seconds > 0, --settle >= 0")
    if not MBFLEET.is_file():
        raise SystemExit(f"{MBFLEET} missing: run scripts/setup --all")
    from plc_emulator.fleet import load_fleet
    from plc_emulator.fleet.targets import holding_span
    from plc_emulator.tagmap import load

    specs = list(load_fleet(FLEET).rtus[: args.processes])
    span = holding_span(load(specs[0].tagmap))
    with tempfile.TemporaryDirectory(prefix="fleet-baseline-") as tmp:
        children = start(specs, Path(tmp), args.scan_ms)
        try:
            deadline = time.monotonic() + 60 + 20 * args.processes
            for c in children:
                c.wait_ready(deadline)
            time.sleep(args.settle)  # let start-up work (address spaces, first checkpoints) pass
            figures = measure(children, span, args, Path(tmp))
        finally:
            for c in children:
                if c.proc.poll() is None:
                    c.proc.send_signal(signal.SIGTERM)
            for c in children:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    c.proc.wait(30)
                if c.proc.poll() is None:
                    c.proc.kill()
                    c.proc.wait(10)
    print(report(figures))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
