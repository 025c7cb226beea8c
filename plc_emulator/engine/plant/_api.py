"""Reading a plant file: bounded read, UTF-8, YAML with positions, every problem at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plc_emulator.engine.plant._graph import Graph, build_graph
from plc_emulator.engine.plant._load import parse_plant
from plc_emulator.engine.plant._model import PlantError, PlantFile
from plc_emulator.tagmap._reader import Reader, compose

__all__ = ["MAX_FILE_BYTES", "LoadedPlant", "PlantError", "load_plant", "loads_plant"]

MAX_FILE_BYTES = 4 * 2**20


@dataclass(frozen=True, slots=True)
class LoadedPlant:
    file: PlantFile
    graph: Graph


def load_plant(path: str | Path) -> LoadedPlant:
    name = str(path)
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise PlantError([f"{name}:1:1: cannot read the plant file: it is a directory"]) from None
    except OSError as exc:
        raise PlantError([f"{name}:1:1: cannot read the plant file: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise PlantError([f"{name}:1:1: cannot read the plant file: larger than {MAX_FILE_BYTES // 2**20} MiB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PlantError([f"{name}:{line}:{col}: not UTF-8 text (byte 0x{data[exc.start]:02x})"]) from None
    return loads_plant(text, name)


def loads_plant(text: str, path: str = "<string>") -> LoadedPlant:
    """Parse and validate plant file text; :class:`PlantError` lists every problem in file order."""
    r = Reader(path)
    root = compose(text, r.problems)
    plant = None if root is None else parse_plant(r, root)
    if plant is None or r.problems:
        # graph checks on a partly read file would report follow-on noise; but a file whose entries
        # all parsed still gets them, so one run shows entry and graph problems together
        if plant is not None:
            build_graph(plant, r.problems, partial=True)
        raise PlantError(r.problems.lines())
    graph = build_graph(plant, r.problems)
    if r.problems:
        raise PlantError(r.problems.lines())
    return LoadedPlant(file=plant, graph=graph)
