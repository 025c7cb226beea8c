"""A Gymnasium environment over any plant file, in process or over Modbus (optional extra ``gym``).

    from plc_emulator.gym import make_env, for_task
    env = make_env("tag_maps/plants/cstr.yaml")            # or: make_env(TAGMAP, modbus="127.0.0.1:5020")
    agent = for_task("cstr")
    obs, _ = env.reset(seed=1); agent.reset(obs)
    obs, reward, terminated, truncated, info = env.step(agent.act(obs))

``gymnasium.make("plc_emulator/Plant-v0", source=..., ...)`` takes the same arguments as make_env.
"""

from __future__ import annotations

import gymnasium

from plc_emulator.gym.agents import PidAgent, for_task
from plc_emulator.gym.backends import Backend, EngineBackend
from plc_emulator.gym.env import PlantEnv, make_env
from plc_emulator.gym.rewards import REWARDS, TASKS

__all__ = ["REWARDS", "TASKS", "Backend", "EngineBackend", "PidAgent", "PlantEnv", "for_task", "make_env"]

ENV_ID = "plc_emulator/Plant-v0"
if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="plc_emulator.gym.env:make_env")
