"""The tag map's ``pm:`` section: predictive-maintenance rule parameters as typed frozen objects.

Parsed once when the tag map loads (``TagMap.pm_params``), against the plant's signal catalogue;
the alarm block, the PM rules, OPC UA and ``evaluate`` read the parsed objects. Defaults follow the
plant: the vibration and fouling rules need their signal, the instrument, stiction and residual
rules cover the plant's own instruments and loops.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from plc_emulator.engine.catalogue import LEGACY, Catalogue

__all__ = [
    "DEFAULT_RESIDUAL_MODELS",
    "LOOP_IDS",
    "MEASURED",
    "FoulingParams",
    "InstrumentParams",
    "PmConfigError",
    "PmParams",
    "ResidualParams",
    "StictionParams",
    "Suppression",
    "VibrationParams",
    "pm_params_from_mapping",
    "span_of",
]

# the built-in engine's: the defaults of the dataclasses below (a plant file's come from its catalogue)
MEASURED: Final = LEGACY.measured
LOOP_IDS: Final = LEGACY.loop_ids


class PmConfigError(ValueError):
    """Every problem of a ``pm:`` section: ``(dotted path, message)`` pairs, path from ``pm``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{p}: {m}" for p, m in problems))


@dataclass(frozen=True, slots=True, kw_only=True)
class VibrationParams:
    enabled: bool = True  # False: the plant has no such measured signal (and ``pm.vibration`` names none)
    equipment: str = "P100"
    signal: str = "P100.vibration"
    zones: tuple[float, float, float] = (2.3, 4.5, 7.1)  # A/B, B/C, C/D mm/s, ISO 10816-3 group 1 rigid
    horizon: float = 7 * 86400.0  # s; flag when predicted time to C/D is shorter
    sample: float = 3600.0  # s; one averaged point per sample period feeds the fit
    window: float = 48 * 3600.0  # s; sliding window of the exponential fit
    min_points: int = 12
    min_rise: float = 0.6  # mm/s above the learned baseline before a prediction counts
    persistence: int = 2  # consecutive samples the prediction must hold before the flag rises
    baseline_samples: int = 24  # samples used to learn the healthy baseline phi


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentParams:
    signals: tuple[str, ...] = MEASURED
    flatline_window: float = 300.0  # s without any change beyond tol (Good quality) -> frozen
    flatline_tol: float = 1e-7  # fraction of span
    spike: float = 0.1  # fraction of span: one-sample excursion that comes straight back
    roc: float = 0.2  # fraction of span per second between consecutive samples
    hold: float = 600.0  # s an implausibility flag is held after the last violation


@dataclass(frozen=True, slots=True, kw_only=True)
class StictionParams:
    loops: tuple[str, ...] = LOOP_IDS
    band: float = 3.0  # % OP travelled while the valve stays still
    move: float = 0.05  # % valve travel per sample that counts as "moved"
    hold: float = 3600.0  # s the flag is held after the last stuck episode


@dataclass(frozen=True, slots=True, kw_only=True)
class FoulingParams:
    enabled: bool = True  # False: the plant has no such signal (and ``pm.fouling`` names none)
    equipment: str = "E100"
    signal: str = "E100.ua"
    drop: float = 0.2  # flag when UA falls this fraction below the clean value
    clean: float | None = None  # kW/K; None = learned (highest hourly mean seen)
    sample: float = 3600.0


# analytical redundancy of the default separation train: measured signal <- signals physics ties it to
DEFAULT_RESIDUAL_MODELS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    # one crude stream: the HP and LP outlet temperatures follow the cooler inlet
    ("V100.temperature", ("E100.inlet_temperature",)),
    ("V200.temperature", ("E100.inlet_temperature",)),
    ("V300.pressure", ("P100.suction_pressure",)),  # vessel pressure + static head = pump suction
    # pump curve: discharge = suction + a n^2 + b n Q + c Q^2 (terms in n, Q and their squares)
    ("P100.discharge_pressure",
     ("P100.suction_pressure", "P100.speed", "P100.speed^2", "P100.oil_flow", "P100.oil_flow^2")),
    # the overall vibration RMS is the energy of its spectrum components
    ("P100.vibration", ("P100.vib_1x^2", "P100.vib_2x^2", "P100.vib_vane^2", "P100.vib_bearing^2")),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResidualParams:
    models: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_RESIDUAL_MODELS
    # noise test on the model residual where there is a model, else on the signal's own differences
    noise_signals: tuple[str, ...] = ("V100.temperature", "V200.temperature", "P100.discharge_pressure",
                                      "P100.vibration", "E100.outlet_temperature")
    gate: tuple[tuple[str, float], ...] = (("ESD.active", 0.0), ("P100.status", 1.0))  # normal running
    learn: float = 7200.0  # s of normal running to fit each model
    calibrate: float = 7200.0  # s of normal running to learn the residual's spread
    block: float = 60.0  # s per block mean fed to the CUSUM
    k: float = 1.5  # CUSUM allowance, in block standard deviations (slow model error stays below it)
    h: float = 40.0  # CUSUM threshold
    z_clip: float = 5.0  # block z-scores are clipped to +/- this before the CUSUM
    min_sd: float = 1e-3  # floor of the learned block spread, fraction of span
    noise_window: float = 600.0  # s
    noise_ratio: float = 5.5  # window / learned variance of first differences (median-based)
    hold: float = 600.0  # s a flag is held after the last violation

    @property
    def checked(self) -> tuple[str, ...]:
        """Signals with a residual flag: the modelled ones, then those with a noise test only."""
        modelled = tuple(sig for sig, _ in self.models)
        return (*modelled, *(s for s in self.noise_signals if s not in modelled))


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    alarms: tuple[str, ...]  # alarm ids suppressed by design ...
    signal: str  # ... while this engine signal ...
    not_equal: float  # ... is not equal to this value (e.g. P100.status != RUNNING)


@dataclass(frozen=True, slots=True, kw_only=True)
class PmParams:
    vibration: VibrationParams = VibrationParams()
    instruments: InstrumentParams = InstrumentParams()
    stiction: StictionParams = StictionParams()
    fouling: FoulingParams = FoulingParams()
    residuals: ResidualParams = ResidualParams()
    suppression: tuple[Suppression, ...] = ()


_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(ms|s|min|m|h|d)?\s*$")
_SCALE: Final = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class _Reader:
    """Collects every problem instead of stopping at the first; names are checked against ``cat``."""

    def __init__(self, cat: Catalogue) -> None:
        self.problems: list[tuple[str, str]] = []
        self.cat = cat
        self.measured = cat.measured
        # loops whose output and valve position the stiction rule can compare
        self.loops = tuple(lp for lp in cat.loop_ids if f"{lp}.out" in cat and f"{lp}.valve" in cat)

    def section(self, raw: Mapping[str, Any], key: str, known: Sequence[str]) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problems.append((f"pm.{key}", f"must be a mapping (got {value!r})"))
            return {}
        for k in value:
            if k not in known:
                self.problems.append(
                    (f"pm.{key}.{k}", f"unknown key (valid: {', '.join(known)}) (got {k!r})")
                )
        return value

    def number(
        self,
        sec: Mapping[str, Any],
        path: str,
        key: str,
        default: float,
        *,
        lo: float = 0.0,
        strict: bool = True,
        duration: bool = False,
        hi: float = math.inf,
    ) -> float:
        if key not in sec:
            return default
        raw = sec[key]
        value: float | None = None
        if isinstance(raw, bool):
            value = None
        elif isinstance(raw, int | float):
            value = float(raw)
        elif isinstance(raw, str) and duration:
            m = _DUR.match(raw)
            value = float(m.group(1)) * _SCALE[m.group(2)] if m else None
        if value is None or not math.isfinite(value):
            what = "a duration (e.g. 30s, 5min, 2h, 7d)" if duration else "a number"
            self.problems.append((f"{path}.{key}", f"must be {what} (got {raw!r})"))
            return default
        if (value <= lo if strict else value < lo) or value > hi:
            rule = f"> {lo:g}" if strict else f">= {lo:g}"
            rule += f" and <= {hi:g}" if hi != math.inf else ""
            self.problems.append((f"{path}.{key}", f"must be {rule} (got {raw!r})"))
            return default
        return value

    def names(
        self, sec: Mapping[str, Any], path: str, key: str, default: tuple[str, ...], valid: Sequence[str]
    ) -> tuple[str, ...]:
        if key not in sec:
            return default
        raw = sec[key]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            self.problems.append((f"{path}.{key}", f"must be a list of names (got {raw!r})"))
            return default
        for i, name in enumerate(raw):
            if name not in valid:
                self.problems.append(
                    (f"{path}.{key}[{i}]", f"unknown name (valid: {', '.join(valid)}) (got {name!r})")
                )
        return tuple(x for x in raw if x in valid)


_KNOWN: Final = {
    "vibration": (
        "signal",
        "zones",
        "horizon",
        "sample",
        "window",
        "min_points",
        "min_rise",
        "persistence",
        "baseline_samples",
    ),
    "instruments": ("signals", "flatline_window", "flatline_tol", "spike", "roc", "hold"),
    "stiction": ("loops", "band", "move", "hold"),
    "fouling": ("signal", "drop", "clean", "sample"),
    "residuals": ("models", "noise_signals", "learn", "calibrate", "block", "k", "h", "z_clip", "min_sd",
                  "noise_window", "noise_ratio", "hold"),
}


_VD: Final = VibrationParams()
_ID: Final = InstrumentParams()
_SD: Final = StictionParams()
_FD: Final = FoulingParams()
_RD: Final = ResidualParams()


def _default_models(cat: Catalogue) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The default residual models whose signals the plant has."""
    return tuple((sig, ins) for sig, ins in _RD.models
                 if sig in cat.measured and all(x.removesuffix("^2") in cat for x in ins))


def _residual_models(r: _Reader, raw: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if "models" not in raw:
        return _default_models(r.cat)
    models = raw["models"]
    if not isinstance(models, Mapping):
        r.problems.append(("pm.residuals.models", f"must be a mapping signal: [inputs] (got {models!r})"))
        return _default_models(r.cat)
    out: list[tuple[str, tuple[str, ...]]] = []
    for sig, ins in models.items():
        path = f"pm.residuals.models.{sig}"
        if sig not in r.measured:
            r.problems.append((path, f"must be a measured signal (got {sig!r})"))
            continue
        if not isinstance(ins, list) or not ins or not all(isinstance(x, str) for x in ins):
            r.problems.append((path, f"must be a non-empty list of input signals (got {ins!r})"))
            continue
        bad = [x for x in ins if x.removesuffix("^2") not in r.cat or x.removesuffix("^2") == sig]
        for x in bad:
            r.problems.append((path, f"unknown or circular input signal (got {x!r})"))
        if not bad:
            out.append((str(sig), tuple(ins)))
    return tuple(out)


def _residuals(r: _Reader, raw: Mapping[str, Any]) -> ResidualParams:
    sec = r.section(raw, "residuals", _KNOWN["residuals"])
    rp = "pm.residuals"
    models = _residual_models(r, sec)
    noise_default = tuple(s for s in _RD.noise_signals if s in r.measured)
    noise_signals = r.names(sec, rp, "noise_signals", noise_default, r.measured)
    for i, sig in enumerate(noise_signals):
        if sig in noise_signals[:i]:
            r.problems.append((f"{rp}.noise_signals[{i}]", f"listed twice (got {sig!r})"))
    return ResidualParams(
        models=models,
        noise_signals=noise_signals,
        gate=tuple((s, v) for s, v in _RD.gate if s in r.cat),
        learn=r.number(sec, rp, "learn", _RD.learn, duration=True),
        calibrate=r.number(sec, rp, "calibrate", _RD.calibrate, duration=True),
        block=r.number(sec, rp, "block", _RD.block, duration=True),
        k=r.number(sec, rp, "k", _RD.k, strict=False),
        h=r.number(sec, rp, "h", _RD.h),
        z_clip=r.number(sec, rp, "z_clip", _RD.z_clip),
        min_sd=r.number(sec, rp, "min_sd", _RD.min_sd, hi=1.0),
        noise_window=r.number(sec, rp, "noise_window", _RD.noise_window, duration=True),
        noise_ratio=r.number(sec, rp, "noise_ratio", _RD.noise_ratio, lo=1.0),
        hold=r.number(sec, rp, "hold", _RD.hold, duration=True, strict=False),
    )


def pm_params_from_mapping(raw: Mapping[str, Any] | None, catalogue: Catalogue = LEGACY) -> PmParams:
    """Validate the tag map's ``pm:`` mapping against the plant's ``catalogue``; raise
    :class:`PmConfigError` listing every problem. Defaults apply to the signals the plant has: the
    vibration and fouling rules are off on a plant without their signal, the instrument, stiction and
    residual rules cover its own instruments and loops; a rule written for a missing signal is an error."""
    raw = raw or {}
    r = _Reader(catalogue)
    for key in raw:
        if key not in (*_KNOWN, "suppression", "horizon"):
            r.problems.append(
                (
                    f"pm.{key}",
                    f"unknown key (valid: {', '.join((*_KNOWN, 'suppression', 'horizon'))}) (got {key!r})",
                )
            )
    horizon = r.number(raw, "pm", "horizon", _VD.horizon, duration=True)
    vibration = _vibration(r, raw, horizon)
    i = r.section(raw, "instruments", _KNOWN["instruments"])
    ip = "pm.instruments"
    instruments = InstrumentParams(
        signals=r.names(i, ip, "signals", r.measured, r.measured),
        flatline_window=r.number(i, ip, "flatline_window", _ID.flatline_window, duration=True),
        flatline_tol=r.number(i, ip, "flatline_tol", _ID.flatline_tol, strict=False, hi=0.1),
        spike=r.number(i, ip, "spike", _ID.spike, hi=1.0),
        roc=r.number(i, ip, "roc", _ID.roc),
        hold=r.number(i, ip, "hold", _ID.hold, duration=True, strict=False),
    )
    s = r.section(raw, "stiction", _KNOWN["stiction"])
    sp = "pm.stiction"
    stiction = StictionParams(
        loops=r.names(s, sp, "loops", r.loops, r.loops),
        band=r.number(s, sp, "band", _SD.band, hi=100.0),
        move=r.number(s, sp, "move", _SD.move, hi=100.0),
        hold=r.number(s, sp, "hold", _SD.hold, duration=True, strict=False),
    )
    fouling = _fouling(r, raw)
    residuals = _residuals(r, raw)
    suppression = _suppression(r, raw)
    if r.problems:
        raise PmConfigError(r.problems)
    return PmParams(
        vibration=vibration,
        instruments=instruments,
        stiction=stiction,
        fouling=fouling,
        residuals=residuals,
        suppression=suppression,
    )


def _vibration(r: _Reader, raw: Mapping[str, Any], horizon: float) -> VibrationParams:
    v = r.section(raw, "vibration", _KNOWN["vibration"])
    zones = _VD.zones
    if "zones" in v:
        z = v["zones"]
        if (
            isinstance(z, list)
            and len(z) == 3
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in z)
            and 0 < z[0] < z[1] < z[2]
        ):
            zones = (float(z[0]), float(z[1]), float(z[2]))
        else:
            r.problems.append(
                ("pm.vibration.zones", f"must be three increasing numbers A/B, B/C, C/D in mm/s (got {z!r})")
            )
    vib_signal = str(v.get("signal", _VD.signal))
    enabled = vib_signal in r.measured
    if not enabled and "signal" in v:
        r.problems.append(("pm.vibration.signal", f"must be a measured signal (got {vib_signal!r})"
                           f"{_hint(vib_signal, r.measured)}"))
    vp = "pm.vibration"
    sample = r.number(v, vp, "sample", _VD.sample, duration=True)
    window = r.number(v, vp, "window", _VD.window, duration=True)
    if window < 3 * sample:
        r.problems.append(
            (f"{vp}.window", f"must cover at least 3 samples of {sample:g} s (got {window:g} s)")
        )
    return VibrationParams(
        enabled=enabled,
        signal=vib_signal,
        equipment=vib_signal.split(".", maxsplit=1)[0],
        zones=zones,
        horizon=r.number(v, vp, "horizon", horizon, duration=True),
        sample=sample,
        window=window,
        min_points=int(r.number(v, vp, "min_points", _VD.min_points, lo=3, strict=False)),
        min_rise=r.number(v, vp, "min_rise", _VD.min_rise, strict=False),
        persistence=int(r.number(v, vp, "persistence", _VD.persistence, lo=1, strict=False)),
        baseline_samples=int(r.number(v, vp, "baseline_samples", _VD.baseline_samples, lo=1, strict=False)),
    )


def _hint(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _fouling(r: _Reader, raw: Mapping[str, Any]) -> FoulingParams:
    f = r.section(raw, "fouling", _KNOWN["fouling"])
    fp = "pm.fouling"
    foul_signal = str(f.get("signal", _FD.signal))
    enabled = foul_signal in r.cat
    if not enabled and "signal" in f:
        r.problems.append((f"{fp}.signal", f"unknown signal (got {foul_signal!r}){_hint(foul_signal, r.cat.names)}"))
    clean: float | None = None
    if f.get("clean") is not None:
        clean = r.number(f, fp, "clean", 1.0)
    return FoulingParams(
        enabled=enabled,
        signal=foul_signal,
        equipment=foul_signal.split(".", maxsplit=1)[0],
        drop=r.number(f, fp, "drop", _FD.drop, hi=0.99),
        clean=clean,
        sample=r.number(f, fp, "sample", _FD.sample, duration=True),
    )


def _suppression(r: _Reader, raw: Mapping[str, Any]) -> tuple[Suppression, ...]:
    suppression: list[Suppression] = []
    sup = raw.get("suppression", [])
    if not isinstance(sup, list):
        r.problems.append(("pm.suppression", f"must be a list (got {sup!r})"))
        sup = []
    for n, item in enumerate(sup):
        path = f"pm.suppression[{n}]"
        if not isinstance(item, Mapping):
            r.problems.append((path, f"must be a mapping with alarms, signal, not_equal (got {item!r})"))
            continue
        for k in item:
            if k not in ("alarms", "signal", "not_equal"):
                r.problems.append(
                    (f"{path}.{k}", f"unknown key (valid: alarms, signal, not_equal) (got {k!r})")
                )
        alarms = item.get("alarms")
        if not isinstance(alarms, list) or not alarms or not all(isinstance(a, str) for a in alarms):
            r.problems.append((f"{path}.alarms", f"must be a non-empty list of alarm ids (got {alarms!r})"))
            continue
        sig = item.get("signal")
        if sig not in r.cat:
            r.problems.append((f"{path}.signal", f"unknown signal (got {sig!r})"))
            continue
        ne = item.get("not_equal")
        if not isinstance(ne, int | float) or isinstance(ne, bool):
            r.problems.append((f"{path}.not_equal", f"must be a number (got {ne!r})"))
            continue
        suppression.append(Suppression(alarms=tuple(alarms), signal=str(sig), not_equal=float(ne)))
    return tuple(suppression)


def span_of(signal: str, catalogue: Catalogue = LEGACY) -> float:
    lo, hi = catalogue.range_of(signal)
    return float(hi - lo)
