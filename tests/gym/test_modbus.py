"""The same agent against a live ``plc-emulator run`` over Modbus: the closed loop over the wire."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from plc_emulator.gym import PlantEnv, for_task, make_env
from plc_emulator.gym.modbus import ModbusBackend, ModbusBackendError
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP, ROOT, free_port
from tests.runtime._proc import CLI, Proc, ready_parts

pytestmark = pytest.mark.integration
CSTR_MAP = ROOT / "tag_maps" / "cstr.yaml"
CSTR_PLANT = ROOT / "tag_maps" / "plants" / "cstr.yaml"


def test_level_agent_closes_the_loop_over_modbus_in_lockstep(tmp_path: Path) -> None:
    """LIC100 in MAN over Modbus; the agent holds the V100 oil level; the PLC advances exactly 10 ticks
    per step; every action the agent took is in the PLC's journal as a Modbus write at its tick."""
    journal = tmp_path / "j.jsonl"
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
                 "--paused", "--modbus-access", "engineer", "--journal", str(journal),
                 "--data-dir", str(tmp_path / "data"), "--log-level", "critical"])
    try:
        address = ready_parts(proc.wait_line("ready ", 60))["modbus"]
        env = make_env(DEFAULT_TAGMAP, modbus=address, max_steps=40)  # the one-line switch
        try:
            obs, info = env.reset(seed=1)
            assert info["tick"] == 1
            assert info["seed"] is None
            assert info["values"]["LIC100.mode"] == 0.0  # the set-up write reached the PLC
            agent = for_task("separation_train")
            agent.reset(obs)
            actions, ticks, levels, truncated = [], [], [], False
            while not truncated:
                action = agent.act(obs)
                obs, _, terminated, truncated, info = env.step(action)
                assert not terminated
                actions.append(float(action[0]))
                ticks.append(info["tick"])
                levels.append(float(obs[0]))
        finally:
            env.close()
        check = ModbusBackend(DEFAULT_TAGMAP, address, lockstep=False)
        try:
            assert check.read(["runtime.paused"]).tolist() == [0.0]  # close() handed the PLC back running
        finally:
            check.close()
        assert ticks == list(range(11, 402, 10))
        assert max(abs(x - 50.0) for x in levels) < 1.5
        assert len(set(actions)) > 10  # the agent really moved the valve
        rc = proc.terminate(60)
    finally:
        proc.kill()
    assert rc == 0, proc.stderr[-5:]
    writes = [json.loads(x) for x in journal.read_text().splitlines()[1:-1]]
    outs = [(w["tick"], w["value"]) for w in writes if w["target"] == "LIC100.out"]
    assert [t for t, _ in outs] == [t - 9 for t in ticks]  # applied at the first tick of each step
    np.testing.assert_allclose([v for _, v in outs], actions, rtol=1e-6)  # float32 on the wire
    assert {w["source"] for w in writes} == {"modbus"}


def _closed_loop(env: PlantEnv, seed: int) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    agent = for_task("cstr")
    agent.reset(obs)
    seen, done = [obs], False
    while not done:
        obs, _, terminated, truncated, _ = env.step(agent.act(obs))
        seen.append(obs)
        done = terminated or truncated
    assert not terminated
    env.close()
    return np.array(seen)


def test_cstr_agent_over_modbus_matches_the_in_process_loop_exactly(tmp_path: Path) -> None:
    """The CSTR served live from tag_maps/cstr.yaml (TIC-1 in MAN, 1 s scan): the agent holds the unstable
    350 K over the wire, and the lockstep loop is bit for bit the in-process loop on the plant file."""
    proc = Proc([CLI, "run", str(CSTR_MAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
                 "--opcua-port", "0", "--paused", "--modbus-access", "engineer", "--seed", "5",
                 "--data-dir", str(tmp_path / "data"), "--log-level", "critical"])
    try:
        address = ready_parts(proc.wait_line("ready ", 90))["modbus"]
        wire = _closed_loop(make_env(CSTR_MAP, modbus=address, max_steps=120), 5)
        rc = proc.terminate(60)
    finally:
        proc.kill()
    assert rc == 0, proc.stderr[-5:]
    local = _closed_loop(make_env(CSTR_PLANT, dt=load(CSTR_MAP).scan_period, max_steps=120), 5)
    assert wire.shape == (121, 3)
    np.testing.assert_array_equal(wire, local)
    assert np.abs(wire[:, 0] - 350.0).max() < 1.0


def test_modbus_backend_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModbusBackendError, match=r"^cannot connect to the PLC at 127\.0\.0\.1:\d+$"):
        ModbusBackend(DEFAULT_TAGMAP, f"127.0.0.1:{free_port()}")
    with pytest.raises(ValueError, match="modbus address must be HOST:PORT"):
        ModbusBackend(DEFAULT_TAGMAP, "localhost")
    text = DEFAULT_TAGMAP.read_text().replace("signal: runtime.step", "signal: mem.unused_step")
    no_step = tmp_path / "no_step.yaml"
    no_step.write_text(text)
    with pytest.raises(ValueError, match=r"binds no Modbus point for runtime\.step \(lockstep mode needs it\)"):
        ModbusBackend(load(no_step), "127.0.0.1:1")
