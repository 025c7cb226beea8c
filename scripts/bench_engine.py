#!/usr/bin/env python3
"""Engine throughput: steps/s at N = 1 and plant-steps/s at N = 1000, and the block engine's start-up.

    .venv/bin/python scripts/bench_engine.py [--ticks 2000] [--repeat 3] [--baseline c188956]

Measures, in ONE run (ratios are only meaningful within a run on a shared machine):

* the built-in engine of ``--baseline`` (the last commit before the block library), checked out into
  a temporary ``git worktree`` and timed in a subprocess with the same ticks and repeats;
* the built-in engine of this tree (``Engine``, the live scan's today) and its whole ``ScanCycle``;
* the block engine (``PlantEngine``) on the plant files ``separation_train``, ``cstr`` and
  ``asphalt_tank_farm`` (compiled path where every kind has a compiled kernel, numpy path otherwise);
* the start-up of ``plc-emulator plant tag_maps/plants/separation_train.yaml --duration 60s``:
  cold (an empty JIT cache directory) and warm (the same directory again).

Issue #9 goals for the block engine on ``separation_train``: N = 1 at least 5x and N = 1000 at least
2x the baseline; warm start-up under 5 s. Every rate is the best of ``--repeat`` runs of
``run()`` after a warm-up; N = 1000 runs a tenth of the ticks; dt = 0.1 s everywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plc_emulator.engine import Engine  # noqa: E402
from plc_emulator.engine.plant import PlantEngine, load_plant  # noqa: E402
from plc_emulator.scan import ScanCycle  # noqa: E402
from plc_emulator.tagmap import load  # noqa: E402

DEFAULT_MAP = ROOT / "tag_maps" / "separation_train.yaml"
PLANTS = ("separation_train", "cstr", "asphalt_tank_farm")
STARTUP = ("plant", "tag_maps/plants/separation_train.yaml", "--duration", "60s")


def _best(run: object, s0: object, ticks: int, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(s0, ticks)  # type: ignore[operator]
        best = max(best, ticks / (time.perf_counter() - t0))
    return best


def _rate(n: int, ticks: int, repeat: int) -> float:
    eng = Engine(dt=0.1, seed=1, n=n)
    s0 = eng.initial_state()
    eng.run(s0, 10)  # warm-up
    return _best(eng.run, s0, ticks, repeat)


def _plant_rate(plant: str, n: int, ticks: int, repeat: int) -> tuple[float, bool]:
    """Steps/s of the block engine on a plant file, and whether it ran compiled."""
    eng = PlantEngine(load_plant(ROOT / "tag_maps" / "plants" / f"{plant}.yaml"), dt=0.1, seed=1, n=n)
    s0 = eng.initial_state()
    eng.run(s0, 10)
    return _best(eng.run, s0, ticks, repeat), eng.compiled


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


def _startup() -> tuple[float, float]:
    """Wall time of ``plc-emulator plant ... --duration 60s``: empty JIT cache, then warm."""
    exe = Path(sys.executable).parent / "plc-emulator"
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-jit-") as cache:
        env = {**os.environ, "PLC_EMULATOR_JIT_CACHE": cache}
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run([str(exe), *STARTUP], cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
            times.append(time.perf_counter() - t0)
    return times[0], times[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=2000, help="ticks per measurement at N = 1 (N = 1000 uses a tenth)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", default="c188956", help="git revision of the baseline engine")
    a = ap.parse_args()
    big = max(a.ticks // 10, 10)
    cold, warm = _startup()
    base = _baseline_rates(a.baseline, a.ticks, a.repeat)
    plants = {p: (_plant_rate(p, 1, a.ticks, a.repeat), _plant_rate(p, 1000, big, a.repeat)) for p in PLANTS}
    r1, r1000 = _rate(1, a.ticks, a.repeat), _rate(1000, big, a.repeat)
    scan = _scan_rate(max(a.ticks // 2, 10), a.repeat)
    print(f"baseline {a.baseline} built-in engine: N=1 {base['n1']:,.0f} steps/s, "
          f"N=1000 {base['n1000'] * 1000:,.0f} plant-steps/s")
    print(f"this tree's built-in engine: N=1 {r1:,.0f} steps/s, N=1000 {r1000 * 1000:,.0f} plant-steps/s; "
          f"scan cycle (engine + alarms + image), default tag map: {scan:,.0f} ticks/s")
    print(f"{'block engine, plant file':<26} {'path':<9} {'N=1 steps/s':>12} {'x baseline':>11} "
          f"{'N=1000 plant-steps/s':>21} {'x baseline':>11}")
    for plant, ((p1, compiled), (p1000, _)) in plants.items():
        print(f"{plant:<26} {'compiled' if compiled else 'numpy':<9} {p1:>12,.0f} {p1 / base['n1']:>10.2f}x "
              f"{p1000 * 1000:>21,.0f} {p1000 / base['n1000']:>10.2f}x")
    (s1, _), (s1000, _) = plants["separation_train"]
    for label, ratio, goal in (("N=1", s1 / base["n1"], 5.0), ("N=1000", s1000 / base["n1000"], 2.0)):
        print(f"goal separation_train {label}: {ratio:.2f}x the baseline (goal {goal:g}x: "
              f"{'met' if ratio >= goal else 'NOT met'})")
    print(f"start-up `plc-emulator {' '.join(STARTUP)}`: cold (empty JIT cache) {cold:.1f} s, "
          f"warm {warm:.1f} s (goal warm < 5 s: {'met' if warm < 5.0 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
