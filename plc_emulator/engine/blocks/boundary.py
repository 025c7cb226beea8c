"""Fixed-pressure boundary: a gas header, flare or export line held at a constant pressure."""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import inp, num, out, shown
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="pressure_boundary",
    category=BlockCategory.SOURCE,
    summary="Fixed-pressure boundary (gas header, flare, export line); a sink or a source.",
    params=(
        num("pressure_psig", "psig", 0.0, 0.0, 15000.0, "the fixed pressure"),
        num("temperature_c", "°C", 15.0, -50.0, 250.0, "temperature of what it supplies"),
        num("water_fraction", "fraction", 0.0, 0.0, 1.0, "water fraction of what it supplies"),
    ),
    ports=(
        inp("inlet", Quantity.STREAM, "what flows into the boundary (recorded only)", optional=True),
        out("pressure", Quantity.PRESSURE, "the fixed pressure"),
        out("source", Quantity.SOURCE, "the boundary as a supply"),
    ),
    signals=(
        shown("pressure", "PSI", (0, 1500), "boundary pressure"),
        shown("flow", "m3/s", (0, 1), "liquid flowing into the boundary"),
        shown("gas_flow", "MMSCFD", (0, 100), "gas flowing into the boundary"),
    ),
    holds_state=False,
)


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    zero = np.zeros_like(p["pressure_psig"])
    return {"pressure": p["pressure_psig"],
            "source": np.stack((p["pressure_psig"], p["water_fraction"], zero, p["temperature_c"]), axis=-1)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    inlet = i["inlet"]
    return {"pressure": i["pressure"], "flow": inlet[..., 0] + inlet[..., 1],
            "gas_flow": inlet[..., 2] * 86400.0 / 1e6}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
