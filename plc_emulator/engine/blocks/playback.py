"""Playback of one column of a recorded time series (CSV or Parquet) on the simulation clock.

    position = speed x simulation seconds         (wrapped with ``loop``, else held at the end)
    value    = scale x column(position) + offset  (linear between rows, or the last row with ``hold``)

The value is served as the signal ``value`` and offered on one output port per quantity (``value``
as percent, ``liquid_flow``, ``temperature``, ...), so a recording can drive any scalar input: scale
the column to the port's unit (e.g. ``scale: 1.6667e-5`` for L/min into m3/s). Play several
columns of one file with one unit each (the file is read once). The file is loaded with the plant
file; ``params.file`` holds its handle in ``engine.playback.RECORDINGS``.
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import choice, column, flag, num, out, path, shown
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.playback import INTERPOLATIONS, RECORDINGS
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "PORTS", "SPEC"]

# output port -> quantity: the same value on each, for whichever input it drives
PORTS = {"value": Quantity.PERCENT, "liquid_flow": Quantity.LIQUID_FLOW, "gas_flow": Quantity.GAS_FLOW,
         "temperature": Quantity.TEMPERATURE, "pressure": Quantity.PRESSURE, "level": Quantity.LEVEL,
         "speed": Quantity.SPEED, "flag": Quantity.FLAG}

SPEC = BlockSpec(
    kind="playback",
    category=BlockCategory.SOURCE,
    summary="One column of a recorded time series (CSV or Parquet): interpolation, loop, speed.",
    params=(
        path("file", "the recording: CSV or Parquet (.parquet, .pq), first column the timestamp"),
        column("column", "the column to play"),
        choice("interpolation", INTERPOLATIONS, "linear", "linear between rows, or hold the last row"),
        flag("loop", False, "start over at the end (else the last row is held)"),
        num("speed", "x", 1.0, 1e-6, 1e6, "recorded seconds per simulated second"),
        num("scale", "", 1.0, -1e12, 1e12, "value = scale x column + offset"),
        num("offset", "EU", 0.0, -1e12, 1e12, "value = scale x column + offset"),
    ),
    ports=tuple(out(name, q, f"the value as {q.value} [{q.unit}]" + (" (1 when > 0.5)" if name == "flag" else ""))
                for name, q in PORTS.items()),
    signals=(
        shown("value", "EU", (0, 100), "the played value (scale x column + offset)"),
        shown("position", "s", (0, 86400), "seconds into the recording"),
    ),
    holds_state=False,
)


def _play(p: Arrays, t: float) -> tuple[F64, F64]:
    """The value and the position of every (row, unit) at ``t`` simulated seconds."""
    handles = np.rint(p["file"]).astype(np.int64)
    value = np.zeros(handles.shape)
    pos = np.zeros(handles.shape)
    for h in np.unique(handles):
        if h < 1:
            continue
        rec = RECORDINGS.get(int(h))
        m = handles == h
        at = rec.position(t, p["speed"][m], p["loop"][m] > 0.5)
        col = np.clip(np.rint(p["column"][m]).astype(np.intp), 0, len(rec.columns) - 1)
        value[m] = p["scale"][m] * rec.sample(at, col, p["interpolation"][m] > 0.5) + p["offset"][m]
        pos[m] = at
    return value, pos


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    value, _ = _play(p, ctx.sim_s)
    outs = dict.fromkeys(PORTS, value)
    outs["flag"] = (value > 0.5).astype(np.float64)
    return outs


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    value, pos = _play(p, ctx.sim_s)
    return {"value": value, "position": pos}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
