"""NodeSet2 XML export of the plant's address space (``plc-emulator nodeset TAGMAP -o plant.xml``).

Builds the same address space as the live server (no socket, no PLC: values are not exported) and
writes every node of the plant namespace with asyncua's XmlExporter, so a modelling tool or another
server (``Server.import_xml``) can load it. Property values (EURange, EngineeringUnits, state names)
are exported; tag values are null (BadWaitingForInitialData).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

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
    return len(nodes)
