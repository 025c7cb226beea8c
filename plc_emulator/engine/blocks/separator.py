"""Horizontal two- or three-phase separator: liquid holdup per phase and gas pressure as states.

Levels are % of the diameter (horizontal-cylinder segment geometry); the gas pressure follows
dP/dt = Z (T/T_std) P_std (G_in - G_out) / V_gas + P (dV_liq/dt) / V_gas. Flash gas leaves the
liquid with the solution-gas ratio Rs ~ P^1.2; each stage cools by ``flash_cooling_c`` and loses
heat to the air (``heat_loss_k``) with the thermal lag ``thermal_tau_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from plc_emulator.engine import _physics as ph
from plc_emulator.engine._physics import volume_fraction
from plc_emulator.engine.blocks._build import choice, inp, num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]



def _start(params: Mapping[str, F64], init: Mapping[str, F64], n: int) -> dict[str, F64]:
    """Holdups from the initial levels (horizontal-cylinder segment)."""
    vol = math.pi * (params["diameter_m"] / 2.0) ** 2 * params["length_m"]
    total = vol * volume_fraction(init["level_pct"] / 100.0)
    water = vol * volume_fraction(init["interface_pct"] / 100.0)
    return {"oil": total - water, "water": water}


SPEC = BlockSpec(
    kind="separator",
    category=BlockCategory.VESSEL,
    summary="Horizontal two/three-phase separator; holds liquid per phase and gas pressure.",
    params=(
        choice("phases", ("two", "three"), "three", "three = oil and water outlets, two = one liquid outlet"),
        num("diameter_m", "m", 3.0, 0.2, 10.0, "inner diameter"),
        num("length_m", "m", 12.0, 0.5, 60.0, "tangent-to-tangent length"),
        num("z_factor", "", 0.9, 0.3, 1.5, "gas compressibility"),
        num("water_in_oil", "fraction", 0.05, 0.0, 1.0, "water carried out with the oil"),
        num("flash_cooling_c", "K", 2.0, 0.0, 50.0, "cooling of the liquid by flashing"),
        num("heat_loss_k", "fraction", 0.08, 0.0, 1.0, "T_out = T_in - k (T_in - T_air)"),
        num("thermal_tau_s", "s", 600.0, 1.0, 1e6, "temperature lag"),
        num("rs_ref_scf_bbl", "scf/bbl", 160.0, 0.0, 10000.0, "solution gas at the reference pressure"),
        num("rs_ref_psig", "psig", 1000.0, 0.0, 15000.0, "reference pressure of rs_ref_scf_bbl"),
    ),
    initial=(
        num("pressure_psig", "psig", 1000.0, 0.0, 15000.0, "gas pressure"),
        num("level_pct", "%", 50.0, 0.0, 100.0, "total liquid level"),
        num("interface_pct", "%", 25.0, 0.0, 100.0, "water interface level"),
        num("temperature_c", "°C", 60.0, -20.0, 250.0, "liquid temperature"),
    ),
    steady=False,
    states=(
        state("oil", "m3", "oil holdup (from level_pct and interface_pct)"),
        state("water", "m3", "water holdup (from interface_pct)"),
        state("pressure", "psig", "gas pressure", init="pressure_psig"),
        state("temperature", "°C", "liquid temperature", init="temperature_c"),
    ),
    ports=(
        inp("inlet", Quantity.STREAM, "feed"),
        inp("oil_draw", Quantity.STREAM, "liquid leaving through the oil (liquid) outlet"),
        inp("water_draw", Quantity.STREAM, "water leaving through the water outlet", optional=True),
        inp("gas_draw", Quantity.STREAM, "gas leaving through the gas outlet"),
        inp("air", Quantity.TEMPERATURE, "ambient air temperature", optional=True, idle=15.0),
        out("pressure", Quantity.PRESSURE, "gas pressure"),
        out("oil_outlet", Quantity.SOURCE, "the oil (liquid) nozzle"),
        out("water_outlet", Quantity.SOURCE, "the water nozzle (boot)"),
        out("gas_outlet", Quantity.SOURCE, "the gas nozzle"),
        out("oil_level", Quantity.LEVEL, "total liquid level"),
        out("water_level", Quantity.LEVEL, "water interface level"),
        out("temperature", Quantity.TEMPERATURE, "liquid temperature"),
    ),
    signals=(
        shown("pressure", "PSI", (0, 1500), "gas pressure"),
        shown("temperature", "°C", (0, 150), "liquid temperature"),
        shown("oil_level", "%", (0, 100), "total liquid level (% of diameter)"),
        shown("water_level", "%", (0, 100), "water interface level (% of diameter)"),
        shown("liquid_volume", "m3", (0, 1000), "oil + water holdup"),
        shown("gas_flow", "MMSCFD", (0, 30), "gas leaving through the gas outlet"),
    ),
    start=_start,
)

_OIL_RHO, _WATER_RHO = 850.0, 1025.0


def _volume(p: Arrays) -> F64:
    out: F64 = np.pi * (p["diameter_m"] / 2.0) ** 2 * p["length_m"]
    return out


def _rs_m3(p: Arrays, pressure: F64) -> F64:
    """Solution gas left in the oil at ``pressure``, scf per m3 of oil (Rs ~ P^1.2)."""
    ratio = np.maximum((pressure + ph.ATM_PSI) / (p["rs_ref_psig"] + ph.ATM_PSI), 0.0)
    out: F64 = p["rs_ref_scf_bbl"] / ph.BBL_M3 * ratio**1.2
    return out


def _levels(p: Arrays, s: Arrays) -> tuple[F64, F64]:
    vol = _volume(p)
    hf = ph.level_fraction(np.stack(((s["oil"] + s["water"]) / vol, s["water"] / vol)))
    return hf[0] * 100.0, hf[1] * 100.0


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    lev, iface = _levels(p, s)
    pr, temp = s["pressure"], s["temperature"]
    liquid = np.maximum(s["oil"] + s["water"], 1e-12)
    wf = np.where(p["phases"] > 0.5, p["water_in_oil"], s["water"] / liquid)
    rho = _OIL_RHO * (1.0 - wf) + _WATER_RHO * wf
    head = ph.G * ph.PSI_PER_PA * p["diameter_m"]
    zero, one = np.zeros_like(pr), np.ones_like(pr)
    return {
        "pressure": pr, "temperature": temp, "oil_level": lev, "water_level": iface,
        "oil_outlet": np.stack((pr + rho * head * lev * 0.01, wf, _rs_m3(p, pr), temp), axis=-1),
        "water_outlet": np.stack((pr + _WATER_RHO * head * iface * 0.01, one, zero, temp), axis=-1),
        "gas_outlet": np.stack((pr, zero, zero, temp), axis=-1),
    }


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    dt, vol = ctx.dt, _volume(p)
    feed, od, wd, gd = i["inlet"], i["oil_draw"], i["water_draw"], i["gas_draw"]
    oil = np.clip(s["oil"] + (feed[..., 0] - od[..., 0] - wd[..., 0]) * dt, 0.0, vol)
    water = np.clip(s["water"] + (feed[..., 1] - od[..., 1] - wd[..., 1]) * dt, 0.0, vol)
    dvl = (oil + water - s["oil"] - s["water"]) / dt
    g_in = np.maximum(feed[..., 2] - feed[..., 0] * _rs_m3(p, s["pressure"]), 0.0)
    vg = np.maximum(vol - (s["oil"] + s["water"]), 0.02 * vol) * ph.FT3_PER_M3
    t_r = ph.celsius_to_rankine(s["temperature"])
    dp = (p["z_factor"] * (t_r / ph.T_STD_R) * ph.P_STD_PSIA * (g_in - gd[..., 2]) / vg
          + (s["pressure"] + ph.ATM_PSI) * dvl * ph.FT3_PER_M3 / vg)
    t_in = np.where(feed[..., 0] + feed[..., 1] > 1e-9, feed[..., 3], s["temperature"])
    target = t_in - p["flash_cooling_c"] - p["heat_loss_k"] * (t_in - i["air"])
    lag = 1.0 - np.exp(-dt / p["thermal_tau_s"])
    return {"oil": oil, "water": water, "pressure": np.maximum(s["pressure"] + dp * dt, 0.0),
            "temperature": s["temperature"] + lag * (target - s["temperature"])}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"pressure": s["pressure"], "temperature": s["temperature"], "oil_level": i["oil_level"],
            "water_level": i["water_level"], "liquid_volume": s["oil"] + s["water"],
            "gas_flow": i["gas_draw"][..., 2] * 86400.0 / 1e6}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
