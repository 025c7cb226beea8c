"""Reading a plant file: bounded read, UTF-8, YAML with positions, every problem at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node

from plc_emulator.engine.plant._graph import Graph, build_graph
from plc_emulator.engine.plant._load import parse_plant
from plc_emulator.engine.plant._model import PlantError, PlantFile
from plc_emulator.tagmap._files import read_text_file
from plc_emulator.tagmap._reader import Reader, compose

__all__ = ["LoadedPlant", "PlantError", "load_plant", "loads_plant", "plant_from_node"]


@dataclass(frozen=True, slots=True)
class LoadedPlant:
    file: PlantFile
    graph: Graph


def load_plant(path: str | Path) -> LoadedPlant:
    text, _ = read_text_file(path, "plant file", PlantError)
    return loads_plant(text, str(path))


def loads_plant(text: str, path: str = "<string>") -> LoadedPlant:
    """Parse and validate plant file text; :class:`PlantError` lists every problem in file order."""
    r = Reader(path)
    root = compose(text, r.problems)
    loaded = None if root is None else plant_from_node(r, root)
    if loaded is None or r.problems:
        raise PlantError(r.problems.lines() or [f"{path}:1:1: invalid plant file"])
    return loaded


def plant_from_node(r: Reader, root: Node) -> LoadedPlant | None:
    """A plant file from a YAML node (a file's root, or a tag map's ``model:`` mapping); every
    problem goes to ``r.problems`` (None when there is any)."""
    plant = parse_plant(r, root)
    if plant is None or r.problems:
        # graph checks on a partly read file would report follow-on noise; but a file whose entries
        # all parsed still gets them, so one run shows entry and graph problems together
        if plant is not None:
            build_graph(plant, r.problems, partial=True)
        return None
    graph = build_graph(plant, r.problems)
    return None if r.problems else LoadedPlant(file=plant, graph=graph)
