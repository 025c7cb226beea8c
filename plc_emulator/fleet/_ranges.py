"""Template ranges (``WELL-{001..500}``), per-RTU random streams and per-RTU parameter values.

Randomness per RTU comes from ``SeedSequence([fleet seed, hash(RTU id)])``, never from an RTU's
position in the file or in a batch, so an RTU keeps its seed and its drawn parameters when other
RTUs are added, removed or reordered. Each drawn parameter has its own child stream (keyed by the
parameter's name), so adding a parameter does not change the draws of the others.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

__all__ = ["DRAWS", "Draw", "IdRange", "ValueSpec", "draw_value", "find_range", "int_range", "rtu_seed"]

RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


@dataclass(frozen=True, slots=True)
class IdRange:
    """``PREFIX{START..END}SUFFIX``: END - START + 1 names, zero-padded when START is (``{001..500}``)."""

    prefix: str
    start: int
    end: int
    width: int
    suffix: str

    def __len__(self) -> int:
        return self.end - self.start + 1

    def names(self) -> list[str]:
        return [f"{self.prefix}{n:0{self.width}d}{self.suffix}" for n in range(self.start, self.end + 1)]


def find_range(text: str) -> IdRange | str | None:
    """The one range in ``text``; None if it has none; a message (str) if it is malformed."""
    found = list(RANGE.finditer(text))
    if not found:
        if "{" in text or "}" in text:
            return "a range is written {FIRST..LAST} with two whole numbers, e.g. WELL-{001..500}"
        return None
    if len(found) > 1:
        return "only one {FIRST..LAST} range per name"
    m = found[0]
    a, b = m.group(1), m.group(2)
    start, end = int(a), int(b)
    if end < start:
        return f"range {{{a}..{b}}} runs backwards (LAST must be >= FIRST)"
    width = len(a) if a.startswith("0") and len(a) > 1 else 0
    if "{" in text[: m.start()] + text[m.end():] or "}" in text[: m.start()] + text[m.end():]:
        return "only one {FIRST..LAST} range per name"
    return IdRange(text[: m.start()], start, end, width, text[m.end():])


def int_range(text: str) -> tuple[int, int] | None:
    """A value that is exactly ``{FIRST..LAST}`` -> (FIRST, LAST); otherwise None."""
    m = RANGE.fullmatch(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


class Draw(StrEnum):
    """How a template parameter varies over its RTUs."""

    UNIFORM = "uniform"  # [low, high]: drawn from the RTU's own stream
    NORMAL = "normal"  # [mean, standard deviation]: drawn
    CHOICE = "choice"  # [a, b, ...]: one drawn
    LINSPACE = "linspace"  # [first, last]: evenly spaced over the template, by position (indexed)
    CYCLE = "cycle"  # [a, b, ...]: position i takes item i mod n (indexed)


DRAWS: dict[Draw, str] = {
    Draw.UNIFORM: "[low, high]",
    Draw.NORMAL: "[mean, standard deviation]",
    Draw.CHOICE: "[value, value, ...]",
    Draw.LINSPACE: "[first, last]",
    Draw.CYCLE: "[value, value, ...]",
}


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """A parameter's value for every RTU of an entry: a constant, or a draw over ``args``."""

    constant: float | None = None
    draw: Draw | None = None
    args: tuple[float, ...] = ()


def _id_entropy(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")


def rtu_seed(fleet_seed: int, rtu_id: str) -> int:
    """The RTU's engine seed: 63 bits of ``SeedSequence([fleet seed, hash(RTU id)])``."""
    state = np.random.SeedSequence([fleet_seed, _id_entropy(rtu_id)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def draw_value(spec: ValueSpec, *, fleet_seed: int, rtu_id: str, parameter: str, index: int, count: int) -> float:
    """The value of one parameter for the RTU at ``index`` of ``count`` in its entry."""
    if spec.draw is None:
        return float(spec.constant if spec.constant is not None else 0.0)
    a = spec.args
    if spec.draw is Draw.LINSPACE:
        return a[0] if count == 1 else a[0] + (a[1] - a[0]) * index / (count - 1)
    if spec.draw is Draw.CYCLE:
        return a[index % len(a)]
    rng = np.random.default_rng(
        np.random.SeedSequence([fleet_seed, _id_entropy(rtu_id), _id_entropy("parameter:" + parameter)]))
    if spec.draw is Draw.UNIFORM:
        return float(rng.uniform(a[0], a[1]))
    if spec.draw is Draw.NORMAL:
        return float(rng.normal(a[0], a[1]))
    return float(_pick(rng, a))


def _pick(rng: np.random.Generator, items: Sequence[float]) -> float:
    return items[int(rng.integers(len(items)))]
