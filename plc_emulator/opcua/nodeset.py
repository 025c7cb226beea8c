"""NodeSet2 XML export of the plant's address space (``plc-emulator nodeset TAGMAP -o plant.xml``).

Builds the same address space as the live server (no socket, no PLC: values are not exported) and
writes every node of the plant namespace with asyncua's XmlExporter, so a modelling tool or another
server (``Server.import_xml``) can load it. Property values (EURange, EngineeringUnits, state names)
are exported; tag values are null (BadWaitingForInitialData).

The ``<Models>`` section declares the plant model (namespace URI, package version, export date) and
every model it uses as a ``RequiredModel``: the OPC UA base model (its version and publication date
as this server implements it). The typed model's ObjectTypes are in the plant namespace; no other
companion model (DI) is used, since asyncua ships no DI nodeset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
from asyncua import Server

from plc_emulator import __version__
from plc_emulator.commands import Command
from plc_emulator.engine.status import BAD_WAITING_FOR_INITIAL_DATA
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.tagmap.model import TagMap

__all__ = ["export_nodeset"]


class _NoPlc:
    """Stands in for the PLC while exporting: a snapshot waiting for initial data, no scans."""

    def __init__(self, tagmap: TagMap) -> None:
        n = len(tagmap.tags)
        empty16 = np.zeros(0, dtype=np.uint16)
        self.snapshot = Snapshot(
            tick=0, sim_time=tagmap.epoch, values=np.zeros(n), status=np.full(n, BAD_WAITING_FOR_INITIAL_DATA,
                                                                               dtype=np.uint32),
            holding=empty16, input=empty16, coils=np.zeros(0, dtype=bool), discrete=np.zeros(0, dtype=bool),
            digest="")

    def submit(self, cmd: Command) -> None:  # export never serves clients
        del cmd

    def on_snapshot(self, cb: Callable[[Snapshot], None]) -> None:
        del cb

    def pause(self) -> None:
        return None

    def resume(self) -> None:
        return None

    def step(self, n: int = 1) -> int:
        del n
        return 0

    def set_speed(self, speed: float) -> None:
        del speed


async def export_nodeset(tagmap: TagMap, path: str | Path) -> int:
    """Write the NodeSet2 XML (property values included, tag values null); returns the node count."""
    adapter = OpcUaAdapter(tagmap, _NoPlc(tagmap))
    await adapter.build()
    server = adapter.server
    ns = adapter.namespace_index
    aspace = server.iserver.aspace
    nodes = [server.get_node(nid) for nid in list(aspace.keys()) if nid.NamespaceIndex == ns]
    await server.export_xml(nodes, str(path), export_values=True)  # properties (EU, EURange) need values
    base_version, base_date = await _base_model(server)
    _add_models(path, adapter.tagmap.opcua.namespace_uri, [("http://opcfoundation.org/UA/", base_version, base_date)])
    return len(nodes)


async def _base_model(server: Server) -> tuple[str, str]:
    """Version and publication date of the OPC UA base model this server implements."""
    for ns in await server.nodes.namespaces.get_children():
        if await (await ns.get_child("NamespaceUri")).read_value() == "http://opcfoundation.org/UA/":
            version = await (await ns.get_child("NamespaceVersion")).read_value()
            date = await (await ns.get_child("NamespacePublicationDate")).read_value()
            return str(version), date.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise RuntimeError("the server does not describe the OPC UA base namespace")


_NS = "http://opcfoundation.org/UA/2011/03/UANodeSet.xsd"


def _add_models(path: str | Path, model_uri: str, required: list[tuple[str, str, str]]) -> None:
    """Insert ``<Models>`` after ``<NamespaceUris>`` (asyncua's exporter writes none)."""
    ET.register_namespace("", _NS)
    for prefix, uri in (("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                        ("uax", "http://opcfoundation.org/UA/2008/02/Types.xsd"),
                        ("xsd", "http://www.w3.org/2001/XMLSchema")):
        ET.register_namespace(prefix, uri)
    tree = ET.parse(path)
    root = tree.getroot()
    models = ET.Element(f"{{{_NS}}}Models")
    model = ET.SubElement(models, f"{{{_NS}}}Model", ModelUri=model_uri, Version=__version__,
                          PublicationDate=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    for uri, version, date in required:
        ET.SubElement(model, f"{{{_NS}}}RequiredModel", ModelUri=uri, Version=version, PublicationDate=date)
    index = next((i + 1 for i, el in enumerate(root) if el.tag == f"{{{_NS}}}NamespaceUris"), 0)
    root.insert(index, models)
    ET.indent(tree, "  ")
    tree.write(path, encoding="utf-8", xml_declaration=True)
