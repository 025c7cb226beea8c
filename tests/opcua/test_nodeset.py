"""NodeSet2 export: load it back into a fresh asyncua server and compare ids, types and EU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from asyncua import Server, ua

from plc_emulator.opcua.nodeset import export_nodeset
from plc_emulator.opcua.units import unit_info
from plc_emulator.tagmap.model import TagKind
from tests.opcua.fakes import make_tagmap

pytestmark = pytest.mark.integration

TYPEDEF = {TagKind.ANALOG: ua.ObjectIds.AnalogItemType, TagKind.DISCRETE: ua.ObjectIds.TwoStateDiscreteType,
           TagKind.MULTISTATE: ua.ObjectIds.MultiStateDiscreteType,
           TagKind.COUNTER: ua.ObjectIds.BaseDataVariableType}


async def test_export_and_import_round_trip(tmp_path: Path) -> None:
    tm = make_tagmap()
    out = tmp_path / "plant.xml"
    count = await export_nodeset(tm, out)
    assert count > len(tm.tags)
    assert out.read_text(encoding="utf-8").lstrip().startswith("<?xml")

    server = Server()
    await server.init()
    await server.import_xml(str(out))
    ns = await server.get_namespace_index(tm.opcua.namespace_uri)
    plant = await server.nodes.objects.get_child(f"{ns}:{tm.plant}")
    assert (await plant.read_browse_name()).Name == tm.plant
    for tag in tm.tags:
        node = server.get_node(ua.NodeId(tag.opcua.node_id, ns))
        assert (await node.read_browse_name()).Name == tag.opcua.browse_name
        assert await node.read_type_definition() == ua.NodeId(TYPEDEF[tag.kind]), tag.key
        parent = await node.get_parent()
        assert (await parent.read_browse_name()).Name == tag.device
        if tag.kind is TagKind.ANALOG:
            rng = await (await node.get_child("0:EURange")).read_value()
            assert (rng.Low, rng.High) == tag.range
            eu = await (await node.get_child("0:EngineeringUnits")).read_value()
            assert eu.UnitId == unit_info(tag.unit).unit_id
            assert await node.read_data_type() == ua.NodeId(ua.ObjectIds.Double)
        elif tag.kind is TagKind.MULTISTATE:
            names = await (await node.get_child("0:EnumStrings")).read_value()
            assert [n.Text for n in names] == list(tag.states)
    sim = await plant.get_child(f"{ns}:Simulation")
    methods = {(await m.read_browse_name()).Name for m in await sim.get_methods()}
    assert methods == {"Pause", "Resume", "Step", "SetSpeed", "InjectFault", "ClearFault"}


def test_cli_bad_tagmap_exits_2(tmp_path: Path) -> None:
    """A bad tag map: exit 2 with FILE:LINE:COL lines, no traceback, no output file."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices: 3\n")
    code = "from plc_emulator.cli import main; raise SystemExit(main())"
    proc = subprocess.run([sys.executable, "-c", code, "nodeset", str(bad), "-o", str(tmp_path / "x.xml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{bad}:" in proc.stderr
    assert not (tmp_path / "x.xml").exists()


def test_certs_cli(tmp_path: Path) -> None:
    """plc-emulator certs writes cert + key + trust folder, refuses to overwrite, hashes passwords."""
    from plc_emulator.opcua.security import verify_password

    code = "from plc_emulator.cli import main; raise SystemExit(main())"
    args = [sys.executable, "-c", code, "certs", "--dir", str(tmp_path / "pki"), "--hostname", "plc1"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "pki" / "own" / "cert.der").exists()
    assert (tmp_path / "pki" / "trusted").is_dir()
    again = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    hashed = subprocess.run([sys.executable, "-c", code, "certs", "--hash-password"], input="pw1\n",
                            capture_output=True, text=True, timeout=60, check=False)
    assert hashed.returncode == 0
    assert verify_password("pw1", hashed.stdout.strip())


async def test_typed_model_round_trip(tmp_path: Path) -> None:
    """The default plant's typed model: Models/RequiredModel declared, types, instances and their
    components load back into a fresh asyncua server."""
    import xml.etree.ElementTree as ET

    from plc_emulator.opcua.model import EQUIPMENT_TYPES, equipment_type
    from plc_emulator.tagmap import load
    from tests.conftest import DEFAULT_TAGMAP

    tm = load(str(DEFAULT_TAGMAP))
    out = tmp_path / "plant.xml"
    await export_nodeset(tm, out)
    x = "{http://opcfoundation.org/UA/2011/03/UANodeSet.xsd}"
    root = ET.parse(out).getroot()
    models = root.findall(f"{x}Models/{x}Model")
    assert [m.attrib["ModelUri"] for m in models] == [tm.opcua.namespace_uri]
    required = [r.attrib["ModelUri"] for r in models[0].findall(f"{x}RequiredModel")]
    used = {u.text for u in root.findall(f"{x}NamespaceUris/{x}Uri")} - {tm.opcua.namespace_uri}
    assert required == ["http://opcfoundation.org/UA/"]
    assert used <= set(required)  # every model the export uses is declared
    assert {t.attrib["BrowseName"].split(":", 1)[1] for t in root.findall(f"{x}UAObjectType")} == {
        "EquipmentType", *EQUIPMENT_TYPES}

    server = Server()
    await server.init()
    await server.import_xml(str(out))
    ns = await server.get_namespace_index(tm.opcua.namespace_uri)
    equipment = server.get_node(ua.NodeId("EquipmentType", ns))
    subtypes = {(await s.read_browse_name()).Name for s in await equipment.get_children(refs=ua.ObjectIds.HasSubtype)}
    assert subtypes == set(EQUIPMENT_TYPES)
    for device in tm.devices:
        node = server.get_node(ua.NodeId(f"{tm.plant}.{device.name}", ns))
        tname = equipment_type(device)
        want = ua.NodeId(tname, ns) if tname else ua.NodeId(ua.ObjectIds.BaseObjectType)
        assert await node.read_type_definition() == want, device.name
    ctrl = server.get_node(ua.NodeId(f"{tm.plant}.SEP-V100.LIC100", ns))
    assert await ctrl.read_type_definition() == ua.NodeId("PidControllerType", ns)
    comps = {r.NodeId for r in await ctrl.get_references(refs=ua.ObjectIds.HasComponent,
                                                         direction=ua.BrowseDirection.Forward)}
    for role in ("SP", "MODE", "OUT", "KC", "TI"):
        assert ua.NodeId(f"SEP-V100.LIC100_{role}", ns) in comps
    assert ua.NodeId("SEP-V100.oil_level", ns) in comps  # PV
    tt = server.get_node(ua.NodeId(f"{tm.plant}.SEP-V100.oil_level_TT", ns))
    assert await tt.read_type_definition() == ua.NodeId("TransmitterType", ns)
    comps = {r.NodeId for r in await tt.get_references(refs=ua.ObjectIds.HasComponent,
                                                       direction=ua.BrowseDirection.Forward)}
    assert comps == {ua.NodeId("SEP-V100.oil_level", ns),
                     ua.NodeId(f"{tm.plant}.SEP-V100.oil_level_TT.DeviceHealth", ns)}
    # the tag keeps its device as parent
    parent = await server.get_node(ua.NodeId("SEP-V100.oil_level", ns)).get_parent()
    assert parent.nodeid == ua.NodeId(f"{tm.plant}.SEP-V100", ns)
