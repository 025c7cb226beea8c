"""Flow header: merges up to four streams and splits them to up to two draws; holds gas pressure.

The outlet stream is the sum of the inlets (direct feedthrough); the header volume integrates the
difference between what arrives and what is drawn as a gas pressure state, so a pressure/flow
network through headers and vessels has a state between any two valves and is no algebraic loop.
"""

from __future__ import annotations

from plc_emulator.engine.blocks._build import inp, num, out, shown, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["SPEC"]

SPEC = BlockSpec(
    kind="header",
    category=BlockCategory.VESSEL,
    summary="Flow header (merge/split); holds pressure as a state.",
    params=(
        num("volume_m3", "m3", 5.0, 0.01, 10000.0, "internal volume"),
        num("z_factor", "", 0.95, 0.3, 1.5, "gas compressibility"),
    ),
    initial=(
        num("pressure_psig", "psig", 100.0, 0.0, 15000.0, "header pressure"),
        num("temperature_c", "°C", 40.0, -20.0, 250.0, "header temperature"),
    ),
    steady=True,
    states=(
        state("pressure", "psig", "header pressure", init="pressure_psig"),
        state("temperature", "°C", "mixed temperature", init="temperature_c"),
    ),
    ports=(
        inp("inlet_1", Quantity.STREAM, "first inlet"),
        inp("inlet_2", Quantity.STREAM, "second inlet", optional=True),
        inp("inlet_3", Quantity.STREAM, "third inlet", optional=True),
        inp("inlet_4", Quantity.STREAM, "fourth inlet", optional=True),
        inp("draw_1", Quantity.STREAM, "what the first downstream element takes", optional=True),
        inp("draw_2", Quantity.STREAM, "what the second downstream element takes", optional=True),
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
