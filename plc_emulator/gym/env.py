"""The Gymnasium environment over a plant: observations are chosen signals, actions are writes.

    env = make_env("tag_maps/plants/cstr.yaml")                                   # in process
    env = make_env("tag_maps/separation_train.yaml", modbus="127.0.0.1:5020")     # a live PLC

One ``step`` writes the action (validated like a client write, :mod:`plc_emulator.gym.points`),
runs ``control_s`` seconds of plant time and reads the observed signals, those the reward needs and
those the set-up writes (``info["values"]``).
Observations are float32, clipped to each signal's range; a NaN reading (failed transmitter, bad
quality) becomes the range's low end and is named in ``info["nan"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plc_emulator.commands import Command
from plc_emulator.gym.backends import Backend, EngineBackend
from plc_emulator.gym.points import OnLimit, action_commands, write_points
from plc_emulator.gym.rewards import REWARDS, TASKS, Task
from plc_emulator.image.writes import validate_write

__all__ = ["PlantEnv", "make_env"]

Obs = npt.NDArray[np.float32]
Act = npt.NDArray[np.float32]


class PlantEnv(gym.Env[Obs, Act]):
    """A plant (any backend) as a Gymnasium environment. See docs/gym.md."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(self, backend: Backend, *, observe: Sequence[str], act: Sequence[str], reward: str,
                 setup: Mapping[str, float] | None = None, control_s: float = 1.0, max_steps: int = 600,
                 on_limit: str = "clip", scaled_actions: bool = False) -> None:
        super().__init__()
        self.backend = backend
        tags = backend.tags
        unknown = [n for n in observe if n not in tags]
        if unknown:
            raise ValueError(f"observed signals not readable: {', '.join(unknown)}")
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r} (choose from {', '.join(sorted(REWARDS))})")
        if not control_s > 0 or max_steps < 1:
            raise ValueError("control_s must be > 0 and max_steps >= 1")
        self.observe = tuple(observe)
        self.points = write_points(tags, act)
        self.on_limit = OnLimit(on_limit)
        self.reward_fn = REWARDS[reward]
        self.pairs, reward_signals = self.reward_fn.signals(tags)
        self.setup: tuple[Command, ...] = tuple(
            validate_write(tags[k], v, source="gym") for k, v in (setup or {}).items())
        self._read = tuple(dict.fromkeys((*self.observe, *reward_signals, *(c.target for c in self.setup))))
        self._ranges = {n: tags[n].range for n in self._read}
        self.ticks = max(1, round(control_s / backend.dt))
        self.max_steps = int(max_steps)
        lo = np.array([tags[n].range[0] for n in self.observe], dtype=np.float32)
        hi = np.array([tags[n].range[1] for n in self.observe], dtype=np.float32)
        self._low, self._high = lo, hi
        self.observation_space = spaces.Box(lo, hi, dtype=np.float32)
        # EU write limits, or [-1, 1] mapped linearly onto them (what RL libraries expect)
        self._act_lo = np.array([p.low for p in self.points], dtype=np.float64)
        self._act_hi = np.array([p.high for p in self.points], dtype=np.float64)
        self.scaled = bool(scaled_actions)
        n_act = len(self.points)
        self.action_space = (spaces.Box(-1.0, 1.0, shape=(n_act,), dtype=np.float32) if self.scaled else
                             spaces.Box(self._act_lo.astype(np.float32), self._act_hi.astype(np.float32),
                                        dtype=np.float32))
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        plant_seed = int(self.np_random.integers(0, 2**31 - 1)) if seed is None else int(seed)
        self.backend.reset(plant_seed)
        self.backend.write(self.setup)
        tick = self.backend.advance(1)  # the set-up writes apply at this tick
        self._steps = 0
        obs, _, info = self._observe()
        return obs, {**info, "tick": tick, "seed": plant_seed if self.backend.seeded else None}

    def step(self, action: Act) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64).ravel()
        if self.scaled and a.shape == self._act_lo.shape:
            a = self._act_lo + (a + 1.0) / 2.0 * (self._act_hi - self._act_lo)
        cmds, clipped = action_commands(self.points, a.tolist(), self.on_limit)
        self.backend.write(cmds)
        tick = self.backend.advance(self.ticks)
        self._steps += 1
        obs, values, info = self._observe()
        reward, terminated = self.reward_fn(self.pairs, values, self._ranges)
        truncated = self._steps >= self.max_steps and not terminated
        return obs, float(reward), bool(terminated), bool(truncated), {**info, "tick": tick, "clipped": clipped}

    def close(self) -> None:
        self.backend.close()
        super().close()

    def _observe(self) -> tuple[Obs, dict[str, float], dict[str, Any]]:
        raw = self.backend.read(self._read)
        values = dict(zip(self._read, (float(v) for v in raw), strict=True))
        nan = [n for n in self.observe if not np.isfinite(values[n])]
        raw_obs = np.array([values[n] for n in self.observe], dtype=np.float64)
        obs: Obs = np.clip(np.where(np.isfinite(raw_obs), raw_obs, self._low), self._low, self._high).astype(np.float32)
        return obs, values, {"values": values, "nan": nan}


def make_env(source: str | Path, *, modbus: str | None = None, task: str | None = None,
             observe: Sequence[str] | None = None, act: Sequence[str] | None = None, reward: str | None = None,
             setup: Mapping[str, float] | None = None, dt: float = 0.1, lockstep: bool = True,
             **kwargs: Any) -> PlantEnv:
    """An environment over a plant file (in process) or, with ``modbus="HOST:PORT"``, over the tag map
    ``source`` of a live PLC. ``task`` (default: the plant's name) fills in what is not given."""
    backend: Backend
    if modbus is None:
        backend = EngineBackend(source, dt=dt)
    else:
        from plc_emulator.gym.modbus import ModbusBackend

        backend = ModbusBackend(source, modbus, lockstep=lockstep)
    try:
        name = task or backend.name
        preset = TASKS.get(name)
        if preset is None:
            if observe is None or act is None or reward is None:
                raise ValueError(f"no task preset {name!r} (choose from {', '.join(sorted(TASKS))}, "
                                 "or give observe, act and reward)")
            preset = Task(observe=(), act=(), reward="")
        return PlantEnv(backend, observe=preset.observe if observe is None else observe,
                        act=preset.act if act is None else act, reward=reward or preset.reward,
                        setup=preset.setup if setup is None else setup, **kwargs)
    except BaseException:
        backend.close()
        raise
