"""Horizontal two- or three-phase separator: liquid holdup per phase and gas pressure as states.

Levels are % of the diameter (horizontal-cylinder segment geometry); the gas pressure follows
dP/dt = Z (T/T_std) P_std (G_in - G_out) / V_gas + P (dV_liq/dt) / V_gas. Flash gas leaves the
liquid with the solution-gas ratio Rs ~ P^1.2; each stage cools by ``flash_cooling_c`` and loses
heat to the air (``heat_loss_k``) with the thermal lag ``thermal_tau_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from plc_emulator.engine._physics import volume_fraction
from plc_emulator.engine.blocks._build import choice, inp, num, out, shown, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["SPEC"]



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
    steady=True,
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
