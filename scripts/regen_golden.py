#!/usr/bin/env python3
"""Regenerate tests/golden/<scenario>.csv, the golden engine traces of the shipped scenarios.

Run deliberately after a change that is meant to alter the engine's output; tests never do it:

    .venv/bin/python scripts/regen_golden.py          # rewrite all
    .venv/bin/python scripts/regen_golden.py --check  # exit 1 if any differs

Each trace is 10 simulated minutes (600 ticks at dt = 1 s, seed 42, epoch 2026-01-01T00:00Z) of
the twelve field instruments (value repr + StatusCode) every 10 ticks. The scenario's event groups
are compressed into that window: group k applies at tick 60 (k + 1), in file order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plc_emulator.engine import Engine  # noqa: E402
from plc_emulator.engine._design import MEASURED  # noqa: E402
from plc_emulator.engine.catalogue import index_of  # noqa: E402
from plc_emulator.scenario import load_scenario  # noqa: E402

SCENARIOS = ROOT / "tag_maps" / "scenarios"
GOLDEN = ROOT / "tests" / "golden"
TICKS, EVERY, SEED, DT, EPOCH = 600, 10, 42, 1.0, 1767225600.0


def golden_text(scenario: Path) -> str:
    scen = load_scenario(scenario, DT)
    schedule = {60 * (k + 1): list(scen.schedule[t]) for k, t in enumerate(sorted(scen.schedule))}
    eng = Engine(dt=DT, seed=SEED, epoch=EPOCH)
    cols = [index_of(m) for m in MEASURED]
    lines = ["tick," + ",".join(f"{m},{m}.status" for m in MEASURED)]
    s = eng.initial_state()
    for _ in range(TICKS // EVERY):
        sub = {k: v for k, v in schedule.items() if s.tick < k <= s.tick + EVERY}
        s, _ = eng.run(s, EVERY, sub)
        out = eng.outputs(s)
        row = [str(s.tick)]
        for c in cols:
            row += [repr(float(out.values[0, c])), str(int(out.status[0, c]))]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = ap.parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    bad = 0
    for path in sorted(SCENARIOS.glob("*.yaml")):
        target = GOLDEN / f"{path.stem}.csv"
        text = golden_text(path)
        if args.check:
            same = target.is_file() and target.read_text(encoding="utf-8") == text
            bad += not same
            print(f"{'ok  ' if same else 'DIFF'} {target.relative_to(ROOT)}")
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
