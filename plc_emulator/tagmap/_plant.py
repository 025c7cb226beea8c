"""The tag map's ``model:`` key: the plant file the PLC runs (a path relative to the tag map, or
the plant file written inline), loaded once into the TagMap with its signal catalogue."""

from __future__ import annotations

from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode

# module objects, not names: the plant package imports this package's reader, so either may load first
from plc_emulator.engine.catalogue import Catalogue
from plc_emulator.engine.plant import _api as plant_api
from plc_emulator.engine.plant import _catalogue as plant_catalogue
from plc_emulator.errors import TagMapError
from plc_emulator.tagmap._reader import Reader

__all__ = ["parse_model"]


def parse_model(r: Reader, node: Node) -> tuple[plant_api.LoadedPlant, Catalogue] | None:
    """Load ``model:``; every problem (in the plant file or the tag map) goes to ``r.problems``."""
    if isinstance(node, MappingNode):
        sub = Reader(r.problems.file)
        loaded = plant_api.plant_from_node(sub, node)
        r.problems.add_lines(_under_model(line, r.problems.file) for line in sub.problems.lines())
    elif isinstance(node, ScalarNode) and node.tag.endswith(":str") and str(node.value).strip():
        loaded = _from_file(r, node)
    else:
        r.err(node, "model", "must be the path of a plant file (relative to this tag map) or a plant file "
              "written inline as a mapping")
        return None
    return None if loaded is None else (loaded, plant_catalogue.plant_catalogue(loaded))


def _under_model(line: str, file: str) -> str:
    """``F:L:C: units.X: msg`` -> ``F:L:C: model.units.X: msg``: an inline plant's paths inside the map."""
    head, sep, rest = line.removeprefix(f"{file}:").partition(": ")
    return f"{file}:{head}{sep}model.{rest}" if sep and line.startswith(f"{file}:") else line


def _from_file(r: Reader, node: ScalarNode) -> plant_api.LoadedPlant | None:
    base = Path(r.problems.file).parent if not r.problems.file.startswith("<") else Path.cwd()
    path = base / str(node.value).strip()
    if not path.exists():
        r.err(node, "model", f"plant file not found: {path}")
        return None
    try:
        return plant_api.load_plant(path)
    except TagMapError as exc:  # PlantError: the plant file's own FILE:LINE:COL lines
        r.problems.add_lines(exc.problems)
        return None
