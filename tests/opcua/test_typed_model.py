"""Typed information model on the real PLC (default tag map, PlcRuntime): ObjectTypes, the type
definition of every equipment node, controllers' components, transmitters' PV and NE 107 health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, Node, ua

from plc_emulator.engine import status as st
from plc_emulator.engine.catalogue import SignalKind
from plc_emulator.errors import TagMapError
from plc_emulator.opcua.model import (
    EQUIPMENT_TYPES,
    IDENTIFICATION,
    LOOP_PV_SIGNALS,
    DeviceHealth,
    equipment_type,
    health_of,
)
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.signals import lookup
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import TagMap
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

EXPECTED_DEVICE_TYPES = {"SEP-V100": "SeparatorType", "SEP-V200": "SeparatorType", "SEP-V300": "SeparatorType",
                         "PMP-P100": "PumpType", "HX-E100": "HeatExchangerType"}
LOOPS = {"SEP-V100": ("LIC100", "PIC100"), "SEP-V200": ("LIC200", "PIC200"),
         "SEP-V300": ("LIC300", "LIC301", "PIC300"), "HX-E100": ("TIC100",)}


@dataclass
class Real:
    tagmap: TagMap
    plc: PlcRuntime
    adapter: OpcUaAdapter
    ua: Client
    ns: int

    def node(self, ident: str) -> Node:
        return self.ua.get_node(ua.NodeId(ident, self.ns))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real() -> AsyncIterator[Real]:
    tagmap = load(str(DEFAULT_TAGMAP))
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0)) as plc,
                OpcUaAdapter(tagmap, plc) as adapter,
                Client(adapter.endpoint, timeout=10) as client):
        ns = await client.get_namespace_index(tagmap.opcua.namespace_uri)
        yield Real(tagmap=tagmap, plc=plc, adapter=adapter, ua=client, ns=ns)


async def _type_name(node: Node) -> str:
    tdef = await node.read_type_definition()
    assert tdef is not None
    return (await Node(node.session, tdef).read_browse_name()).Name


async def _components(node: Node) -> dict[str, ua.NodeId]:
    refs = await node.get_references(refs=ua.ObjectIds.HasComponent, direction=ua.BrowseDirection.Forward)
    return {r.BrowseName.Name: r.NodeId for r in refs}


async def test_types_are_subtypes_of_base_object_type(real: Real) -> None:
    base = real.ua.get_node(ua.NodeId(ua.ObjectIds.BaseObjectType))
    equipment = real.node("EquipmentType")
    assert (await equipment.get_parent()) is not None
    subs = await base.get_children(refs=ua.ObjectIds.HasSubtype)
    assert equipment.nodeid in [s.nodeid for s in subs]
    names = {(await s.read_browse_name()).Name
             for s in await equipment.get_children(refs=ua.ObjectIds.HasSubtype)}
    assert names == set(EQUIPMENT_TYPES)
    assert await real.node("EquipmentType").read_node_class() == ua.NodeClass.ObjectType
    pid_decl = await _components(real.node("PidControllerType"))
    assert set(pid_decl) == {"SP", "PV", "OUT", "MODE", "KC", "TI", "VALVE"}
    assert set(await _components(real.node("TransmitterType"))) == {"PV", "DeviceHealth"}


async def test_every_equipment_node_has_its_type(real: Real) -> None:
    plant = real.tagmap.plant
    seen = {}
    for device in real.tagmap.devices:
        node = real.node(f"{plant}.{device.name}")
        name = await _type_name(node)
        seen[device.name] = name
        if equipment_type(device) is None:
            assert name == "BaseObjectType", device.name
            continue
        for prop in IDENTIFICATION:
            value = await (await node.get_child(f"{real.ns}:{prop}")).read_value()
            assert isinstance(value, str), (device.name, prop)
            assert value, (device.name, prop)
        assert await (await node.get_child(f"{real.ns}:SerialNumber")).read_value() == device.name
        # the tags are still components with their old NodeIds
        comps = await _components(node)
        for tag in device.tags:
            assert comps[tag.opcua.browse_name] == ua.NodeId(tag.opcua.node_id, real.ns)
    assert {k: v for k, v in seen.items() if v != "BaseObjectType"} == EXPECTED_DEVICE_TYPES


async def test_controllers_expose_their_roles(real: Real) -> None:
    plant = real.tagmap.plant
    for device, loops in LOOPS.items():
        dev_comps = await _components(real.node(f"{plant}.{device}"))
        for loop in loops:
            assert loop in dev_comps, (device, loop)
            ctrl = real.node(dev_comps[loop].Identifier)
            assert await _type_name(ctrl) == "PidControllerType"
            comps = await _components(ctrl)
            for role in ("SP", "OUT", "MODE", "KC", "TI"):
                assert comps[f"{loop}_{role}"] == ua.NodeId(f"{device}.{loop}_{role}", real.ns), (loop, role)
            # the controller references the served variable: same value as the tag
            sp = real.ua.get_node(comps[f"{loop}_SP"])
            assert (await sp.get_parent()).nodeid == ua.NodeId(f"{plant}.{device}", real.ns)
            pv_ids = {ua.NodeId(t.opcua.node_id, real.ns) for t in real.tagmap.tags
                      if t.name == f"{loop}_PV" or t.signal == LOOP_PV_SIGNALS.get(loop)}
            pv = [n for n in comps.values() if n in pv_ids]
            if loop != "LIC200":  # the default map has no tag for SEP-V200's liquid level
                assert len(pv) == 1, (loop, comps)
            else:
                assert not pv


async def test_transmitters_pv_and_health(real: Real) -> None:
    plant = real.tagmap.plant
    measured = [t for t in real.tagmap.tags
                if (s := lookup(t.signal)) is not None and s.kind is SignalKind.MEASURED]
    assert len(measured) == 12
    for tag in measured:
        tt = real.node(f"{plant}.{tag.device}.{tag.name}_TT")
        assert await _type_name(tt) == "TransmitterType"
        comps = await _components(tt)
        assert comps[tag.opcua.browse_name] == ua.NodeId(tag.opcua.node_id, real.ns)
        pv = real.ua.get_node(comps[tag.opcua.browse_name])
        rng = await (await pv.get_child("0:EURange")).read_value()
        assert (rng.Low, rng.High) == tag.range
        health = real.ua.get_node(comps["DeviceHealth"])
        dtype = real.ua.get_node(await health.read_data_type())
        assert (await dtype.read_browse_name()).Name == "DeviceHealthEnumeration"
        states = await (await dtype.get_child("0:EnumStrings")).read_value()
        assert [s.Text for s in states] == [h.name for h in DeviceHealth]
        fields = (await dtype.read_data_type_definition()).Fields
        assert [(f.Name, f.Value) for f in fields] == [(h.name, h.value) for h in DeviceHealth]
    # a failed sensor: the PV goes Bad, its transmitter's health FAILURE with the same scan
    health = real.node(f"{plant}.SEP-V100.inlet_pressure_TT.DeviceHealth")
    pv = real.node("SEP-V100.inlet_pressure")
    assert await health.read_value() == DeviceHealth.NORMAL
    sim = real.node(f"{plant}.Simulation")
    await sim.call_method(ua.NodeId(f"{plant}.Simulation.InjectFault", real.ns), "SEP-V100.inlet_pressure",
                          "fail", "{}")
    target = real.plc.step(2)
    async with asyncio.timeout(30):
        await real.plc.wait_tick(target)
    deadline = time.monotonic() + 10
    while real.adapter.publisher.last_tick != target:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    pv_dv = await pv.read_data_value(raise_on_bad_status=False)
    assert pv_dv.StatusCode is not None
    assert not pv_dv.StatusCode.is_good()
    assert await health.read_value() == int(health_of(pv_dv.StatusCode.value)) == DeviceHealth.FAILURE


async def test_health_mapping() -> None:  # the module is asyncio-marked
    assert health_of(st.GOOD) is DeviceHealth.NORMAL
    assert health_of(st.GOOD | st.LIMIT_HIGH) is DeviceHealth.NORMAL
    assert health_of(st.BAD_SENSOR_FAILURE) is DeviceHealth.FAILURE
    assert health_of(st.BAD_NO_COMMUNICATION) is DeviceHealth.FAILURE
    assert health_of(st.BAD_OUT_OF_SERVICE) is DeviceHealth.CHECK_FUNCTION
    assert health_of(st.UNCERTAIN_EU_EXCEEDED | st.LIMIT_HIGH) is DeviceHealth.OFF_SPEC
    assert health_of(st.UNCERTAIN_LAST_USABLE) is DeviceHealth.MAINTENANCE_REQUIRED


async def test_identification_from_the_tag_map(tmp_path: Path) -> None:
    """``identification:`` on a device is served on its equipment object; unset fields keep the
    defaults; a bad field is a load error with file:line:col."""
    text = DEFAULT_TAGMAP.read_text(encoding="utf-8")
    anchor = '    description: "HP separator, first stage (three-phase)"\n'
    assert anchor in text
    ident = ('    identification: {manufacturer: "ACME Vessels", serial_number: "V100-2019-007",'
             ' hardware_revision: "B"}\n')
    good = tmp_path / "plant.yaml"
    good.write_text(text.replace(anchor, anchor + ident), encoding="utf-8")
    tm = load(str(good))
    async with PlcRuntime(tm, RuntimeConfig(paused=True, speed=0.0)) as plc:
        adapter = OpcUaAdapter(tm, plc)
        await adapter.build()
        ns = adapter.namespace_index
        aspace = adapter.server.iserver.aspace

        def prop(device: str, name: str) -> object:
            attr = aspace[ua.NodeId(f"{tm.plant}.{device}.{name}", ns)].attributes[ua.AttributeIds.Value]
            assert attr.value is not None
            assert attr.value.Value is not None
            return attr.value.Value.Value

        assert prop("SEP-V100", "Manufacturer") == "ACME Vessels"
        assert prop("SEP-V100", "SerialNumber") == "V100-2019-007"
        assert prop("SEP-V100", "HardwareRevision") == "B"
        assert prop("SEP-V100", "Model") == "Separator"
        assert prop("SEP-V200", "Manufacturer") == "plc-emulator"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(anchor, anchor + "    identification: {serial: 7}\n"), encoding="utf-8")
    with pytest.raises(TagMapError) as info:
        load(str(bad))
    line = text[:text.index(anchor)].count("\n") + 2  # 1-based line after the anchor
    assert f"{bad}:{line}:22: devices.SEP-V100.identification.serial: unknown key" in str(info.value)
    assert "serial" in str(info.value)
