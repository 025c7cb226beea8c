#!/usr/bin/env python3
"""Block-engine throughput of the issue-10 plant files: steps/s at N = 1 and plant-steps/s at
N = 1000, measured in one run beside the separation-train plant file (the reference for ratios).

    .venv/bin/python scripts/bench_plants.py [--ticks 1000] [--repeat 2]

Best of ``--repeat`` runs of ``PlantEngine.run`` after a 10-tick warm-up; N = 1000 runs a tenth of
the ticks. (scripts/bench_engine.py compares the block engine with the built-in engine.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plc_emulator.engine.plant import PlantEngine, load_plant  # noqa: E402

PLANTS = ("separation_train", "cstr", "asphalt_tank_farm")


def _rate(plant: str, n: int, ticks: int, repeat: int) -> float:
    eng = PlantEngine(load_plant(ROOT / "tag_maps" / "plants" / f"{plant}.yaml"), dt=1.0, seed=1, n=n)
    s0 = eng.initial_state()
    eng.run(s0, 10)
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        eng.run(s0, ticks)
        best = max(best, ticks / (time.perf_counter() - t0))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    ref1 = ref1000 = 0.0
    print(f"{'plant':<20} {'N=1 steps/s':>12} {'N=1000 plant-steps/s':>22} {'vs separation_train (N=1, N=1000)':>36}")
    for plant in PLANTS:
        r1 = _rate(plant, 1, a.ticks, a.repeat)
        r1000 = _rate(plant, 1000, max(a.ticks // 10, 10), a.repeat) * 1000
        if plant == "separation_train":
            ref1, ref1000 = r1, r1000
        print(f"{plant:<20} {r1:>12,.0f} {r1000:>22,.0f} {r1 / ref1:>17.2f}x {r1000 / ref1000:>17.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
