#!/usr/bin/env python3
"""Draw docs/img/<behaviour>.png: one small figure per engine behaviour, from the shipped scenarios.

    .venv/bin/python scripts/make_engine_plots.py          # all (about two minutes)
    .venv/bin/python scripts/make_engine_plots.py stiction # one

Runs the Engine directly (seed 42, epoch 2026-01-01T00:00Z) with the scenario's events at their
times. Long scenarios use a coarser dt (20-60 s) so a week takes seconds; the dt is in each title.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from plc_emulator.engine import Engine  # noqa: E402
from plc_emulator.engine.catalogue import CATALOGUE, index_of  # noqa: E402
from plc_emulator.scenario import load_scenario  # noqa: E402

EPOCH = 1767225600.0
# behaviour: (dt s, record every ticks, panels: [(signal, measured?), ...] per axis, dashed lines per axis)
PLOTS: dict[str, tuple[float, int, list[list[tuple[str, bool]]], list[list[float]]]] = {
    "pressure_oscillation": (
        1.0,
        10,
        [[("V100.pressure", True), ("V100.pressure", False)], [("PIC100.out", True)]],
        [[1000.0], []],
    ),
    "diurnal": (
        20.0,
        9,
        [
            [("V100.temperature", False)],
            [("ambient.air_temperature", False), ("E100.seawater_temperature", False)],
            [("TIC100.out", True)],
        ],
        [[], [], []],
    ),
    "decline": (60.0, 10, [[("well.oil_rate", False)], [("well.water_cut", False)]], [[], []]),
    "pump_degradation": (
        20.0,
        9,
        [
            [("P100.vibration", True)],
            [("P100.vib_bearing", False), ("P100.vib_1x", False), ("P100.vib_2x", False), ("P100.vib_vane", False)],
        ],
        [[2.3, 4.5, 7.1], []],
    ),
    "sensor_freeze": (
        1.0,
        10,
        [[("V100.oil_level", True), ("V100.oil_level", False)], [("LIC100.out", True)]],
        [[], []],
    ),
    "slugging": (
        1.0,
        10,
        [[("V100.oil_level", True)], [("V100.pressure", True)], [("well.slug_active", False)]],
        [[25.0, 75.0], [], []],
    ),
    "stiction": (1.0, 5, [[("LIC300.pv", True)], [("LIC300.out", True), ("LIC300.valve", False)]], [[], []]),
}


def draw(name: str) -> Path:
    dt, every, panels, lines = PLOTS[name]
    scen = load_scenario(ROOT / "tag_maps" / "scenarios" / f"{name}.yaml", dt)
    duration = scen.duration or 6 * 3600.0
    eng = Engine(dt=dt, seed=42, epoch=EPOCH)
    s = eng.initial_state()
    t, rows_v, rows_t = [], [], []
    for _ in range(int(duration / dt) // every):
        sub = {k: v for k, v in scen.schedule.items() if s.tick < k <= s.tick + every}
        s, _ = eng.run(s, every, sub)
        out = eng.outputs(s)
        t.append(s.tick * dt / 3600.0)
        rows_v.append(out.values[0])
        rows_t.append(out.truth[0])
    hours, vals, tru = np.array(t), np.array(rows_v), np.array(rows_t)
    days = hours[-1] > 48
    x = hours / 24.0 if days else hours
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.7 * len(panels) + 0.6), sharex=True, squeeze=False)
    for ax, panel, hl in zip(axes[:, 0], panels, lines, strict=True):
        for sig, measured in panel:
            c = index_of(sig)
            y = vals[:, c] if measured else tru[:, c]
            label = f"{sig} ({'measured' if measured else 'true'})"
            ax.plot(x, y, lw=0.8 if measured else 1.2, label=label)
        for v in hl:
            ax.axhline(v, ls="--", lw=0.7, color="grey")
        ax.set_ylabel(CATALOGUE[index_of(panel[0][0])].unit, fontsize=8)
        ax.legend(loc="upper left", fontsize=6)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("days" if days else "hours", fontsize=8)
    fig.suptitle(f"{name}: {scen.description[:90]}... (dt {dt:g} s)", fontsize=7)
    fig.tight_layout()
    out_path = ROOT / "docs" / "img" / f"{name}.png"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=80)
    plt.close(fig)
    return out_path


def main(argv: list[str]) -> int:
    names = argv or list(PLOTS)
    unknown = [n for n in names if n not in PLOTS]
    if unknown:
        print(f"unknown behaviour(s): {', '.join(unknown)}; choose from {', '.join(PLOTS)}", file=sys.stderr)
        return 2
    for n in names:
        print(f"wrote {draw(n).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
