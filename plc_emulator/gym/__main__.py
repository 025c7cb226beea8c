"""Run the example agent on a plant and print one line per N steps and a summary.

    .venv/bin/python -m plc_emulator.gym tag_maps/plants/cstr.yaml --steps 300
    .venv/bin/python -m plc_emulator.gym tag_maps/separation_train.yaml --modbus 127.0.0.1:5020
"""

from __future__ import annotations

import argparse
import logging
import sys

from plc_emulator.errors import EmulatorError
from plc_emulator.gym.agents import for_task
from plc_emulator.gym.env import make_env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m plc_emulator.gym", description="Run the example agent on a plant.")
    ap.add_argument("source", help="plant file (in process) or, with --modbus, the tag map of a live PLC")
    ap.add_argument("--modbus", metavar="HOST:PORT", help="drive a live plc-emulator run over Modbus")
    ap.add_argument("--task", help="task preset (default: the plant's name): cstr, separation_train")
    ap.add_argument("--steps", type=int, default=300, help="control steps of 1 s (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=int, default=30, help="print every N steps (default 30)")
    ap.add_argument("--free-running", action="store_true",
                    help="over Modbus: follow the PLC's own clock instead of stepping it (runtime.step)")
    a = ap.parse_args(argv)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # our own one-line errors say it
    try:
        env = make_env(a.source, modbus=a.modbus, task=a.task, max_steps=a.steps, lockstep=not a.free_running)
    except (OSError, ValueError, EmulatorError) as exc:
        print(f"plc_emulator.gym: error: {exc}", file=sys.stderr)
        return 2
    try:
        agent = for_task(a.task or env.backend.name)
        obs, info = env.reset(seed=a.seed)
        agent.reset(obs)
        total, done, step = 0.0, False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            total, step, done = total + reward, step + 1, terminated or truncated
            if step % a.every == 0 or done:
                shown = " ".join(f"{n}={v:.2f}" for n, v in zip(env.observe, obs, strict=True))
                print(f"step {step:5d} tick {info['tick']:7d} {shown} reward {reward:.3f}")
        print(f"{'terminated' if terminated else 'done'} after {step} steps, return {total:.2f}")
    except (OSError, ValueError, EmulatorError) as exc:
        print(f"plc_emulator.gym: error: {exc}", file=sys.stderr)
        return 1
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
