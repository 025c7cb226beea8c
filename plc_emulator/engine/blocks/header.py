"""Flow header: merges up to four streams; its pressure is a state.

The outlet stream is the sum of the inlets (direct feedthrough, flow-weighted temperature). The
header pressure lags (``tau_s``) toward the downstream pressure plus the friction drop of the flow
through it, so valves upstream see a back-pressure that rises with the flow, and a pressure/flow
network through headers and vessels has a state between any two valves (no algebraic loop).
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import inp, num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="header",
    category=BlockCategory.VESSEL,
    summary="Flow header: merges up to four streams; holds its pressure as a state.",
    params=(
        num("dp_psi", "psi", 20.0, 0.0, 5000.0, "friction drop to the downstream pressure at design_flow"),
        num("design_flow_m3s", "m3/s", 0.05, 1e-6, 100.0, "liquid flow of dp_psi"),
        num("tau_s", "s", 10.0, 0.01, 3600.0, "pressure lag (header volume / compressibility)"),
    ),
    initial=(
        num("pressure_psig", "psig", 100.0, 0.0, 15000.0, "header pressure"),
        num("temperature_c", "°C", 40.0, -20.0, 250.0, "header temperature"),
    ),
    states=(
        state("pressure", "psig", "header pressure", init="pressure_psig"),
        state("temperature", "°C", "mixed temperature", init="temperature_c"),
    ),
    ports=(
        inp("inlet_1", Quantity.STREAM, "first inlet"),
        inp("inlet_2", Quantity.STREAM, "second inlet", optional=True),
        inp("inlet_3", Quantity.STREAM, "third inlet", optional=True),
        inp("inlet_4", Quantity.STREAM, "fourth inlet", optional=True),
        inp("p_down", Quantity.PRESSURE, "pressure downstream (a vessel)", optional=True),
        out("outlet", Quantity.STREAM, "sum of the inlets",
            depends=("inlet_1", "inlet_2", "inlet_3", "inlet_4")),
        out("source", Quantity.SOURCE, "the header as seen by a valve or pump downstream"),
        out("pressure", Quantity.PRESSURE, "header pressure"),
    ),
    signals=(
        shown("pressure", "PSI", (0, 1500), "header pressure"),
        shown("flow", "m3/s", (0, 1), "total liquid flow through the header"),
    ),
)

_INLETS = ("inlet_1", "inlet_2", "inlet_3", "inlet_4")


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    zero = np.zeros_like(s["pressure"])
    return {"pressure": s["pressure"],
            "source": np.stack((s["pressure"], zero, zero, s["temperature"]), axis=-1)}


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    stacked = np.stack([i[k] for k in _INLETS])
    total = stacked.sum(axis=0)
    liq = stacked[..., 0] + stacked[..., 1]
    q = total[..., 0] + total[..., 1]
    temp = np.where(q > 1e-12, (liq * stacked[..., 3]).sum(axis=0) / np.maximum(q, 1e-12), s["temperature"])
    return {"outlet": np.concatenate((total[..., :3], temp[..., None]), axis=-1)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    o = i["outlet"]
    q = o[..., 0] + o[..., 1]
    target = i["p_down"] + p["dp_psi"] * (q / p["design_flow_m3s"]) ** 2
    lag = 1.0 - np.exp(-ctx.dt / p["tau_s"])
    return {"pressure": s["pressure"] + lag * (target - s["pressure"]),
            "temperature": s["temperature"] + lag * (o[..., 3] - s["temperature"])}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    o = i["outlet"]
    return {"pressure": s["pressure"], "flow": o[..., 0] + o[..., 1]}


KERNEL = Kernel(out=_out, feed=_feed, update=_update, signals=_signals)
