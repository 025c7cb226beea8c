#!/usr/bin/env python3
"""Plot tags from a `plc-emulator simulate --out RUN.csv` file, with the tag map's limits dashed.

    .venv/bin/python scripts/plot_run.py run.csv --tag SEP-V100.inlet_pressure --tag SEP-V100.oil_level -o out.png

One panel per tag; time in hours since the start of the run. Alarm limits (LOLO/LO/HI/HIHI) come from
the tag map (``--tagmap``, default tag_maps/separation_train.yaml); samples whose StatusCode is not
Good are marked in red.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", metavar="RUN.csv")
    ap.add_argument("--tag", action="append", required=True, help="tag key (DEVICE.tag); repeat for more panels")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--tagmap", default=str(ROOT / "tag_maps" / "separation_train.yaml"))
    ap.add_argument("--title", default=None)
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from plc_emulator.errors import TagMapError
    from plc_emulator.tagmap import load

    try:
        tags = {t.key: t for t in load(args.tagmap).tags}
    except TagMapError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    try:
        with open(args.csv, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows = list(reader)
    except (OSError, StopIteration) as exc:
        print(f"plot_run: cannot read {args.csv}: {exc}", file=sys.stderr)
        return 2
    missing = [t for t in args.tag if t not in header]
    if missing:
        print(f"plot_run: not in {args.csv}: {', '.join(missing)}", file=sys.stderr)
        return 2
    t_col = header.index("time")
    t = np.array([float(r[t_col]) for r in rows])
    hours = (t - t[0]) / 3600.0
    fig, axes = plt.subplots(len(args.tag), 1, figsize=(8, 2.2 * len(args.tag)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], args.tag, strict=True):
        c = header.index(key)
        y = np.array([float(r[c]) for r in rows])
        status = np.array([int(r[c + 1]) for r in rows])
        ax.plot(hours, y, lw=0.8, label=key)
        bad = status != 0
        if bad.any():
            ax.plot(hours[bad], y[bad], "r.", ms=2, label="status not Good")
        tag = tags.get(key)
        if tag is not None and tag.alarms is not None:
            for name in ("lolo", "lo", "hi", "hihi"):
                lim = getattr(tag.alarms, name)
                if lim is not None:
                    ax.axhline(lim, ls="--", lw=0.7, color="grey")
                    ax.annotate(name.upper(), (hours[-1], lim), fontsize=6, color="grey", va="bottom", ha="right")
        unit = tag.unit if tag is not None else ""
        ax.set_ylabel(unit)
        ax.legend(loc="upper left", fontsize=7)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("hours")
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.output, dpi=90)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
