"""Named distributions for scenario event times and magnitudes, drawn from the run seed.

In a scenario file, ``at:``, a write's ``value:`` and any numeric ``params:`` entry may be a mapping
``{dist: NAME, ...}`` instead of a number (docs/engine.md, "Random events"):

=============  ==========================  =================================================
``dist``       parameters                  draw
=============  ==========================  =================================================
normal         mean, sd (> 0)              mean + sd * N(0, 1)
uniform        low, high (low < high)      U(low, high)
weibull        shape (> 0), scale (> 0)    scale * W(shape)   (a lifetime: ``at`` of a failure)
exponential    mean (> 0)                  Exp(mean)          (a memoryless waiting time)
lognormal      median (> 0), sigma (> 0)   median * exp(sigma * N(0, 1))
=============  ==========================  =================================================

Every distribution also takes ``min`` and ``max``: the draw is clipped to them. In ``at:`` the
location and scale parameters and min/max are durations (``30s``, ``2h``, ``7d`` or seconds) and a
draw below 0 s is clipped to 0. Draws are made once, when the scenario is loaded for a run, from a
generator seeded by (run seed, event index), so a run is reproducible and an added event does not
change the draws of the others. Pure: numpy and the tag map reader only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from yaml.nodes import Node

from plc_emulator.tagmap._reader import Reader, did_you_mean, join, show

__all__ = ["DISTRIBUTIONS", "Dist", "event_rng", "parse_dist"]

# name -> (parameters in order, parameters that are durations in ``at:``)
DISTRIBUTIONS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "normal": (("mean", "sd"), ("mean", "sd")),
    "uniform": (("low", "high"), ("low", "high")),
    "weibull": (("shape", "scale"), ("scale",)),
    "exponential": (("mean",), ("mean",)),
    "lognormal": (("median", "sigma"), ("median",)),
}
_POSITIVE: Final = {"normal": ("sd",), "weibull": ("shape", "scale"), "exponential": ("mean",),
                    "lognormal": ("median", "sigma")}
_STREAM: Final = 0x5CE7A210  # scenario draws: a stream of their own, apart from the engine's noise


@dataclass(frozen=True, slots=True)
class Dist:
    name: str
    params: Mapping[str, float]
    low: float | None = None  # clip
    high: float | None = None

    def draw(self, rng: np.random.Generator) -> float:
        p = self.params
        draws: dict[str, Callable[[], float]] = {
            "normal": lambda: float(rng.normal(p["mean"], p["sd"])),
            "uniform": lambda: float(rng.uniform(p["low"], p["high"])),
            "weibull": lambda: p["scale"] * float(rng.weibull(p["shape"])),
            "exponential": lambda: float(rng.exponential(p["mean"])),
            "lognormal": lambda: float(rng.lognormal(math.log(p["median"]), p["sigma"])),
        }
        v = draws[self.name]()
        if self.low is not None:
            v = max(v, self.low)
        if self.high is not None:
            v = min(v, self.high)
        return v


def event_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of event ``index``'s draws for run seed ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _STREAM, int(index)])))


def parse_dist(r: Reader, node: Node, path: str, *, time: bool = False) -> Dist | None:
    """A ``{dist: NAME, ...}`` mapping -> :class:`Dist`; every problem recorded at its node."""
    pairs = r.pairs(node, path)
    if pairs is None:
        return None
    given = {key: vn for key, _kn, vn in pairs}
    if "dist" not in given:
        r.err(node, path, f"a distribution needs \"dist\": one of {', '.join(DISTRIBUTIONS)}")
        return None
    name = r.text(given["dist"], join(path, "dist"))
    if name is None:
        return None
    if name not in DISTRIBUTIONS:
        r.err(given["dist"], join(path, "dist"), f"must be one of {', '.join(DISTRIBUTIONS)} "
              f"(got {show(given['dist'])}){did_you_mean(name, DISTRIBUTIONS)}")
        return None
    names, durations = DISTRIBUTIONS[name]
    ok = True
    values: dict[str, float] = {}
    for key, vn in given.items():
        if key == "dist":
            continue
        if key not in (*names, "min", "max"):
            r.err(vn, join(path, key), f"unknown parameter for {name}; valid: {', '.join((*names, 'min', 'max'))}")
            ok = False
            continue
        as_time = time and (key in durations or key in ("min", "max"))
        v = r.duration(vn, join(path, key)) if as_time else r.number(vn, join(path, key))
        if v is None:
            ok = False
            continue
        if key in _POSITIVE.get(name, ()) and v <= 0:
            r.err(vn, join(path, key), f"must be > 0 (got {show(vn)})")
            ok = False
            continue
        values[key] = v
    missing = [k for k in names if k not in given]
    if missing:
        r.err(node, path, f"{name} needs {', '.join(missing)}")
        return None
    if not ok:
        return None
    if name == "uniform" and not values["low"] < values["high"]:
        r.err(given["high"], join(path, "high"), f"must be > low (got {show(given['high'])})")
        return None
    lo, hi = values.pop("min", None), values.pop("max", None)
    if lo is not None and hi is not None and lo > hi:
        r.err(given["max"], join(path, "max"), f"must be >= min (got {show(given['max'])})")
        return None
    if time and lo is None:
        lo = 0.0  # an event time is never before the start
    return Dist(name, values, lo, hi)
