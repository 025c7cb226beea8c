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
