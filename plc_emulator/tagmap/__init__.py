"""The tag map: one YAML file describes one PLC; parsed once into frozen, validated objects.

    >>> from plc_emulator.tagmap import load
    >>> tagmap = load("tag_maps/separation_train.yaml")

Every problem in the file is collected and reported together in one :class:`TagMapError`, one line
each: ``FILE:LINE:COL: dotted.path: message (got VALUE)``. The format is documented in
``docs/tagmap.md``; :func:`schema` returns its JSON Schema (draft 2020-12) for editors.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from plc_emulator.errors import TagMapError
from plc_emulator.tagmap._loader import load, loads
from plc_emulator.tagmap._modbus import parse_ref, ref_text
from plc_emulator.tagmap.model import (
    Access,
    AlarmLimits,
    Device,
    HistorianPoint,
    HistorianSettings,
    Location,
    ModbusPoint,
    ModbusSettings,
    OpcUaPoint,
    OpcUaSettings,
    Table,
    Tag,
    TagKind,
    TagMap,
    ValueFormat,
    WordOrder,
)

__all__ = [
    "Access",
    "AlarmLimits",
    "Device",
    "HistorianPoint",
    "HistorianSettings",
    "Location",
    "ModbusPoint",
    "ModbusSettings",
    "OpcUaPoint",
    "OpcUaSettings",
    "Table",
    "Tag",
    "TagKind",
    "TagMap",
    "TagMapError",
    "ValueFormat",
    "WordOrder",
    "load",
    "loads",
    "parse_ref",
    "ref_text",
    "schema",
    "schema_text",
]


def schema_text() -> str:
    """The JSON Schema of the tag map format, as shipped (``plc_emulator/tagmap/schema.json``)."""
    return resources.files(__name__).joinpath("schema.json").read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(schema_text())
    return value
