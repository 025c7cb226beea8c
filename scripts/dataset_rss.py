#!/usr/bin/env python3
"""Peak memory of ``simulate --plants N --out DIR`` at several sizes, measured in one run.

Each size runs ``plc-emulator simulate`` in its own child process; ``os.wait4`` gives that child's
peak resident set size (ru_maxrss). Memory should not grow with the number of plants x days, since
rows are streamed to Parquet in bounded row groups.

    .venv/bin/python scripts/dataset_rss.py --size 10x7d --size 100x7d [--write docs/datasets.md]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAGMAP = ROOT / "tag_maps" / "separation_train.yaml"


def measure(plants: int, duration: str, step: str, out: Path) -> dict[str, float]:
    cmd = [str(Path(sys.executable).parent / "plc-emulator"), "simulate", str(TAGMAP), "--plants", str(plants),
           "--duration", duration, "--scan-period", step, "--every", step, "--seed", "1", "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"simulate failed: {stderr.strip()}")
    rows = int(re.search(r"rows: (\d+)", stdout).group(1))  # type: ignore[union-attr]
    size = sum(p.stat().st_size for p in out.iterdir())
    return {"plants": plants, "rows": rows, "rss_mib": usage.ru_maxrss / 1024.0, "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "bytes": size}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--size", action="append", default=None, help="PLANTSxDURATION, e.g. 10x7d (repeatable)")
    ap.add_argument("--step", default="10s", help="engine step and row interval (default 10s)")
    ap.add_argument("--write", default=None, help="replace the dataset_rss block of this Markdown file")
    args = ap.parse_args()
    sizes = args.size or ["10x7d", "100x7d"]
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
             f"`scripts/dataset_rss.py {' '.join('--size ' + s for s in sizes)}` (step {args.step}, load "
             f"average {os.getloadavg()[0]:.1f} on a shared 2-core machine):", "",
             "| Plants x duration | Rows | Peak RSS | Wall | CPU | Files |", "|---|---|---|---|---|---|"]
    for size in sizes:
        plants, duration = size.split("x", 1)
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(int(plants), duration, args.step, Path(tmp) / "ds")
        row = (f"| {plants} x {duration} | {r['rows']:,} | {r['rss_mib']:.0f} MiB | {r['wall_s']:.0f} s | "
               f"{r['cpu_s']:.0f} s | {r['bytes'] / 2**20:.0f} MiB |")
        print(row, flush=True)
        lines.append(row)
    if args.write:
        path = Path(args.write)
        text = path.read_text(encoding="utf-8")
        block = "<!-- BEGIN dataset_rss -->\n" + "\n".join(lines) + "\n<!-- END dataset_rss -->"
        path.write_text(re.sub(r"<!-- BEGIN dataset_rss -->.*?<!-- END dataset_rss -->", block, text,
                               flags=re.S), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
