"""Residual-based bias / drift / noise detection: the sequential tests, the ``pm.residuals`` section,
and the flag on Modbus and OPC UA from a real runtime."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest

from plc_emulator.alarms import PmConfigError, pm_params_from_mapping
from plc_emulator.alarms.config import alarm_defs
from plc_emulator.alarms.residuals import ResidualBlock
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.catalogue import CATALOGUE, index_of
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP

SIG, INP = "V300.pressure", "P100.suction_pressure"
DT = 10.0


def _params(**extra: object):  # type: ignore[no-untyped-def]
    raw = {"models": {SIG: [INP]}, "noise_signals": [SIG, "V300.water_level"], "learn": "30min",
           "calibrate": "30min", **extra}
    return pm_params_from_mapping({"residuals": raw}).residuals


def _run(fault: str | None, *, start: int = 400, ticks: int = 1400, seed: int = 0) -> tuple[int | None, int | None]:
    """A synthetic plant: suction pressure wanders, vessel pressure = suction - 5 psi + noise
    (0.05 % of span), water level noise. Returns the first tick each test flagged (or None)."""
    rng = np.random.default_rng(seed)
    blk = ResidualBlock(_params(), dt=DT, n=1)
    values = np.zeros((1, len(CATALOGUE)))
    status = np.zeros((1, len(CATALOGUE)), dtype=np.uint32)
    values[0, index_of("P100.status")] = 1.0
    first_res = first_noise = None
    suction = 60.0
    for k in range(1, ticks):
        suction = float(np.clip(suction + rng.normal(0, 0.3), 40, 80))
        noise = 0.075 * (3.0 if fault == "noise" and k >= start else 1.0)
        p = suction - 5.0 + rng.normal(0, noise)
        if fault == "bias" and k >= start:
            p += 0.02 * 150  # 2 % of span
        if fault == "drift" and k >= start:
            p += 0.005 * 150 * (k - start) * DT / 86400.0 * 10  # 5 %/day, to keep the test short
        values[0, index_of(INP)] = suction
        values[0, index_of(SIG)] = p
        values[0, index_of("V300.water_level")] = 40.0 + rng.normal(0, 0.05)
        out = blk.step(values, status, tick=k)
        if first_res is None and out.residual[0, 0]:
            first_res = k
        if first_noise is None and out.noise[0, 0]:
            first_noise = k
    return first_res, first_noise


class TestSequentialTests:
    def test_healthy_stays_quiet(self) -> None:
        for seed in range(3):
            assert _run(None, seed=seed) == (None, None)

    def test_bias_flags_within_minutes(self) -> None:
        res, noise = _run("bias")
        assert res is not None
        assert 400 <= res <= 400 + 80  # h / (z_clip - k) = 12 blocks of 1 min = 72 ticks of 10 s
        assert noise is None

    def test_drift_flags_later(self) -> None:
        res, _ = _run("drift")
        assert res is not None
        assert res > 400 + 80  # a drift needs time to leave the allowance

    def test_noise_increase_flags_noise_test(self) -> None:
        res, noise = _run("noise")
        assert noise is not None
        assert 400 <= noise <= 400 + 90  # the window median turns after half the window, checked per block
        assert res is None

    def test_nothing_before_the_model_is_learned(self) -> None:
        """A bias present from the start is learned into the model: no flag (documented limit)."""
        assert _run("bias", start=1) == (None, None)

    def test_abnormal_running_holds_the_statistics(self) -> None:
        blk = ResidualBlock(_params(), dt=DT, n=1)
        values = np.zeros((1, len(CATALOGUE)))
        status = np.zeros((1, len(CATALOGUE)), dtype=np.uint32)
        values[0, index_of("ESD.active")] = 1.0  # ESD tripped: nothing is learned
        for k in range(1, 600):
            values[0, index_of(INP)] = 50 + k % 7
            values[0, index_of(SIG)] = 45 + k % 7
            blk.step(values, status, tick=k)
        assert not blk._fitted.any()


class TestConfig:
    def test_defaults_and_alarm_ids(self) -> None:
        pm = pm_params_from_mapping({})
        assert [s for s, _ in pm.residuals.models] == [
            "V100.temperature", "V200.temperature", "V300.pressure", "P100.discharge_pressure", "P100.vibration"
        ]
        ids = [d.id for d in alarm_defs(load(DEFAULT_TAGMAP), pm) if d.id.endswith(".residual")]
        assert ids == [f"PM.{s}.residual" for s in pm.residuals.checked]
        assert pm.residuals.checked[-1] == "E100.outlet_temperature"  # noise test only

    def test_every_problem_reported(self) -> None:
        with pytest.raises(PmConfigError) as exc:
            pm_params_from_mapping({"residuals": {
                "models": {"V300.pressure": ["nope.x", "V300.pressure"], "ESD.active": ["P100.speed"]},
                "noise_signals": ["V300.water_level", "V300.water_level"],
                "h": 0, "bogus": 1}})
        problems = dict(exc.value.problems)
        assert "unknown or circular input signal (got 'V300.pressure')" in str(exc.value)
        assert "unknown or circular input signal (got 'nope.x')" in str(exc.value)
        assert problems["pm.residuals.models.ESD.active"] == "must be a measured signal (got 'ESD.active')"
        assert problems["pm.residuals.noise_signals[1]"] == "listed twice (got 'V300.water_level')"
        assert problems["pm.residuals.h"] == "must be > 0 (got 0)"
        assert "pm.residuals.bogus" in problems


@pytest.mark.integration
async def test_residual_flag_on_modbus_and_opcua(tmp_path: Path) -> None:
    """A bias of 5 % of span on SEP-V300 pressure, after the model has learned, raises
    PM.V300.pressure.residual: Modbus discrete input and OPC UA variable both read 1."""
    from asyncua import Client
    from pymodbus.client import AsyncModbusTcpClient

    from plc_emulator.testing import emulator

    text = DEFAULT_TAGMAP.read_text(encoding="utf-8")
    text = re.sub(r"^scan_period: .*$", "scan_period: 1s", text, count=1, flags=re.M)
    text = text.replace("pm:           #", "pm:\n  residuals: {learn: 10min, calibrate: 10min}\n  #", 1)
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    key = "ALARMS.PM_V300_pressure_residual_active"
    async with emulator(path, opcua=True, seed=3) as emu:
        address = emu.tag(key).modbus.address
        async with asyncio.timeout(60):
            await emu.step(1500)  # 25 min: learned and calibrated
            assert emu.value(key) == 0.0
            emu.submit(Command(kind=CommandKind.INJECT_FAULT, target=SIG,
                               params={"kind": "bias", "offset": 7.5}, source="test"))
            for _ in range(30):
                await emu.step(60)
                if emu.value(key) == 1.0:
                    break
            assert emu.value(key) == 1.0
            mb = AsyncModbusTcpClient("127.0.0.1", port=emu.modbus_port, timeout=5)
            await mb.connect()
            try:
                rr = await mb.read_discrete_inputs(address, count=1, device_id=1)
                assert rr.bits[0] is True
            finally:
                mb.close()
            assert emu.opcua_endpoint is not None
            async with Client(emu.opcua_endpoint, timeout=10) as client:
                ns = await client.get_namespace_index(emu.tagmap.opcua.namespace_uri)
                node = client.get_node(f"ns={ns};s={emu.tag(key).opcua.node_id}")
                assert bool(await node.read_value()) is True
