"""Shell-and-tube exchanger: counter-flow effectiveness-NTU with linear fouling, outlet lag.

UA = UA_clean / (1 + R_f UA_clean) with R_f growing at ``fouling_rate_k_per_kw_day``; the coolant
flow is ``coolant_max_kg_s`` times the coolant valve's flow fraction.
"""

from __future__ import annotations

import numpy as np

from plc_emulator.engine import _physics as ph
from plc_emulator.engine.blocks._build import inp, num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="heat_exchanger",
    category=BlockCategory.HEAT,
    summary="Shell-and-tube exchanger: counter-flow eps-NTU, fouling, outlet temperature lag.",
    params=(
        num("ua_clean_kw_k", "kW/K", 40.0, 0.01, 100000.0, "clean overall UA"),
        num("fouling_rate_k_per_kw_day", "K/kW/day", 2.0e-4, 0.0, 1.0, "fouling resistance growth"),
        num("coolant_max_kg_s", "kg/s", 20.0, 0.001, 100000.0, "coolant flow at full valve opening"),
        num("hot_density", "kg/m3", 850.0, 100.0, 2000.0, "hot-side density"),
        num("hot_cp", "kJ/(kg K)", 2.0, 0.1, 10.0, "hot-side heat capacity"),
        num("coolant_cp", "kJ/(kg K)", 4.0, 0.1, 10.0, "coolant heat capacity"),
        num("tau_s", "s", 120.0, 0.01, 36000.0, "outlet temperature lag"),
    ),
    initial=(num("outlet_temperature_c", "°C", 42.0, -20.0, 250.0, "hot outlet temperature"),),
    states=(
        state("outlet_t", "°C", "hot outlet temperature", init="outlet_temperature_c"),
        state("fouling", "K/kW", "fouling resistance R_f"),
    ),
    ports=(
        inp("hot_in", Quantity.STREAM, "hot stream"),
        inp("coolant", Quantity.TEMPERATURE, "coolant supply temperature"),
        inp("coolant_valve", Quantity.PERCENT, "coolant flow fraction (a valve's flow_fraction)"),
        out("hot_out", Quantity.STREAM, "cooled stream (temperature lagged)", depends=("hot_in",)),
        out("outlet_temperature", Quantity.TEMPERATURE, "hot outlet temperature"),
    ),
    signals=(
        shown("outlet_temperature", "°C", (0, 100), "hot outlet temperature"),
        shown("inlet_temperature", "°C", (0, 150), "hot inlet temperature"),
        shown("seawater_temperature", "°C", (0, 40), "coolant (seawater) supply temperature"),
        shown("ua", "kW/K", (0, 200), "overall UA (falls with fouling)"),
    ),
)


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    return {"outlet_temperature": s["outlet_t"]}


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    hot = i["hot_in"]
    return {"hot_out": np.concatenate((hot[..., :3], s["outlet_t"][..., None]), axis=-1)}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    hot = i["hot_in"]
    q = hot[..., 0] + hot[..., 1]
    rf = s["fouling"] + p["fouling_rate_k_per_kw_day"] * ctx.dt / 86400.0
    ua = p["ua_clean_kw_k"] / (1.0 + rf * p["ua_clean_kw_k"])
    c_h = np.maximum(q * p["hot_density"] * p["hot_cp"], 1e-6)
    c_c = np.maximum(p["coolant_max_kg_s"] * i["coolant_valve"] * 0.01 * p["coolant_cp"], 1e-6)
    c_min, c_max = np.minimum(c_h, c_c), np.maximum(c_h, c_c)
    eps = ph.counterflow_effectiveness(ua / c_min, c_min / c_max)
    t_in, t_c = hot[..., 3], i["coolant"]
    steady = np.where(q > 1e-5, t_in - eps * c_min * (t_in - t_c) / c_h, t_c + 0.5 * (s["outlet_t"] - t_c))
    lag = 1.0 - np.exp(-ctx.dt / p["tau_s"])
    return {"outlet_t": s["outlet_t"] + lag * (steady - s["outlet_t"]), "fouling": rf}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"outlet_temperature": s["outlet_t"], "inlet_temperature": i["hot_in"][..., 3],
            "seawater_temperature": i["coolant"],
            "ua": p["ua_clean_kw_k"] / (1.0 + s["fouling"] * p["ua_clean_kw_k"])}


KERNEL = Kernel(out=_out, feed=_feed, update=_update, signals=_signals)
