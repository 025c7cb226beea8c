"""Transmitter: noise, quantisation, NE 43 clamp (3.8-20.5 mA) and injected faults.

Faults (``FAULT_KINDS``): freeze (value held, quality stays Good), drift (EU/s), bias (EU), spike
(probability, amplitude), noise (factor), fail (3.6 mA, BadSensorFailure), comm_loss (last value,
UncertainNoCommunicationLastUsableValue, then BadNoCommunication after the timeout). Readings are the
previous tick's, so a controller reading a transmitter has no direct feedthrough from the process.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from plc_emulator.engine import status as st
from plc_emulator.engine.blocks._build import flag, num, out, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["FAULT_KINDS", "KERNEL", "SPEC"]

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
        state("freeze_value", "EU", "held value (freeze, comm loss)"),
        state("spike_amp", "EU", "spike amplitude"),
        state("comm_t", "s", "time in comm loss"),
    ),
    ports=(
        out("pct", Quantity.PERCENT, "reading in % of range (controller PV)"),
        out("bad", Quantity.FLAG, "1 when the reading's quality is Bad"),
    ),
)

_LOW = float(st.UNCERTAIN_EU_EXCEEDED | st.LIMIT_LOW)
_HIGH = float(st.UNCERTAIN_EU_EXCEEDED | st.LIMIT_HIGH)


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    bad = s["status"] >= float(st.BAD)
    return {"pct": (s["value"] - p["lo"]) / (p["hi"] - p["lo"]) * 100.0, "bad": bad.astype(np.float64)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    """``i["_truth"]``: the measured signal's true value. Noise, spikes, drift, bias -> quantise ->
    NE 43 clamp (3.8-20.5 mA) -> freeze / comm loss / failure (3.6 mA)."""
    lo, span = p["lo"], p["hi"] - p["lo"]
    z = [ctx.normal(0, lo.shape)]
    u = [ctx.uniform(2, lo.shape), ctx.uniform(3, lo.shape)]
    noise_x = np.where(s["f_noise"] > 0.0, s["f_noise"], 1.0)
    drift = s["drift_acc"] + s["f_drift"] * ctx.dt
    spike = np.where(u[0] < s["f_spike"], np.where(u[1] < 0.5, -1.0, 1.0) * s["spike_amp"], 0.0)
    x = i["_truth"] + p["accuracy_pct"] / 200.0 * span * noise_x * z[0] + s["f_bias"] + drift + spike
    q = span / (2.0 ** p["bits"] - 1.0)
    x = np.clip(np.round((x - lo) / q) * q + lo, lo - 0.0125 * span, lo + 1.03125 * span)
    code = np.where(x < lo, _LOW, np.where(x > lo + span, _HIGH, float(st.GOOD)))
    frozen = s["f_freeze"] > 0.5
    x = np.where(frozen, s["freeze_value"], x)
    code = np.where(frozen, float(st.GOOD), code)
    comm = s["f_comm_loss"] > 0.5
    comm_t = np.where(comm, s["comm_t"] + ctx.dt, 0.0)
    x = np.where(comm, s["freeze_value"], x)
    late = comm_t >= p["comm_timeout_s"]
    code = np.where(comm, np.where(late, float(st.BAD_NO_COMMUNICATION), float(st.UNCERTAIN_NO_COMM_LAST_USABLE)),
                    code)
    failed = s["f_fail"] > 0.5
    x = np.where(failed, lo - 0.025 * span, x)
    code = np.where(failed, float(st.BAD_SENSOR_FAILURE), code)
    return {"value": x, "status": code, "drift_acc": drift, "comm_t": comm_t}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
