"""The address space as an asyncua client sees it: tree, types, EU/EURange, state names, speed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from asyncua import Client, ua

from plc_emulator.opcua.model import IDENTIFICATION
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.opcua.units import UNECE_NAMESPACE, unit_info
from plc_emulator.tagmap.model import Access, TagKind
from tests.opcua.conftest import Plant
from tests.opcua.fakes import FakePlc, make_tagmap

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TYPEDEF = {TagKind.ANALOG: ua.ObjectIds.AnalogItemType, TagKind.DISCRETE: ua.ObjectIds.TwoStateDiscreteType,
           TagKind.MULTISTATE: ua.ObjectIds.MultiStateDiscreteType,
           TagKind.COUNTER: ua.ObjectIds.BaseDataVariableType}


async def browse_tree(client: Client, start: Any, depth: int = 6) -> dict[str, Any]:
    """Every node below ``start`` (hierarchical references), by NodeId string."""
    out: dict[str, Any] = {}
    frontier = [start]
    for _ in range(depth):
        nxt = []
        for node in frontier:
            for child in await node.get_children():
                key = child.nodeid.to_string()
                if key not in out:
                    out[key] = child
                    nxt.append(child)
        frontier = nxt
    return out


class TestTree:
    async def test_browse_whole_tree(self, plant: Plant) -> None:
        """Objects/<Plant>/<Device>/<Tag> for every tag, plus Simulation and Diagnostics."""
        c, ns, tm = plant.client, plant.ns, plant.tagmap
        root = await c.nodes.objects.get_child(f"{ns}:{tm.plant}")
        devices = {(await d.read_browse_name()).Name: d for d in await root.get_children()}
        assert set(devices) == {d.name for d in tm.devices} | {"Simulation", "Diagnostics"}
        for dev in tm.devices:
            names = {(await n.read_browse_name()).Name for n in await devices[dev.name].get_children()}
            tags = {t.opcua.browse_name for t in dev.tags}
            assert tags <= names
            # the rest is the typed model (tests/opcua/test_typed_model.py): identification,
            # controller and transmitter objects
            for extra in names - tags:
                assert extra in IDENTIFICATION or extra.endswith("_TT") or f"{extra}_SP" in {
                    t.name for t in dev.tags}, (dev.name, extra)
        tree = await browse_tree(c, root)
        for tag in tm.tags:
            assert ua.NodeId(tag.opcua.node_id, ns).to_string() in tree

    async def test_types_access_and_datatype(self, plant: Plant) -> None:
        for tag in plant.tagmap.tags:
            node = plant.node(tag.opcua.node_id)
            typedef = await node.read_type_definition()
            assert typedef == ua.NodeId(TYPEDEF[tag.kind]), tag.key
            dtype = await node.read_data_type()
            want = {TagKind.ANALOG: ua.ObjectIds.Double, TagKind.DISCRETE: ua.ObjectIds.Boolean}.get(
                tag.kind, ua.ObjectIds.UInt32)
            assert dtype == ua.NodeId(want), tag.key
            access = await node.read_attribute(ua.AttributeIds.AccessLevel)
            writable = bool(access.Value.Value & ua.AccessLevel.CurrentWrite.mask)
            assert writable == (tag.access is Access.RW), tag.key
            desc = await node.read_description()
            assert desc.Text == tag.description

    async def test_eu_and_range_of_every_analog_tag(self, plant: Plant) -> None:
        analog = [t for t in plant.tagmap.tags if t.kind is TagKind.ANALOG]
        assert analog
        for tag in analog:
            node = plant.node(tag.opcua.node_id)
            rng = await (await node.get_child("0:EURange")).read_value()
            assert (rng.Low, rng.High) == tag.range
            eu = await (await node.get_child("0:EngineeringUnits")).read_value()
            info = unit_info(tag.unit)
            assert eu.NamespaceUri == UNECE_NAMESPACE
            assert eu.UnitId == info.unit_id
            assert eu.DisplayName.Text == info.display
            prec = await (await node.get_child("0:ValuePrecision")).read_value()
            assert prec == tag.precision

    async def test_state_names(self, plant: Plant) -> None:
        for tag in plant.tagmap.tags:
            node = plant.node(tag.opcua.node_id)
            if tag.kind is TagKind.DISCRETE:
                assert (await (await node.get_child("0:FalseState")).read_value()).Text == tag.states[0]
                assert (await (await node.get_child("0:TrueState")).read_value()).Text == tag.states[1]
            elif tag.kind is TagKind.MULTISTATE:
                names = await (await node.get_child("0:EnumStrings")).read_value()
                assert [n.Text for n in names] == list(tag.states)


@pytest.mark.slow
async def test_ten_thousand_tags_serve_within_ten_seconds() -> None:
    """A 10,000-tag map is built and serving well inside 10 s (asyncua's add_variable takes ~100 s)."""
    tm = make_tagmap(extra_analog=10_000, per_device=500, scan_period=1.0)
    plc = FakePlc(tm, paused=True)
    t0 = time.monotonic()
    async with OpcUaAdapter(tm, plc) as adapter, Client(adapter.endpoint, timeout=30) as c:
        ns = await c.get_namespace_index(tm.opcua.namespace_uri)
        last = tm.tags[-1]
        dv = await c.get_node(ua.NodeId(last.opcua.node_id, ns)).read_data_value(raise_on_bad_status=False)
        elapsed = time.monotonic() - t0
    assert dv.Value.Value == pytest.approx(float(plc.snapshot.values[-1]))
    assert elapsed < 10.0
