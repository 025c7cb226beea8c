"""``plc-emulator trend [--db FILE] --tag T [--tag T2] --from --to -o trend.png``: a control-room style trend.

One panel per tag (shared time axis in UTC, each value axis labelled with the tag's unit), values as
held steps, the tag's alarm limits (HIHI/HI/LO/LOLO) as dashed lines when ``--tagmap`` is given, and
non-Good quality shaded (Uncertain amber, Bad red). The database is found like ``historian``'s:
``--db FILE``, else ``$DATA_DIR/historian.db`` (a leading positional ``DB`` is still accepted).
``--from`` / ``--to`` take an ISO 8601 time (UTC if no zone), Unix seconds, or a duration before the
newest sample (``--from -10m``, ``--from -2h``); by default the whole stored range.
"""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput, add_db_arg, db_path, parse_duration
from plc_emulator.errors import EmulatorError

__all__ = ["axis_label", "parse_time", "register"]

_MAX_POINTS = 2_000_000


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "trend",
        help="plot tags from the historian database to a PNG",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("db_pos", nargs="?", default=None, metavar="DB", help="historian database (same as --db)")
    add_db_arg(p)
    p.add_argument("--tag", action="append", required=True, metavar="T", help="tag DEVICE.name (repeatable)")
    p.add_argument(
        "--from",
        dest="start",
        default=None,
        help="start: ISO time, Unix seconds or -DURATION before the newest sample (e.g. --from -2h)",
    )
    p.add_argument("--to", dest="end", default=None, help="end: ISO time, Unix seconds or -DURATION")
    p.add_argument("--tagmap", default=None, help="tag map YAML: draw the tags' alarm limits")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png", help="output image")
    p.set_defaults(func=_handle)


def parse_time(text: str, newest: float) -> float:
    """ISO 8601, Unix seconds, or ``-DURATION`` before ``newest``."""
    s = text.strip()
    if s.startswith("-"):
        return newest - parse_duration(s[1:])
    try:
        value = float(s)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise BadInput(f"not a time: {text!r}")
        return value
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"not a time: {text!r} (use ISO 8601, Unix seconds or -DURATION such as -2h)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _limits(tagmap_path: str | None, tags: list[str]) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Alarm limits and units of ``tags`` from the tag map (empty without one)."""
    if tagmap_path is None:
        return {}, {}
    from plc_emulator.tagmap import load

    tm = load(tagmap_path)
    out: dict[str, dict[str, float]] = {}
    units: dict[str, str] = {}
    for key in tags:
        try:
            tag = tm.tag(key)
        except KeyError:
            continue
        units[key] = tag.unit
        if tag.alarms is not None:
            out[key] = {
                n: v for n in ("hihi", "hi", "lo", "lolo") if (v := getattr(tag.alarms, n)) is not None
            }
    return out, units


def axis_label(tag: str, unit: str) -> str:
    """Value-axis label: ``SEP-V100.inlet_pressure [PSI]`` (``[-]`` for a dimensionless tag)."""
    return f"{tag} [{unit or '-'}]"


def _quality_spans(times: list[float], status: list[int], end: float) -> list[tuple[float, float, str]]:
    spans: list[tuple[float, float, str]] = []
    for i, (t, s) in enumerate(zip(times, status, strict=True)):
        sev = (s >> 30) & 0x3
        if sev == 0:
            continue
        t_next = times[i + 1] if i + 1 < len(times) else end
        color = "#f5b041" if sev == 1 else "#e74c3c"
        if spans and spans[-1][1] == t and spans[-1][2] == color:
            spans[-1] = (spans[-1][0], t_next, color)
        else:
            spans.append((t, t_next, color))
    return spans


def _handle(args: argparse.Namespace) -> int:
    from historian import HistorianError, Store

    if args.db_pos and args.db and Path(args.db_pos) != Path(args.db):
        raise BadInput(f"two databases given: {args.db_pos} and --db {args.db}")
    db = db_path(args.db or args.db_pos)
    if not db.is_file():
        raise BadInput(f"historian database not found: {db}")
    try:
        store = Store(db)
    except HistorianError as exc:
        raise BadInput(str(exc)) from None
    with store:
        known = store.tag_ids()
        units = {info.name: info.unit for info in store.tag_infos().values()}
        unknown = [t for t in args.tag if t not in known]
        if unknown:
            raise BadInput(
                f"unknown tag(s) {', '.join(unknown)} in {db} (known: {', '.join(sorted(known)[:20])})"
            )
        newest = store.time_of(store.max_seq()) or 0.0
        oldest = store.time_of_first() or 0.0
        start = parse_time(args.start, newest) if args.start else oldest
        end = parse_time(args.end, newest) if args.end else newest
        if end < start:
            raise BadInput(f"--to is before --from ({_iso(end)} < {_iso(start)})")
        series = {}
        for tag in args.tag:
            rows, _ = store.read_raw(tag, start, end, limit=_MAX_POINTS)
            series[tag] = rows
    if not any(series.values()):
        raise EmulatorError(f"no samples of {', '.join(args.tag)} between {_iso(start)} and {_iso(end)}")
    limits, map_units = _limits(args.tagmap, args.tag)
    units.update({k: u for k, u in map_units.items() if u})
    _plot(series, limits, {t: units.get(t, "") for t in args.tag}, (start, end), Path(args.output))
    total = sum(len(v) for v in series.values())
    print(f"wrote {args.output}: {len(series)} tag(s), {total} samples, {_iso(start)} .. {_iso(end)}")
    return 0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _plot(
    series: dict[str, Any],
    limits: dict[str, dict[str, float]],
    units: dict[str, str],
    span: tuple[float, float],
    out: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    start, end = span

    def dt(t: float) -> datetime:
        return datetime.fromtimestamp(t, UTC)

    n = len(series)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.6 * n + 0.6), sharex=True, squeeze=False)
    styles = {
        "hihi": ("#c0392b", "HIHI"),
        "hi": ("#e67e22", "HI"),
        "lo": ("#e67e22", "LO"),
        "lolo": ("#c0392b", "LOLO"),
    }
    for ax, (tag, rows) in zip(axes[:, 0], series.items(), strict=True):
        times = [r.time for r in rows]
        values = [r.value if (r.status >> 30) & 0x3 < 2 else math.nan for r in rows]
        if rows:
            ax.plot(
                [dt(t) for t in [*times, end]],
                [*values, values[-1]],
                drawstyle="steps-post",
                color="#1f4e79",
                linewidth=1.0,
                label=tag,
            )
        for lo, hi, color in _quality_spans(times, [r.status for r in rows], end):
            ax.axvspan(dt(lo), dt(hi), color=color, alpha=0.25, linewidth=0)
        for name, value in limits.get(tag, {}).items():
            color, label = styles[name]
            ax.axhline(value, color=color, linestyle="--", linewidth=0.9)
            ax.annotate(
                label,
                xy=(1.0, value),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                color=color,
                ha="left",
                va="center",
            )
        ax.set_ylabel(axis_label(tag, units.get(tag, "")), fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlim(dt(start), dt(end))
    axes[-1, 0].set_xlabel("time (UTC)", fontsize=8)
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M:%S"))  # type: ignore[no-untyped-call]
    fig.autofmt_xdate()
    fig.suptitle("plc-emulator trend (shaded: amber Uncertain, red Bad quality)", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
