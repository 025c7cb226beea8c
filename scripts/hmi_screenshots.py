#!/usr/bin/env python3
"""Screenshots of the web HMI for docs/img: one overview per shipped tag map, in Debian's Chromium.

    .venv/bin/python scripts/hmi_screenshots.py [--out docs/img] [--seconds 20]

Starts ``plc-emulator run`` on free loopback ports at 20x speed, lets it run, trips the pump and
freezes a transmitter (so abnormal colours and Bad quality show), opens a faceplate and a trend,
and writes ``hmi_<tagmap>.png``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "plc-emulator"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(base: str, path: str, body: dict[str, object]) -> None:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10):
        pass


def shoot(tagmap: Path, out: Path, seconds: float, chromium: str) -> Path:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        http = free_port()
        proc = subprocess.Popen([str(CLI), "run", str(tagmap), "--host", "127.0.0.1", "--modbus-port",
                                 str(free_port()), "--http-port", str(http), "--opcua-port", str(free_port()),
                                 "--opcua-security", "None", "--data-dir", d, "--speed", "20", "--log-level",
                                 "warning"], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("ready"):
                sys.exit(f"emulator did not start: {line!r}")
            base = f"http://127.0.0.1:{http}"
            time.sleep(seconds)  # let the plant run so the trend has history
            post(base, "/faults", {"action": "trip_pump"})
            post(base, "/faults", {"target": "V200.pressure", "params": {"kind": "fail"}})
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
                page = b.new_page(viewport={"width": 1500, "height": 950})
                page.goto(base + "/")
                page.wait_for_selector("#conn:text('live')", timeout=15_000)
                page.click('[data-loop="PIC100"]')
                page.wait_for_timeout(2500)  # a few live updates and the trend's history
                target = out / f"hmi_{tagmap.stem}.png"
                page.screenshot(path=str(target), full_page=True)
                b.close()
            return target
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium not found (scripts/setup --all installs it)")
    for tm in sorted((ROOT / "tag_maps").glob("*.yaml")):
        print(shoot(tm, args.out, args.seconds, chromium))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
