"""Transmitter: noise, quantisation, NE 43 clamp (3.8-20.5 mA) and injected faults.

Faults (``FAULT_KINDS``): freeze (value held, quality stays Good), drift (EU/s), bias (EU), spike
(probability, amplitude), noise (factor), fail (3.6 mA, BadSensorFailure), comm_loss (last value,
UncertainNoCommunicationLastUsableValue, then BadNoCommunication after the timeout). Readings are the
previous tick's, so a controller reading a transmitter has no direct feedthrough from the process.
"""

from __future__ import annotations

from typing import Final

from plc_emulator.engine.blocks._build import flag, num, out, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["FAULT_KINDS", "SPEC"]

FAULT_KINDS: Final = ("freeze", "drift", "bias", "spike", "noise", "fail", "comm_loss")

SPEC = BlockSpec(
    kind="transmitter",
    category=BlockCategory.INSTRUMENT,
    summary="Transmitter: noise, quantisation, NE 43 clamp, every sensor fault kind.",
    params=(
        num("lo", "EU", 0.0, -1e9, 1e9, "range low (4 mA)"),
        num("hi", "EU", 100.0, -1e9, 1e9, "range high (20 mA)"),
        num("accuracy_pct", "% of span", 0.1, 0.0, 100.0, "accuracy (2 sigma)"),
        num("bits", "", 16, 8, 24, "resolution", integer=True),
        num("comm_timeout_s", "s", 10.0, 0.0, 86400.0, "comm loss: Uncertain -> Bad after"),
        flag("field", True, "a field instrument (served, faults injectable); false = internal"),
    ),
    states=(
        state("value", "EU", "reading"),
        state("status", "", "OPC UA StatusCode of the reading"),
        *(state(f"f_{k}", "", f"{k} fault parameter") for k in FAULT_KINDS),
        state("drift_acc", "EU", "accumulated drift"),
        state("freeze_value", "EU", "held value (freeze)"),
        state("comm_t", "s", "time in comm loss"),
    ),
    ports=(
        out("pct", Quantity.PERCENT, "reading in % of range (controller PV)"),
        out("bad", Quantity.FLAG, "1 when the reading's quality is Bad"),
    ),
)
