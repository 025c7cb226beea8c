"""A rule-based agent: a PID law on one observed PV against its observed SP, writing one output.

It reads nothing but its observation vector, so the same agent drives the in-process environment and
a live PLC over Modbus. ``for_task`` gives the tuned agent of each task preset: for the CSTR it holds
the open-loop unstable 350 K with TIC-1 in MAN (a deviation doubles every ~15 s without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["PidAgent", "for_task"]


@dataclass(slots=True)
class PidAgent:
    """``out = bias + kp*e + ki*integral(e) + kd*de/dt`` with e = PV - SP (direct acting: a PV above its
    SP raises the output; ``direct=False`` reverses), derivative on a first-order filtered PV,
    output clamped to [lo, hi] with the integral held while clamped (anti-windup)."""

    pv: int  # index of the PV in the observation
    sp: int  # index of the SP
    start: int  # index of the observed output position: the bias at reset (bumpless start)
    kp: float
    ki: float
    kd: float
    dt: float  # seconds per step
    alpha: float = 0.3  # derivative filter: weight of the newest PV
    direct: bool = True
    lo: float = 0.0
    hi: float = 100.0
    _bias: float = field(default=0.0, init=False)
    _integral: float = field(default=0.0, init=False)
    _filtered: float | None = field(default=None, init=False)

    def reset(self, obs: Sequence[float] | npt.NDArray[np.float32]) -> None:
        self._bias, self._integral, self._filtered = float(obs[self.start]), 0.0, None

    def act(self, obs: Sequence[float] | npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        pv, sp = float(obs[self.pv]), float(obs[self.sp])
        sign = 1.0 if self.direct else -1.0
        e = sign * (pv - sp)
        prev = self._filtered
        self._filtered = pv if prev is None else prev + self.alpha * (pv - prev)
        d = 0.0 if prev is None else sign * (self._filtered - prev) / self.dt
        integral = self._integral + self.ki * e * self.dt
        out = self._bias + self.kp * e + integral + self.kd * d
        if self.lo <= out <= self.hi:
            self._integral = integral  # anti-windup: integrate only while not saturated
        return np.array([min(max(out, self.lo), self.hi)], dtype=np.float32)


def for_task(task: str, dt: float = 1.0) -> PidAgent:
    """The agent for a task preset's observation layout (plc_emulator.gym.rewards.TASKS)."""
    if task == "cstr":  # observe: R-1.temperature, TIC-1.sp, TIC-1.valve; act: TIC-1.out (coolant)
        return PidAgent(pv=0, sp=1, start=2, kp=20.0, ki=0.2, kd=60.0, dt=dt)
    if task == "separation_train":  # observe: V100.oil_level, LIC100.sp, LIC100.valve; act: LIC100.out
        return PidAgent(pv=0, sp=1, start=2, kp=3.0, ki=0.01, kd=0.0, dt=dt)
    raise ValueError(f"no agent for task {task!r} (cstr, separation_train)")
