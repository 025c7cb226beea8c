#!/usr/bin/env python3
"""Draw docs/img/cstr.png and docs/img/asphalt_tank_farm.png from `plc-emulator simulate` output.

    .venv/bin/python scripts/plot_plants.py                      # both (about two minutes)
    .venv/bin/python scripts/plot_plants.py cstr                 # one

Each figure is one shipped scenario run headless through the plant's tag map exactly as a user
would (`plc-emulator simulate TAGMAP --scenario FILE --out run.csv`), then drawn from the CSV; the
dashed lines are the tag map's alarm limits. The tank farm runs at a 10 s scan for three days.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLI = str(ROOT / ".venv" / "bin" / "plc-emulator")

# plant: (tag map, scenario, extra simulate arguments, title, panels: [(y label, [(tag, label), ...])])
Panel = tuple[str, list[tuple[str, str]]]
FIGURES: dict[str, tuple[str, str, list[str], str, list[Panel]]] = {
    "cstr": (
        "tag_maps/cstr.yaml", "tag_maps/scenarios/cstr/jacket_fouling.yaml", ["--every", "5s"],
        "CSTR: jacket fouling 5 % at 20 min, 10 % at 40 min, 15 % at 60 min (scenario jacket_fouling)",
        [("K", [("R-1.temperature", "reactor temperature TT-1")]),
         ("%  /  L/min / 5", [("TIC-1.TIC_1_VALVE", "TIC-1 coolant valve %"),
                              ("R-1.coolant_flow", "coolant flow / 5")]),
         ("kW/K", [("R-1.ua", "jacket UA")]),
         ("0/1", [("HTI.active", "HTI interlock tripped"), ("ALARMS.active_count", "alarms active / 10")])],
    ),
    "asphalt_tank_farm": (
        "tag_maps/asphalt_tank_farm.yaml", "tag_maps/scenarios/asphalt_tank_farm/three_days.yaml",
        ["--scan-period", "10s", "--every", "10m"],
        "Asphalt tank farm, three days: loading, a hot top-fill receipt, a heater trip (scenario three_days)",
        [("level %", [("T-01.level", "T-01"), ("T-02.level", "T-02")]),
         ("°C", [("T-01.temperature", "T-01 bottom"), ("T-01.temperature_top", "T-01 top layer"),
                 ("T-02.temperature", "T-02 bottom")]),
         ("°C", [("H-1.supply_temperature", "hot-oil supply TT-H1")]),
         ("m3/h", [("LOADING.LS_1_flow", "LS-1"), ("LOADING.LS_2_flow", "LS-2"),
                   ("LOADING.RCV_1_flow", "receipt RCV-1")])],
    ),
}
SCALE = {"R-1.coolant_flow": 0.2, "ALARMS.active_count": 0.1}


def _simulate(tagmap: str, scenario: str, extra: list[str], out: Path) -> None:
    cmd = [CLI, "simulate", tagmap, "--scenario", scenario, "--out", str(out), *extra]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")


def _limits(tagmap: str, key: str) -> list[float]:
    from plc_emulator.tagmap import load

    alarms = load(ROOT / tagmap).tag(key).alarms
    if alarms is None:
        return []
    return [v for v in (getattr(alarms, k, None) for k in ("lolo", "lo", "hi", "hihi")) if v is not None]


def draw(name: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tagmap, scenario, extra, title, panels = FIGURES[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.csv"
        _simulate(tagmap, scenario, extra, out)
        with out.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    t0 = float(rows[0]["time"])
    hours = [(float(r["time"]) - t0) / 3600.0 for r in rows]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 * len(panels)), sharex=True)
    for ax, (ylabel, series) in zip(axes, panels, strict=True):
        for key, label in series:
            k = SCALE.get(key, 1.0)
            ax.plot(hours, [float(r[key]) * k for r in rows], label=label, lw=1.2)
            if len(series) == 1 or key.endswith("level"):
                for lim in _limits(tagmap, key):
                    ax.axhline(lim * k, ls="--", lw=0.7, color="grey")
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("hours")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = ROOT / "docs" / "img" / f"{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    names = argv or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES)}", file=sys.stderr)
        return 2
    for n in names:
        print(draw(n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
