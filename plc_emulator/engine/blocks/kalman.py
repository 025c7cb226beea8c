"""Scalar Kalman state estimator on a first-order or integrating model of one measured signal.

    model    x[k+1] = a x[k] + b u[k] + w,  w ~ N(0, Q);   z[k] = x[k] + v,  v ~ N(0, R)
             integrator:  a = 1,            b u = gain dt u          (a level from net flow)
             first_order: a = exp(-dt/tau), b u = (1 - a)(bias + gain u)   (a temperature)
    predict  x- = a x + b u;   P- = a^2 P + Q,   Q = q_per_s dt (random-walk disturbance)
    update   nu = z - x-;  S = P- + R;  K = P-/S;  x = x- + K nu;  P = (1 - K) P-;  NIS = nu^2/S

R comes from the transmitter noise model: R = (accuracy/2 of span)^2 + q^2/12 with the
quantisation step q = span / (2^bits - 1). While the measurement is Bad the update is skipped (the
estimate coasts on the model). On a healthy run the innovation is white with variance S and the
mean NIS is 1; the estimate's error variance P is below R.
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine.blocks._build import choice, inp, num, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC", "measurement_variance"]

SPEC = BlockSpec(
    kind="kalman",
    category=BlockCategory.INSTRUMENT,
    summary="Scalar Kalman filter: filtered estimate, sigma, innovation and NIS of one transmitter.",
    params=(
        num("lo", "EU", 0.0, -1e9, 1e9, "transmitter range low"),
        num("hi", "EU", 100.0, -1e9, 1e9, "transmitter range high"),
        num("accuracy_pct", "% of span", 0.1, 0.0, 100.0, "transmitter accuracy (2 sigma), sets R"),
        num("bits", "", 16, 8, 24, "transmitter resolution, sets R", integer=True),
        choice("model", ("integrator", "first_order"), "integrator", "process model"),
        num("tau_s", "s", 600.0, 0.01, 1e8, "first-order time constant"),
        num("gain", "EU per %", 0.0, -1e9, 1e9, "model input gain (integrator: EU/s per %)"),
        num("bias", "EU", 0.0, -1e9, 1e9, "first-order steady value at u = 0"),
        num("q_per_s", "EU^2/s", 1e-4, 0.0, 1e12, "process noise Q per second (random-walk disturbance)"),
    ),
    initial=(num("estimate", "EU", 50.0, -1e9, 1e9, "initial estimate"),),
    states=(
        state("x", "EU", "estimate", init="estimate"),
        state("p", "EU^2", "estimate variance", value=1e6),
        state("nu", "EU", "innovation"),
        state("s", "EU^2", "innovation variance"),
    ),
    ports=(
        inp("measurement", Quantity.PERCENT, "the transmitter's reading in % of range (its pct)"),
        inp("bad", Quantity.FLAG, "1 = the reading's quality is Bad (skip the update)", optional=True),
        inp("u", Quantity.PERCENT, "model input (valve or heat demand, %)", optional=True),
    ),
    signals=(
        shown("estimate", "EU", (0, 100), "filtered estimate"),
        shown("sigma", "EU", (0, 10), "estimate standard deviation sqrt(P)"),
        shown("innovation", "EU", (-10, 10), "innovation z - x-"),
        shown("nis", "", (0, 30), "normalised innovation squared"),
    ),
)


def measurement_variance(p: Arrays) -> F64:
    span = p["hi"] - p["lo"]
    step = span / (2.0 ** p["bits"] - 1.0)
    r: F64 = (p["accuracy_pct"] / 200.0 * span) ** 2 + step**2 / 12.0
    return r


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    first = p["model"] > 0.5
    a = np.where(first, np.exp(-ctx.dt / p["tau_s"]), 1.0)
    bu = np.where(first, (1.0 - a) * (p["bias"] + p["gain"] * i["u"]), p["gain"] * ctx.dt * i["u"])
    x_pred = a * s["x"] + bu
    p_pred = a * a * s["p"] + p["q_per_s"] * ctx.dt
    z = p["lo"] + i["measurement"] * 0.01 * (p["hi"] - p["lo"])
    nu = z - x_pred
    sv = p_pred + measurement_variance(p)
    k = p_pred / sv
    good = i["bad"] < 0.5
    return {"x": np.where(good, x_pred + k * nu, x_pred), "p": np.where(good, (1.0 - k) * p_pred, p_pred),
            "nu": np.where(good, nu, 0.0), "s": sv}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"estimate": s["x"], "sigma": np.sqrt(s["p"]), "innovation": s["nu"],
            "nis": s["nu"] ** 2 / np.maximum(s["s"], 1e-300)}


KERNEL = Kernel(update=_update, signals=_signals)
