"""Rewards chosen by name, and the task presets (what to observe and write) that go with them.

A reward maps the values of one control step to ``(reward, terminated)``. It names the signals it
needs; the environment reads them every step whether or not they are observed.

* ``cstr``: hold the reactor at its setpoint: ``-|T - SP| / 10 K`` per step (0 is perfect, clipped
  at -10); the episode ends when the high-temperature interlock (``HTI.active``) trips.
* ``separation_train``: level and pressure tracking: minus the mean of ``|PV - SP| / PV span`` over
  the level and pressure loops the backend can read (at least one); ends when ``ESD.active`` trips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["REWARDS", "TASKS", "Reward", "Task"]

Values = Mapping[str, float]
Ranges = Mapping[str, tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Reward:
    name: str
    # (PV, SP) pairs tracked; pairs the backend cannot read are left out, at least one must remain
    pairs: tuple[tuple[str, str], ...]
    trip: str  # a signal whose value > 0.5 ends the episode
    scale: Callable[[tuple[float, float]], float]  # PV range -> the error that costs 1 per step

    def signals(self, readable: Mapping[str, object]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        """The pairs this backend can read, and every signal to read (ValueError if none or no trip)."""
        pairs = tuple(p for p in self.pairs if p[0] in readable and p[1] in readable)
        if not pairs:
            wanted = ", ".join(f"{pv}/{sp}" for pv, sp in self.pairs)
            raise ValueError(f"reward {self.name!r}: none of its PV/SP pairs is readable ({wanted})")
        if self.trip not in readable:
            raise ValueError(f"reward {self.name!r}: needs {self.trip!r}, which is not readable")
        return pairs, (*dict.fromkeys(s for p in pairs for s in p), self.trip)

    def __call__(self, pairs: tuple[tuple[str, str], ...], values: Values, ranges: Ranges) -> tuple[float, bool]:
        cost = sum(abs(values[pv] - values[sp]) / self.scale(ranges[pv]) for pv, sp in pairs) / len(pairs)
        return -min(cost, 10.0), values[self.trip] > 0.5


_LEVELS: Final = (("V100.oil_level", "LIC100.sp"), ("V100.pressure", "PIC100.sp"),
                  ("V200.oil_level", "LIC200.sp"), ("V200.pressure", "PIC200.sp"),
                  ("V300.oil_level", "LIC300.sp"), ("V300.water_level", "LIC301.sp"),
                  ("V300.pressure", "PIC300.sp"))

REWARDS: Final[dict[str, Reward]] = {
    "cstr": Reward("cstr", (("R-1.temperature", "TIC-1.sp"),), "HTI.active", lambda _r: 10.0),
    "separation_train": Reward("separation_train", _LEVELS, "ESD.active", lambda r: r[1] - r[0]),
}


@dataclass(frozen=True, slots=True)
class Task:
    """A ready-made environment for a plant: observed and written signals, set-up writes, reward."""

    observe: tuple[str, ...]
    act: tuple[str, ...]
    reward: str
    setup: Mapping[str, float] = field(default_factory=dict)  # written at every reset


TASKS: Final[dict[str, Task]] = {
    # TIC-1 in MAN: the agent drives the coolant valve itself and must hold the unstable 350 K
    "cstr": Task(observe=("R-1.temperature", "TIC-1.sp", "TIC-1.valve"), act=("TIC-1.out",), reward="cstr",
                 setup={"TIC-1.mode": 0.0}),
    # LIC100 in MAN: the agent holds the SEP-V100 oil level with the level valve
    "separation_train": Task(observe=("V100.oil_level", "LIC100.sp", "LIC100.valve"), act=("LIC100.out",),
                             reward="separation_train", setup={"LIC100.mode": 0.0}),
}
