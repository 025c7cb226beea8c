"""Plant parameters: frozen dataclasses with documented defaults (numbers: docs/engine.md).

The tag map's ``process:`` section overrides any of them by dotted path, e.g.::

    process:
      well: {oil_rate_bpd: 18000, decline_time_factor: 365}
      valves: {PIC200: {stiction_s: 4.0, stiction_j: 2.0}}

:func:`params_from_mapping` validates the mapping and collects every problem into one
:class:`ParamError` whose ``problems`` are ``(path relative to process:, message)`` pairs.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AmbientParams",
    "EsdParams",
    "HxParams",
    "InstrumentParams",
    "LoopParams",
    "LoopSet",
    "ParamError",
    "PlantParams",
    "PumpParams",
    "SlugParams",
    "ValveParams",
    "ValveSet",
    "VesselParams",
    "VibrationParams",
    "WellParams",
    "params_from_mapping",
]


class ParamError(ValueError):
    """Bad ``process:`` overrides. ``problems`` = [(dotted path, message)], all of them at once."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"process.{p}: {m}" for p, m in self.problems))


@dataclass(frozen=True, slots=True, kw_only=True)
class WellParams:
    """Well stream entering SEP-V100 (domain notes §1.1, 5)."""

    oil_rate_bpd: float = 20000.0  # initial oil rate q_i, bbl/day
    water_cut_initial: float = 0.30  # fraction
    water_cut_max: float = 0.90  # logistic ceiling of the water cut
    water_cut_growth_per_mmbbl: float = 0.10  # logistic rate in cumulative oil (1/MMbbl)
    gor_scf_per_bbl: float = 800.0  # producing gas-oil ratio
    gor_rise_per_mmbbl: float = 0.02  # fractional GOR rise per MMbbl produced
    arps_b: float = 0.5  # hyperbolic exponent
    arps_di_per_year: float = 0.2  # nominal initial decline, 1/yr
    decline_time_factor: float = 52.18  # field years per simulated year (52.18: one sim-week = one year)
    temperature_c: float = 75.0  # arrival temperature at the V100 inlet
    gas_drift_sigma: float = 0.03  # stationary std of the slow inlet-gas disturbance (fraction)
    gas_drift_tau_s: float = 3600.0  # its correlation time


@dataclass(frozen=True, slots=True, kw_only=True)
class SlugParams:
    """Hydrodynamic (Poisson, Gregory-Scott) and severe (riser) slugging (domain notes §4)."""

    hydrodynamic: bool = True
    line_diameter_m: float = 0.3  # flowline ID used in Gregory-Scott
    line_pressure_psig: float = 1050.0  # flowline pressure for in-situ gas velocity
    length_min_d: float = 12.0  # slug length range, pipe diameters
    length_max_d: float = 30.0
    holdup_min: float = 0.7  # liquid holdup in the slug body
    holdup_max: float = 1.0
    severe_rate_per_day: float = 0.3  # Poisson rate of severe-slugging episodes
    severe_cycles_min: int = 2
    severe_cycles_max: int = 5
    severe_period_s: float = 600.0  # T0 (docs/engine.md: 10-60 min); each cycle lasts T0 * U(0.8, 1.2)
    forced_volume_m3: float = 15.0  # volume of a force_slug command without volume_m3
    forced_duration_s: float = 60.0
    inlet_tau_s: float = 20.0  # inlet manifold / inlet device smoothing of the arriving liquid


@dataclass(frozen=True, slots=True, kw_only=True)
class VesselParams:
    """Horizontal cylinder separator (domain notes §1.2-1.4). Levels are % of the diameter."""

    diameter_m: float
    length_m: float
    gas_header_psig: float  # pressure downstream of the PCV
    initial_pressure_psig: float
    initial_level_pct: float = 50.0
    initial_interface_pct: float = 25.0  # water layer (V100, V300)
    water_in_oil: float = 0.05  # water fraction carried out with the oil (V100 only)
    interface_sp_pct: float = 25.0  # V100 internal water-boot controller setpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpParams:
    """PMP-P100 export pump against the export system curve (domain notes §6.1)."""

    rated_speed_rpm: float = 3000.0
    rated_flow_bpd: float = 20000.0
    rated_dp_psi: float = 1240.0  # differential at rated flow and speed
    shutoff_ratio: float = 1.2  # shut-off head / rated head
    oil_sg: float = 0.85
    export_static_psig: float = 900.0  # export line static back-pressure
    export_line_dp_psi: float = 250.0  # friction drop of the export line at rated flow
    suction_static_psi: float = 7.0  # liquid head from V300 to the pump suction
    low_level_trip_pct: float = 5.0  # V300 oil level below which the pump trips (dry running)
    speed_tau_s: float = 5.0
    trip_on_vibration: bool = False  # trip at vibration_trip_mm_s (zone D)
    vibration_trip_mm_s: float = 8.9  # 1.25 x C/D boundary (ISO guidance)
    vane_count: int = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class VibrationParams:
    """Bearing-housing velocity spectrum and P-F degradation (domain notes §6.2-6.4)."""

    amp_1x_mm_s: float = 1.2  # peak amplitudes at rated speed
    amp_2x_mm_s: float = 0.9
    amp_vane_mm_s: float = 0.8
    amp_bearing_mm_s: float = 0.3
    broadband_mm_s: float = 0.3
    beat_depth: float = 0.10  # 1x/2x amplitude modulation depth
    beat_period_s: float = 37.0
    weibull_shape: float = 1.3  # onset time ~ Weibull(shape, scale) in days of running
    weibull_scale_days: float = 365.0
    pf_interval_days: float = 21.0  # onset -> zone B/C boundary
    theta_mm_s: float = 0.2  # exponential model scale: v = v0 + theta (exp(beta t) - 1)
    zone_ab: float = 2.3  # ISO 10816-3 group 1 rigid
    zone_bc: float = 4.5
    zone_cd: float = 7.1


@dataclass(frozen=True, slots=True, kw_only=True)
class HxParams:
    """HX-E100 seawater crude cooler, counter-flow effectiveness-NTU (domain notes §7)."""

    ua_clean_kw_k: float = 40.0
    fouling_rate_k_per_kw_day: float = 2.0e-4  # R_f growth per (simulated) day
    seawater_max_kg_s: float = 20.0  # seawater flow with the TIC100 valve fully open
    oil_density: float = 850.0
    oil_cp: float = 2.0  # kJ/(kg K)
    water_cp: float = 4.0
    tau_s: float = 120.0  # outlet temperature lag


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbientParams:
    """Air and seawater temperature: diurnal cosine (peak 14:00) + AR(1) weather + season (domain notes §7)."""

    air_mean_c: float = 12.0
    air_diurnal_c: float = 1.5
    air_seasonal_c: float = 5.0
    sea_mean_c: float = 11.0
    sea_diurnal_c: float = 0.3
    sea_seasonal_c: float = 3.0
    weather_tau_h: float = 12.0
    weather_sigma_c: float = 0.7
    sea_weather_sigma_c: float = 0.2
    heat_loss_k: float = 0.08  # T_out = T_in - k (T_in - T_air) per stage
    thermal_tau_s: float = 600.0  # separator temperature lag
    flash_cooling_c: float = 2.0  # per stage after V100


@dataclass(frozen=True, slots=True, kw_only=True)
class ValveParams:
    """Control valve: Cv, characteristic, actuator lag and S/J stiction (domain notes §2)."""

    characteristic: str = "equal"  # "equal" (equal-percentage) or "linear"
    rangeability: float = 30.0
    tau_s: float = 2.0  # actuator first-order lag
    stiction_s: float = 0.3  # % of span (deadband + stickband)
    stiction_j: float = 0.1  # % of span (slip jump)
    cv: float = 0.0  # 0 = size for the design flow at design_opening_pct
    design_opening_pct: float = 55.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopParams:
    """ISA PID defaults (domain notes §3.3); written at run time through the loop's inputs."""

    sp: float
    kc: float
    ti: float
    td: float = 0.0
    mode: int = 1  # 1 AUTO, 0 MAN
    out: float = 50.0  # initial output


@dataclass(frozen=True, slots=True, kw_only=True)
class ValveSet:
    LIC100: ValveParams = field(default_factory=ValveParams)
    PIC100: ValveParams = field(default_factory=lambda: ValveParams(design_opening_pct=45.0))  # slug headroom
    LIC200: ValveParams = field(default_factory=ValveParams)
    PIC200: ValveParams = field(default_factory=lambda: ValveParams(stiction_s=1.5, stiction_j=0.5))
    LIC300: ValveParams = field(default_factory=ValveParams)
    LIC301: ValveParams = field(default_factory=lambda: ValveParams(characteristic="linear"))
    PIC300: ValveParams = field(default_factory=ValveParams)
    TIC100: ValveParams = field(default_factory=lambda: ValveParams(characteristic="linear"))


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopSet:
    # averaging (lambda = 20 min) level tuning on V100/V200, tighter on V300 (domain notes §3.3)
    LIC100: LoopParams = field(default_factory=lambda: LoopParams(sp=50.0, kc=1.5, ti=2400.0))
    PIC100: LoopParams = field(default_factory=lambda: LoopParams(sp=1000.0, kc=2.0, ti=120.0))
    LIC200: LoopParams = field(default_factory=lambda: LoopParams(sp=50.0, kc=1.5, ti=2400.0))
    PIC200: LoopParams = field(default_factory=lambda: LoopParams(sp=200.0, kc=2.0, ti=120.0))
    LIC300: LoopParams = field(default_factory=lambda: LoopParams(sp=50.0, kc=3.0, ti=600.0))
    LIC301: LoopParams = field(default_factory=lambda: LoopParams(sp=30.0, kc=3.0, ti=900.0))
    PIC300: LoopParams = field(default_factory=lambda: LoopParams(sp=50.0, kc=2.0, ti=120.0))
    TIC100: LoopParams = field(default_factory=lambda: LoopParams(sp=42.0, kc=2.0, ti=300.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentParams:
    """Field transmitters: accuracy (2 sigma, % of span), resolution, comm-loss timeout (domain notes §8)."""

    accuracy_pct: float = 0.1
    bits: int = 16
    comm_timeout_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EsdParams:
    v100_pressure_trip_psig: float = 1440.0  # PSHH
    v100_level_trip_pct: float = 95.0  # LSHH


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantParams:
    well: WellParams = field(default_factory=WellParams)
    slugs: SlugParams = field(default_factory=SlugParams)
    v100: VesselParams = field(
        default_factory=lambda: VesselParams(
            diameter_m=3.0, length_m=12.0, gas_header_psig=850.0, initial_pressure_psig=1000.0
        )
    )
    v200: VesselParams = field(
        default_factory=lambda: VesselParams(
            diameter_m=2.5,
            length_m=10.0,
            gas_header_psig=120.0,
            initial_pressure_psig=200.0,
            water_in_oil=0.0,
        )
    )
    v300: VesselParams = field(
        default_factory=lambda: VesselParams(
            diameter_m=2.0,
            length_m=8.0,
            gas_header_psig=20.0,
            initial_pressure_psig=50.0,
            initial_interface_pct=30.0,
            water_in_oil=0.0,
        )
    )
    pump: PumpParams = field(default_factory=PumpParams)
    vibration: VibrationParams = field(default_factory=VibrationParams)
    hx: HxParams = field(default_factory=HxParams)
    ambient: AmbientParams = field(default_factory=AmbientParams)
    valves: ValveSet = field(default_factory=ValveSet)
    loops: LoopSet = field(default_factory=LoopSet)
    instruments: InstrumentParams = field(default_factory=InstrumentParams)
    esd: EsdParams = field(default_factory=EsdParams)


# --- validation ---------------------------------------------------------------------------------

_POSITIVE_OK_ZERO = {
    "cv",
    "td",
    "stiction_s",
    "stiction_j",
    "gas_drift_sigma",
    "severe_rate_per_day",
    "water_cut_growth_per_mmbbl",
    "gor_rise_per_mmbbl",
    "fouling_rate_k_per_kw_day",
    "beat_depth",
    "air_diurnal_c",
    "sea_diurnal_c",
    "air_seasonal_c",
    "sea_seasonal_c",
    "weather_sigma_c",
    "sea_weather_sigma_c",
    "heat_loss_k",
    "flash_cooling_c",
    "broadband_mm_s",
    "amp_1x_mm_s",
    "amp_2x_mm_s",
    "amp_vane_mm_s",
    "amp_bearing_mm_s",
    "decline_time_factor",
    "arps_b",
    "arps_di_per_year",
    "water_cut_initial",
    "initial_level_pct",
    "initial_interface_pct",
    "water_in_oil",
    "suction_static_psi",
    "low_level_trip_pct",
    "out",
    "sp",
    "gas_header_psig",
    "export_static_psig",
    "export_line_dp_psi",
    "initial_pressure_psig",
    "interface_sp_pct",
    "accuracy_pct",
    "comm_timeout_s",
}
_SIGNED = {"air_mean_c", "sea_mean_c", "temperature_c"}
_FRACTIONS = {
    "water_cut_initial",
    "water_cut_max",
    "water_in_oil",
    "holdup_min",
    "holdup_max",
    "beat_depth",
    "heat_loss_k",
}
_PERCENT = {
    "initial_level_pct",
    "initial_interface_pct",
    "interface_sp_pct",
    "design_opening_pct",
    "out",
    "low_level_trip_pct",
    "stiction_s",
    "stiction_j",
}
_CHOICES: dict[str, tuple[str, ...]] = {"characteristic": ("equal", "linear")}


def _check_number(path: str, name: str, value: Any, kind: type) -> tuple[Any, str | None]:
    if kind is bool:
        if isinstance(value, bool):
            return value, None
        return None, f"must be true or false (got {value!r})"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"must be a number (got {value!r})"
    if kind is int and not float(value).is_integer():
        return None, f"must be an integer (got {value!r})"
    v = float(value)
    if not math.isfinite(v):
        return None, f"must be finite (got {value!r})"
    if name in _SIGNED:
        pass
    elif name in _POSITIVE_OK_ZERO:
        if v < 0:
            return None, f"must be >= 0 (got {value!r})"
    elif v <= 0:
        return None, f"must be > 0 (got {value!r})"
    if name in _FRACTIONS and v > 1:
        return None, f"must be <= 1 (got {value!r})"
    if name in _PERCENT and v > 100:
        return None, f"must be <= 100 (got {value!r})"
    if name == "mode" and v not in (0, 1):
        return None, f"must be 0 (MAN) or 1 (AUTO) (got {value!r})"
    return (int(v) if kind is int else v), None


def _build(cls: type[Any], base: Any, mapping: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    if not isinstance(mapping, Mapping):
        problems.append((path or "process", f"must be a mapping (got {mapping!r})"))
        return base
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes: dict[str, Any] = {}
    for key, value in mapping.items():
        sub = f"{path}.{key}" if path else str(key)
        if key not in names:
            problems.append((sub, f"unknown key; valid keys are {', '.join(names)} (got {key!r})"))
            continue
        kind = hints[key]
        current = getattr(base, key)
        if dataclasses.is_dataclass(kind):
            changes[key] = _build(typing.cast("type[Any]", kind), current, value, sub, problems)
        elif kind is str:
            choices = _CHOICES.get(key, ())
            if not isinstance(value, str) or (choices and value not in choices):
                problems.append((sub, f"must be one of {', '.join(choices)} (got {value!r})"))
            else:
                changes[key] = value
        else:
            v, err = _check_number(sub, key, value, kind)
            if err is not None:
                problems.append((sub, err))
            else:
                changes[key] = v
    try:
        return dataclasses.replace(base, **changes)
    except (TypeError, ValueError) as exc:  # pragma: no cover - fields are validated above
        problems.append((path or "process", str(exc)))
        return base


def _cross_checks(p: PlantParams, problems: list[tuple[str, str]]) -> None:
    w = p.well
    if w.water_cut_initial >= w.water_cut_max:
        problems.append(
            (
                "well.water_cut_initial",
                f"must be < well.water_cut_max (got {w.water_cut_initial} >= {w.water_cut_max})",
            )
        )
    s = p.slugs
    if s.length_min_d > s.length_max_d:
        problems.append(("slugs.length_min_d", f"must be <= slugs.length_max_d (got {s.length_min_d})"))
    if s.holdup_min > s.holdup_max:
        problems.append(("slugs.holdup_min", f"must be <= slugs.holdup_max (got {s.holdup_min})"))
    if s.severe_cycles_min > s.severe_cycles_max:
        problems.append(
            ("slugs.severe_cycles_min", f"must be <= slugs.severe_cycles_max (got {s.severe_cycles_min})")
        )
    for name in ("v100", "v200", "v300"):
        v: VesselParams = getattr(p, name)
        if v.gas_header_psig >= v.initial_pressure_psig:
            problems.append(
                (
                    f"{name}.gas_header_psig",
                    f"must be below {name}.initial_pressure_psig (got {v.gas_header_psig})",
                )
            )
        if v.initial_interface_pct >= v.initial_level_pct:
            problems.append(
                (
                    f"{name}.initial_interface_pct",
                    f"must be below {name}.initial_level_pct (got {v.initial_interface_pct})",
                )
            )
    vib = p.vibration
    if not vib.zone_ab < vib.zone_bc < vib.zone_cd:
        problems.append(
            (
                "vibration.zone_ab",
                "zone boundaries must increase A/B < B/C < C/D "
                f"(got {vib.zone_ab}, {vib.zone_bc}, {vib.zone_cd})",
            )
        )
    for loop in (f.name for f in dataclasses.fields(LoopSet)):
        lp: LoopParams = getattr(p.loops, loop)
        if lp.ti < 1:
            problems.append((f"loops.{loop}.ti", f"must be >= 1 s (got {lp.ti})"))
    if p.instruments.bits < 8 or p.instruments.bits > 24:
        problems.append(("instruments.bits", f"must be between 8 and 24 (got {p.instruments.bits})"))


def params_from_mapping(mapping: Mapping[str, Any] | None) -> PlantParams:
    """Defaults overridden by the tag map's ``process:`` section; raises :class:`ParamError`."""
    problems: list[tuple[str, str]] = []
    params: PlantParams = _build(PlantParams, PlantParams(), mapping or {}, "", problems)
    if not problems:
        _cross_checks(params, problems)
    if problems:
        raise ParamError(problems)
    return params
