#!/usr/bin/env python3
"""Engine throughput: steps/s at N = 1 and plant-steps/s at N = 1000 with the default parameters.

    .venv/bin/python scripts/bench_engine.py [--ticks 2000] [--repeat 3] [--baseline c188956]

Measures, in one run: the built-in engine of this tree, the block engine (``PlantEngine``) on
``tag_maps/plants/separation_train.yaml``, and the built-in engine of ``--baseline`` (the last commit
before the block library), checked out into a temporary ``git worktree`` and timed in a subprocess
with the same ticks and repeats. Issue #9 goals for the block engine: N = 1 at least 5x and
N = 1000 at least 2x the baseline.

Goals (issue #2): N = 1 >= 5,000 steps/s (500x real time at 100 ms); N = 1000 >= 500,000
plant-steps/s. The third line is the whole ``ScanCycle.step`` (engine + alarm block + Modbus
encoding + digest) on ``tag_maps/separation_train.yaml``, the path of ``plc-emulator simulate``.
Uses ``Engine.run`` (the headless path; ``step`` adds one state copy per tick) and
reports the best of ``--repeat`` runs measured in this process, plus the cost of one small numpy
ufunc call on this machine, which is what bounds N = 1 (a tick is a few hundred such calls).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
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


def _plant_rate(n: int, ticks: int, repeat: int) -> float:
    """Steps/s of the block engine on the separation-train plant file."""
    from plc_emulator.engine.plant import PlantEngine, load_plant

    eng = PlantEngine(load_plant(ROOT / "tag_maps" / "plants" / "separation_train.yaml"), dt=0.1, seed=1, n=n)
    s0 = eng.initial_state()
    eng.run(s0, 10)
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        eng.run(s0, ticks)
        best = max(best, ticks / (time.perf_counter() - t0))
    return best


_BASELINE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from plc_emulator.engine import Engine
def rate(n, ticks, repeat):
    eng = Engine(dt=0.1, seed=1, n=n); s0 = eng.initial_state(); eng.run(s0, 10); best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter(); eng.run(s0, ticks); best = max(best, ticks / (time.perf_counter() - t0))
    return best
t, r = int(sys.argv[2]), int(sys.argv[3])
print(json.dumps({"n1": rate(1, t, r), "n1000": rate(1000, max(t // 10, 10), r)}))
"""


def _baseline_rates(rev: str, ticks: int, repeat: int) -> dict[str, float]:
    """The built-in engine of ``rev``, from a temporary git worktree (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        wt = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt), rev], check=True,
                       capture_output=True, timeout=120)
        try:
            out = subprocess.run([sys.executable, "-c", _BASELINE, str(wt), str(ticks), str(repeat)], check=True,
                                 capture_output=True, text=True, timeout=3600)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)], check=False,
                           capture_output=True, timeout=120)
    rates: dict[str, float] = json.loads(out.stdout)
    return rates


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
    ap.add_argument("--baseline", default="c188956", help="git revision of the baseline engine")
    args = ap.parse_args()
    base = _baseline_rates(args.baseline, args.ticks, args.repeat)
    p1 = _plant_rate(1, args.ticks, args.repeat)
    p1000 = _plant_rate(1000, max(args.ticks // 10, 10), args.repeat)
    r1 = _rate(1, args.ticks, args.repeat)
    r1000 = _rate(1000, max(args.ticks // 10, 10), args.repeat)
    scan = _scan_rate(max(args.ticks // 2, 10), args.repeat)
    us = _ufunc_cost()
    print(f"N=1     {r1:12,.0f} steps/s        ({r1 * 0.1:,.0f}x real time at dt 100 ms; goal 5,000)")
    print(f"N=1000  {r1000 * 1000:12,.0f} plant-steps/s  ({r1000:,.0f} steps/s; goal 500,000)")
    print(f"scan cycle (engine + alarms + image), default tag map: {scan:,.0f} ticks/s")
    print(f"one small numpy ufunc call: {us:.2f} us -> a tick at N=1 costs ~{1e6 / r1 / us:,.0f} such calls")
    print(f"baseline {args.baseline} built-in engine: N=1 {base['n1']:,.0f} steps/s, "
          f"N=1000 {base['n1000'] * 1000:,.0f} plant-steps/s")
    for label, new, old, goal in (("N=1   ", p1, base["n1"], 5.0), ("N=1000", p1000, base["n1000"], 2.0)):
        ratio = new / old
        print(f"block engine (plant file) {label} {new * (1000 if label.strip() == 'N=1000' else 1):12,.0f} "
              f"{'plant-steps/s' if label.strip() == 'N=1000' else 'steps/s'}: {ratio:.2f}x the baseline "
              f"(goal {goal:g}x: {'met' if ratio >= goal else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
