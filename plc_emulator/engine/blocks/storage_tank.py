"""Vertical heated storage tank (bitumen): level, 1 or 3 temperature layers, a submerged hot-oil
coil whose U depends on the product viscosity, heat loss to ambient with wind.

    dV/dt   = Q_receipt - Q_draw                         (level = V / A)
    C dT/dt = receipt/draw advection + Q_coil - Q_loss (+ exchange between layers)
    Q_coil  = eps m_o cp_o (T_oil,in - T_bottom),  eps = 1 - exp(-Uc Ac_wet / (m_o cp_o))
    m_o     = rho_o oil_max x coil valve x circulation pump speed (oil_flow_fraction)
    Uc      = 11.7 (T_oil - T)^0.14 / mu_film^0.4   [W/(m2 K), °C, Pa s at the film T + 6 K]
    mu      : ASTM D2493, log10 log10 mu[cP] = A + VTS log10 T[°R]
    Q_loss  = Uw pi D h (T - Ta) + Ur A (T_top - Ta) + Uf A (T_bottom - T_ground),
    Uw      = 1 / (t_ins / k_ins + 1 / (5.7 + 3.8 v_wind))

Layers are equal fractions of the liquid; a draw from the bottom or a receipt moves the layer
boundaries (upwind advection). A lower layer hotter than the one above mixes fast (natural
convection, 19 dT^(1/3) W/(m2 K)); a hotter upper layer only conducts, so a hot top-fill persists.
The coil sits in the bottom layer and is wetted over ``coil_height_m`` above ``coil_z_m``.
The coil's oil flow is proportional to the circulation pump speed (``oil_flow_fraction``, %): the
affinity law Q ~ n for a friction-dominated hot-oil loop with no static head.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from plc_emulator.engine.blocks._build import choice, inp, num, out, setting, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC", "bitumen_cp", "bitumen_density", "bitumen_viscosity"]

LAYERS: Final = 3
OIL_DENSITY: Final = 825.0  # kg/m3, hot oil at 280 °C
OIL_CP: Final = 2490.0  # J/(kg K)

SPEC = BlockSpec(
    kind="storage_tank",
    category=BlockCategory.VESSEL,
    summary="Vertical heated tank: level, 1/3 temperature layers, viscosity-dependent coil, heat loss, wind.",
    params=(
        num("diameter_m", "m", 10.0, 0.5, 100.0, "shell diameter D"),
        num("height_m", "m", 12.0, 0.5, 50.0, "shell height (100 % level)"),
        choice("layers", ("one", "three"), "three", "temperature layers (one = fully mixed)"),
        choice("receipt_to", ("top", "bottom"), "top", "where a receipt enters"),
        num("density_15", "kg/m3", 1036.0, 800.0, 1200.0, "product density at 15 °C"),
        num("visc_a", "", 10.98, 0.0, 30.0, "ASTM D2493 intercept A"),
        num("visc_vts", "", -3.68, -10.0, 0.0, "ASTM D2493 slope VTS"),
        num("coil_area_m2", "m2", 27.0, 0.0, 10000.0, "coil outside area (3 turns, D 8 m, DN100)"),
        num("coil_z_m", "m", 0.2, 0.0, 50.0, "coil bottom above the floor"),
        num("coil_height_m", "m", 0.4, 0.01, 50.0, "coil bundle height"),
        num("oil_max_m3h", "m3/h", 10.0, 0.0, 1000.0, "hot-oil flow through the coil at full valve"),
        num("insulation_m", "m", 0.15, 0.0, 1.0, "shell insulation thickness"),
        num("insulation_k", "W/(m K)", 0.05, 0.01, 100.0, "insulation conductivity"),
        num("roof_u", "W/(m2 K)", 0.30, 0.0, 100.0, "roof U"),
        num("floor_u", "W/(m2 K)", 0.67, 0.0, 100.0, "floor U"),
        num("ground_c", "°C", 10.0, -30.0, 50.0, "ground temperature"),
    ),
    initial=(
        num("level_m", "m", 11.5, 0.0, 50.0, "liquid height"),
        num("temperature_c", "°C", 160.0, -20.0, 300.0, "product temperature (every layer)"),
        num("wind_m_s", "m/s", 3.0, 0.0, 60.0, "wind speed"),
        num("receipt_c", "°C", 160.0, -20.0, 300.0, "temperature of a receipt"),
    ),
    states=(
        state("volume", "m3", "liquid volume"),
        state("t", "°C", "layer temperatures, bottom first", init="temperature_c", extra=(LAYERS,)),
        state("wind_speed", "m/s", "wind speed (writable)", init="wind_m_s"),
        state("receipt_temperature", "°C", "receipt temperature (writable)", init="receipt_c"),
        state("duty", "kW", "coil duty of the last tick"),
        state("loss", "kW", "heat loss of the last tick"),
    ),
    ports=(
        inp("oil_supply", Quantity.TEMPERATURE, "hot-oil supply temperature (heater outlet)"),
        inp("coil_valve", Quantity.PERCENT, "coil flow fraction (a valve's flow_fraction)"),
        inp("circulation", Quantity.FLAG, "1 = hot oil circulating", optional=True, idle=1.0),
        inp("oil_flow_fraction", Quantity.PERCENT, "circulation pump speed (the heater's flow_fraction)",
            optional=True, idle=100.0),
        inp("air", Quantity.TEMPERATURE, "ambient air temperature", optional=True, idle=10.0),
        inp("draw", Quantity.LIQUID_FLOW, "product drawn from the bottom (loading)", optional=True),
        inp("receipt", Quantity.LIQUID_FLOW, "product received", optional=True),
        out("oil_return", Quantity.STREAM, "coil outlet: hot oil m3/s in the first column, its temperature last",
            depends=("oil_supply", "coil_valve", "circulation", "oil_flow_fraction")),
        out("level", Quantity.LEVEL, "liquid level, % of the shell height"),
        out("temperature", Quantity.TEMPERATURE, "bottom-layer temperature (thermowell)"),
    ),
    signals=(
        shown("level", "%", (0, 100), "liquid level, % of the shell height"),
        shown("level_m", "m", (0, 12), "liquid height"),
        shown("temperature", "°C", (0, 250), "thermowell (bottom layer) temperature"),
        shown("temperature_middle", "°C", (0, 250), "middle-layer temperature"),
        shown("temperature_top", "°C", (0, 250), "top-layer temperature"),
        shown("temperature_mean", "°C", (0, 250), "volume-mean temperature"),
        shown("coil_duty", "kW", (0, 500), "heat from the coil"),
        shown("heat_loss", "kW", (0, 500), "heat lost to air and ground"),
        shown("oil_return_temperature", "°C", (0, 350), "coil outlet oil temperature"),
        shown("oil_flow", "m3/h", (0, 20), "hot oil through the coil"),
        shown("viscosity", "Pa s", (0, 10), "bottom-layer viscosity"),
        shown("coil_wetted", "%", (0, 100), "coil area under the liquid"),
        setting("wind_speed", "m/s", (0, 40), (0, 40), "wind speed"),
        setting("receipt_temperature", "°C", (0, 250), (20, 250), "temperature of a receipt"),
    ),
    start=lambda p, init, n: {"volume": np.pi / 4.0 * p["diameter_m"] ** 2 * np.minimum(init["level_m"],
                                                                                        p["height_m"])},
)


def bitumen_viscosity(t_c: F64, a: F64, vts: F64) -> F64:
    """Pa s from the ASTM D2493 straight line (valid above 60 °C)."""
    t_r = (np.maximum(t_c, 20.0) + 273.15) * 1.8
    out: F64 = 10.0 ** (10.0 ** (a + vts * np.log10(t_r))) * 1e-3
    return out


def bitumen_density(t_c: F64, rho15: F64) -> F64:
    out: F64 = rho15 / (1.0 + 0.00061 * (t_c - 15.0))
    return out


def bitumen_cp(t_c: F64, rho15: F64) -> F64:
    """J/(kg K), petroleum-oil correlation."""
    out: F64 = (1.685 + 0.00339 * t_c) / np.sqrt(rho15 / 1000.0) * 1000.0
    return out


def _coil(p: Arrays, s: Arrays, i: Arrays) -> tuple[F64, F64, F64, F64, F64]:
    """Hot-oil flow [m3/s], coil duty [W], oil return [°C], viscosity [Pa s], wetted fraction."""
    area = np.pi / 4.0 * p["diameter_m"] ** 2
    h = s["volume"] / area
    wet = np.clip((h - p["coil_z_m"]) / p["coil_height_m"], 0.0, 1.0)
    q_oil = (p["oil_max_m3h"] / 3600.0 * np.clip(i["coil_valve"], 0.0, 100.0) * 0.01 * (i["circulation"] > 0.5)
             * np.clip(i["oil_flow_fraction"], 0.0, 100.0) * 0.01)
    c_oil = np.maximum(q_oil * OIL_DENSITY * OIL_CP, 1e-9)
    t_b, t_o = s["t"][..., 0], i["oil_supply"]
    mu = bitumen_viscosity(t_b + 6.0, p["visc_a"], p["visc_vts"])
    uc = 11.7 * np.maximum(t_o - t_b, 0.0) ** 0.14 / mu ** 0.4
    eps = 1.0 - np.exp(-uc * p["coil_area_m2"] * wet / c_oil)
    duty = np.where(q_oil > 0.0, eps * c_oil * (t_o - t_b), 0.0)
    ret = np.where(q_oil > 0.0, t_o - duty / c_oil, t_b)
    return q_oil, duty, ret, mu, wet


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    area = np.pi / 4.0 * p["diameter_m"] ** 2
    return {"level": s["volume"] / area / p["height_m"] * 100.0, "temperature": s["t"][..., 0]}


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    q_oil, _, ret, _, _ = _coil(p, s, i)
    z = np.zeros_like(q_oil)
    return {"oil_return": np.stack((q_oil, z, z, ret), axis=-1)}


def _losses(p: Arrays, s: Arrays, air: F64, h: F64) -> F64:
    """Heat loss per layer [W], (..., 3): shell by layer height, roof from the top, floor from the bottom."""
    area = np.pi / 4.0 * p["diameter_m"] ** 2
    ho = 5.7 + 3.8 * s["wind_speed"]
    uw = 1.0 / (p["insulation_m"] / p["insulation_k"] + 1.0 / ho)
    shell = (uw * np.pi * p["diameter_m"] * h / LAYERS)[..., None] * (s["t"] - air[..., None])
    roof = p["roof_u"] * area * (s["t"][..., 2] - air)
    floor = p["floor_u"] * area * (s["t"][..., 0] - p["ground_c"])
    loss: F64 = shell + np.stack((floor, np.zeros_like(floor), roof), axis=-1)
    return loss


def _advect(t: F64, vol: F64, *, draw: F64, top: F64, bottom: F64, t_in: F64, dt: float) -> F64:
    """Upwind advection when the layer boundaries move: F_k (down across boundary k) = k/n top
    receipt + (1 - k/n) (draw - bottom receipt)."""
    bo = draw - bottom
    f = [bo, *(k / LAYERS * top + (1.0 - k / LAYERS) * bo for k in range(1, LAYERS)), top]
    above = [t[..., 1], t[..., 2], t_in]
    below = [t_in, t[..., 0], t[..., 1]]
    per = np.maximum(vol / LAYERS, 1e-3)
    new = []
    for k in range(LAYERS):
        inflow = np.maximum(f[k + 1], 0.0) * (above[k] - t[..., k]) + np.maximum(-f[k], 0.0) * (below[k] - t[..., k])
        rate = (np.maximum(f[k + 1], 0.0) + np.maximum(-f[k], 0.0)) * dt / per
        # exact for a held inflow temperature: relax towards it, never past it
        target = t[..., k] + inflow / np.maximum(np.maximum(f[k + 1], 0.0) + np.maximum(-f[k], 0.0), 1e-12)
        new.append(target + (t[..., k] - target) * np.exp(-rate))
    out: F64 = np.stack(new, axis=-1)
    return out


def _mix(p: Arrays, t: F64, cap: F64, dt: float) -> F64:
    """Exchange between neighbouring layers, each pair relaxed exactly (bottom pair, then top)."""
    area = np.pi / 4.0 * p["diameter_m"] ** 2
    t = t.copy()
    for k in range(LAYERS - 1):
        dtk = t[..., k] - t[..., k + 1]
        g = np.where(dtk > 0.0, 19.0 * np.abs(dtk) ** (1.0 / 3.0) * area, 10.0)
        c1, c2 = cap[..., k], cap[..., k + 1]
        mean = (c1 * t[..., k] + c2 * t[..., k + 1]) / (c1 + c2)
        decay = np.exp(-g * (1.0 / c1 + 1.0 / c2) * dt)
        t[..., k] = mean + (t[..., k] - mean) * decay
        t[..., k + 1] = mean - c1 / c2 * (t[..., k] - mean)  # energy kept: c1 (t1 - mean) = -c2 (t2 - mean)
    return t


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    dt = ctx.dt
    area = np.pi / 4.0 * p["diameter_m"] ** 2
    cap_v = area * p["height_m"]
    _, duty, _, _, _ = _coil(p, s, i)
    draw = np.minimum(np.maximum(i["draw"], 0.0), s["volume"] / dt)
    receipt = np.maximum(i["receipt"], 0.0)
    top = np.where(p["receipt_to"] < 0.5, receipt, 0.0)
    bottom = receipt - top
    h = s["volume"] / area
    loss = _losses(p, s, i["air"], h)
    rho, cp = bitumen_density(s["t"], p["density_15"][..., None]), bitumen_cp(s["t"], p["density_15"][..., None])
    cap = np.maximum(rho * cp * (s["volume"] / LAYERS)[..., None], 1e3)
    heat = -loss
    heat[..., 0] += duty
    t = s["t"] + heat * dt / cap
    t = _advect(t, s["volume"], draw=draw, top=top, bottom=bottom, t_in=s["receipt_temperature"], dt=dt)
    t = _mix(p, t, cap, dt)
    mixed = np.broadcast_to(((t * cap).sum(axis=-1) / cap.sum(axis=-1))[..., None], t.shape)
    t = np.where((p["layers"] < 0.5)[..., None], mixed, t)
    volume = np.clip(s["volume"] + (receipt - draw) * dt, 0.0, cap_v)
    return {"volume": volume, "t": t, "duty": duty / 1000.0, "loss": loss.sum(axis=-1) / 1000.0}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    area = np.pi / 4.0 * p["diameter_m"] ** 2
    q_oil, _, ret, mu, wet = _coil(p, s, i)
    h = s["volume"] / area
    return {"level": h / p["height_m"] * 100.0, "level_m": h, "temperature": s["t"][..., 0],
            "temperature_middle": s["t"][..., 1], "temperature_top": s["t"][..., 2],
            "temperature_mean": s["t"].mean(axis=-1), "coil_duty": s["duty"], "heat_loss": s["loss"],
            "oil_return_temperature": ret, "oil_flow": q_oil * 3600.0, "viscosity": mu, "coil_wetted": wet * 100.0,
            "wind_speed": s["wind_speed"], "receipt_temperature": s["receipt_temperature"]}


KERNEL = Kernel(out=_out, feed=_feed, update=_update, signals=_signals)
