#!/usr/bin/env python3
"""Soak: the real ``plc-emulator run`` at speed 1 for a long time; RSS must level off and simulated
time must stay on the wall clock.

    .venv/bin/python scripts/soak.py [--seconds 3600] [--every 10]

Starts ``plc-emulator run`` on the default tag map (loopback, ports 0, a temporary DATA_DIR, the
historian and 10 s checkpoints on), samples the process RSS from /proc every ``--every`` seconds,
and at the end reads the OPC UA ``PLC.tick`` value (it changes every scan) with an asyncua client:
its SourceTimestamp must lie in [T - 2 scan periods - 0.2 s, T + 0.2 s] for wall time T around the
read. Prints a JSON report: RSS at start / half time / end, growth over the last half (must be
< 1 %), the timestamp check, checkpoints written. Exit 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "plc-emulator")
TAGMAP = ROOT / "tag_maps" / "separation_train.yaml"
PERIOD = 0.1


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def timestamp_offsets(port: int, reads: int = 20) -> list[tuple[float, float, float]]:
    """(T before, SourceTimestamp, T after) of ``reads`` reads of PLC.tick, in Unix seconds."""
    from asyncua import Client, ua

    from plc_emulator.tagmap import load

    tm = load(str(TAGMAP))
    out = []
    async with Client(f"opc.tcp://127.0.0.1:{port}", timeout=10) as client:
        ns = await client.get_namespace_index(tm.opcua.namespace_uri)
        node = client.get_node(ua.NodeId(tm.tag("PLC.tick").opcua.node_id, ns))
        for _ in range(reads):
            before = time.time()
            dv = await node.read_data_value(raise_on_bad_status=False)
            after = time.time()
            src = dv.SourceTimestamp
            assert src is not None
            out.append((before, src.replace(tzinfo=src.tzinfo or UTC).timestamp(), after))
            await asyncio.sleep(0.05)
    return out


def timestamps_ok(samples: list[tuple[float, float, float]], period: float = PERIOD) -> bool:
    return all(before - 2 * period - 0.2 <= src <= after + 0.2 for before, src, after in samples)


def start(data: Path) -> tuple[subprocess.Popen[str], int]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "POLL_INTERVAL_MS", "OPCUA_PORT")}
    proc = subprocess.Popen([CLI, "run", str(TAGMAP), "--data-dir", str(data), "--host", "127.0.0.1",
                             "--modbus-port", "0", "--http-port", "0", "--opcua-port", "0", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:  # bounded by the process: it prints "ready" once
        if line.startswith("ready"):
            return proc, int(line.split("opcua=127.0.0.1:")[1].split()[0])
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError("plc-emulator run did not print its ready line")


def soak(seconds: float, every: float = 10.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="plc-soak-") as tmp:
        data = Path(tmp)
        proc, ua_port = start(data)
        try:
            samples: list[tuple[float, int]] = []
            t0 = time.monotonic()
            while (elapsed := time.monotonic() - t0) < seconds:
                samples.append((elapsed, rss_bytes(proc.pid)))
                time.sleep(min(every, max(0.0, seconds - elapsed)))
                if proc.poll() is not None:
                    raise RuntimeError(f"plc-emulator exited early ({proc.returncode})")
            samples.append((time.monotonic() - t0, rss_bytes(proc.pid)))
            stamps = asyncio.run(timestamp_offsets(ua_port))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        half = [r for t, r in samples if t >= seconds / 2]
        growth = (half[-1] - half[0]) / half[0] if half and half[0] else 0.0
        offsets = [src - after for _, src, after in stamps]
        ck = (data / "plc.checkpoint").stat().st_size if (data / "plc.checkpoint").exists() else 0
        return {
            "seconds": round(seconds, 1), "rss_start_mb": round(samples[0][1] / 2**20, 1),
            "rss_half_mb": round(half[0] / 2**20, 1) if half else None, "rss_end_mb": round(samples[-1][1] / 2**20, 1),
            "rss_growth_last_half_pct": round(100 * growth, 3),
            "source_minus_wall_s": {"min": round(min(offsets), 3), "max": round(max(offsets), 3)},
            "timestamps_ok": timestamps_ok(stamps), "checkpoint_bytes": ck,
            "ok": timestamps_ok(stamps) and growth < 0.01, "exit_code": proc.returncode,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=3600.0)
    ap.add_argument("--every", type=float, default=10.0)
    args = ap.parse_args()
    report = soak(args.seconds, args.every)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
