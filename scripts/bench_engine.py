#!/usr/bin/env python3
"""Engine throughput: steps/s at N = 1 and plant-steps/s at N = 1000 with the default parameters.

    .venv/bin/python scripts/bench_engine.py [--ticks 2000] [--repeat 3]

Goals (issue #2): N = 1 >= 5,000 steps/s (500x real time at 100 ms); N = 1000 >= 500,000
plant-steps/s. The third line is the whole ``ScanCycle.step`` (engine + alarm block + Modbus
encoding + digest) on ``tag_maps/separation_train.yaml``, the path of ``plc-emulator simulate``.
Uses ``Engine.run`` (the headless path; ``step`` adds one state copy per tick) and
reports the best of ``--repeat`` runs measured in this process, plus the cost of one small numpy
ufunc call on this machine, which is what bounds N = 1 (a tick is a few hundred such calls).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from plc_emulator.engine import Engine  # noqa: E402
from plc_emulator.scan import ScanCycle  # noqa: E402
from plc_emulator.tagmap import load  # noqa: E402

DEFAULT_MAP = ROOT / "tag_maps" / "separation_train.yaml"


def _rate(n: int, ticks: int, repeat: int) -> float:
    eng = Engine(dt=0.1, seed=1, n=n)
    s0 = eng.initial_state()
    eng.run(s0, 10)  # warm-up
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        eng.run(s0, ticks)
        best = max(best, ticks / (time.perf_counter() - t0))
    return best


def _scan_rate(ticks: int, repeat: int) -> float:
    """Ticks/s of the full scan (engine + alarm block + Modbus image + digest), default tag map."""
    best = 0.0
    tagmap = load(DEFAULT_MAP)
    for _ in range(repeat):
        cycle = ScanCycle(tagmap, seed=1)
        cycle.run(10)  # warm-up
        t0 = time.perf_counter()
        cycle.run(ticks)
        best = max(best, ticks / (time.perf_counter() - t0))
    return best


def _ufunc_cost() -> float:
    a = np.ones(1)
    t0 = time.perf_counter()
    for _ in range(100_000):
        np.add(a, a)
    return (time.perf_counter() - t0) / 100_000 * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=2000, help="ticks per measurement at N = 1 (N = 1000 uses a tenth)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    r1 = _rate(1, args.ticks, args.repeat)
    r1000 = _rate(1000, max(args.ticks // 10, 10), args.repeat)
    scan = _scan_rate(max(args.ticks // 2, 10), args.repeat)
    us = _ufunc_cost()
    print(f"N=1     {r1:12,.0f} steps/s        ({r1 * 0.1:,.0f}x real time at dt 100 ms; goal 5,000)")
    print(f"N=1000  {r1000 * 1000:12,.0f} plant-steps/s  ({r1000:,.0f} steps/s; goal 500,000)")
    print(f"scan cycle (engine + alarms + image), default tag map: {scan:,.0f} ticks/s")
    print(f"one small numpy ufunc call: {us:.2f} us -> a tick at N=1 costs ~{1e6 / r1 / us:,.0f} such calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
