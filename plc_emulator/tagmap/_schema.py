"""Builds the JSON Schema (draft 2020-12) shipped as ``schema.json`` from the loader's own key lists.

Regenerate deliberately after changing the format (a test fails until you do)::

    .venv/bin/python -m plc_emulator.tagmap._schema > plc_emulator/tagmap/schema.json
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from plc_emulator.engine.blocks import LIBRARY
from plc_emulator.engine.plant._schema import plant_schema
from plc_emulator.tagmap._alarms import PRIORITY_KEYS
from plc_emulator.tagmap._modbus import MIRROR_KEYS
from plc_emulator.tagmap._tags import IDENTIFICATION_KEYS, KNOWN_UNITS, TAG_REQUIRED
from plc_emulator.tagmap.model import WORD_ORDER_64, Access, ByteOrder, Table, TagKind, ValueFormat, WordOrder

__all__ = ["build_schema"]


def _obj(props: dict[str, Any], required: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "patternProperties": {"^x-": {}},
        "additionalProperties": False,
    }
    if required:
        d["required"] = list(required)
    d.update(extra)
    return d


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _enum(e: type[StrEnum], desc: str) -> dict[str, Any]:
    return {"enum": [m.value for m in e], "description": desc}


def _units() -> list[str]:
    """The units a tag may have: the built-in engine's and runtime's, and every block signal's."""
    return sorted({*KNOWN_UNITS, *(s.unit for spec in LIBRARY.values() for s in spec.signals)})


def build_schema() -> dict[str, Any]:
    address = {"type": "integer", "minimum": 0, "maximum": 65535, "description": "0-based PDU address"}
    refnum = {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 465536},
            {"type": "string", "pattern": "^[0-9]{1,6}$"},
        ],
        "description": "1-based reference number: 00001 coil, 10001 discrete input, 30001 input register, "
        "40001 holding register (= address 0); 6-digit 400001 also accepted",
    }

    point_props = {
        "table": _enum(Table, "Modbus table"),
        "address": address,
        "ref": refnum,
        "format": _enum(
            ValueFormat, "value encoding; int16/uint16 are scaled from raw_range to the EU range"
        ),
        "word_order": {"enum": [m.value for m in WordOrder] + list(WORD_ORDER_64),
                       "description": "32/64-bit formats only (64-bit: ABCDEFGH, GHEFCDAB, BADCFEHG, HGFEDCBA); "
                       "default: device, then modbus.word_order"},
        "raw_range": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "integer"}],
            "minItems": 2,
            "maxItems": 2,
            "description": "[raw_lo, raw_hi] <-> EU range (int16/uint16 only)",
        },
        "quality_address": dict(address, description="register (same table) holding the OPC DA quality word"),
        "quality_ref": dict(refnum, description="reference number of the quality register"),
        "bit": {"type": "integer", "minimum": 0, "maximum": 15,
                "description": "bool packed into this bit of a register (status word)"},
        "registers": {"type": "integer", "minimum": 1, "maximum": 123,
                      "description": "string points: registers of the text, 2 ASCII characters each"},
        "byte_order": _enum(ByteOrder, "string points: which character a register's high byte carries "
                            "(high_first: 'AB' = 0x4142; low_first: 0x4241); default high_first"),
    }
    addr_choice = [
        {"required": ["ref"], "not": {"required": ["address"]}},
        {"required": ["table", "address"], "not": {"required": ["ref"]}},
    ]
    scaled = {
        "if": {"properties": {"format": {"enum": ["int16", "uint16"]}}, "required": ["format"]},
        "then": {"required": ["raw_range"]},
    }
    duration = {
        "oneOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|m|min|h|d)?\s*$"},
        ],
        "description": "seconds, or text such as 500ms, 30s, 2h, 7d",
    }
    pair = {
        "type": "array",
        "prefixItems": [{"type": "number"}, {"type": "number"}],
        "minItems": 2,
        "maxItems": 2,
    }
    prio = {
        "type": "integer",
        "minimum": 1,
        "maximum": 4,
        "description": "1 low, 2 medium, 3 high, 4 critical",
    }

    defs = {
        "duration": duration,
        "pair": pair,
        "modbus_point": dict(
            _obj(point_props, required=["format"]),
            oneOf=addr_choice,
            allOf=[scaled, {"not": {"required": ["quality_ref", "quality_address"]}}],
        ),
        "modbus_mirror": dict(
            _obj({k: point_props[k] for k in MIRROR_KEYS}, required=["format"]),
            oneOf=addr_choice,
            allOf=[scaled],
        ),
        "opcua": _obj(
            {
                "browse_name": {"type": "string", "minLength": 1},
                "node_id": {
                    "type": "string",
                    "minLength": 1,
                    "description": "string NodeId in the plant namespace; default DEVICE.tag",
                },
                "historizing": {"type": "boolean"},
            }
        ),
        "alarms": _obj(
            {
                "hihi": {"type": "number"},
                "hi": {"type": "number"},
                "lo": {"type": "number"},
                "lolo": {"type": "number"},
                "deadband": {"type": "number", "minimum": 0, "description": "EU"},
                "on_delay": _ref("duration"),
                "off_delay": _ref("duration"),
                "priority": prio,
                "priorities": _obj({k: prio for k in PRIORITY_KEYS}),
                "roc_limit": {"type": "number", "exclusiveMinimum": 0, "description": "EU per second"},
                "roc_window": _ref("duration"),
                "bad_quality": {"type": "boolean"},
                "discrete_alarm_state": {"type": "integer", "minimum": 0},
            }
        ),
        "historian": _obj(
            {
                "enabled": {"type": "boolean"},
                "deadband": {"type": "number", "minimum": 0},
                "max_interval": _ref("duration"),
            }
        ),
    }
    tag_props = {
        "signal": {
            "type": "string",
            "minLength": 1,
            "description": "engine or runtime signal, e.g. V100.pressure",
        },
        "unit": {"enum": _units(), "description": "engineering unit; must be the signal's unit"},
        "description": {"type": "string"},
        "kind": _enum(TagKind, "OPC UA variable type"),
        "range": dict(pair, description="EU range [min, max], min < max"),
        "access": _enum(Access, "ro or rw"),
        "write_limits": dict(
            pair, description="rw tags: [min, max] inside the EU range and the signal's limits"
        ),
        "states": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 2},
        "precision": {"type": "integer", "minimum": 0, "maximum": 10},
        "modbus": _ref("modbus_point"),
        "modbus_mirrors": {"type": "array", "items": _ref("modbus_mirror")},
        "opcua": _ref("opcua"),
        "alarms": _ref("alarms"),
        "historian": _ref("historian"),
        "retain": {
            "type": "boolean",
            "description": "kept over a warm restart (default: true for rw setpoints, modes, tuning, memory)",
        },
    }
    defs["tag"] = dict(
        _obj(tag_props, required=TAG_REQUIRED),
        allOf=[
            {
                "if": {"properties": {"access": {"const": "rw"}}, "required": ["access"]},
                "then": {"required": ["write_limits"]},
            },
            {
                "if": {"properties": {"kind": {"enum": ["discrete", "multistate"]}}, "required": ["kind"]},
                "then": {"required": ["states"]},
            },
        ],
    )
    defs["device"] = _obj(
        {
            "description": {"type": "string"},
            "word_order": _enum(WordOrder, "default word order of this device's 32-bit points"),
            "identification": _obj({k: {"type": "string", "minLength": 1} for k in IDENTIFICATION_KEYS}),
            "tags": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
                "additionalProperties": _ref("tag"),
            },
        },
        required=["tags"],
    )

    top = {
        "name": {"type": "string", "minLength": 1},
        "plant": {"type": "string", "minLength": 1, "description": "OPC UA object name of the plant"},
        "description": {"type": "string"},
        "scan_period": dict(
            duration, description="engine step and scan period, 1ms to 10s (default 100ms)"
        ),
        "seed": {"type": "integer", "minimum": 0},
        "epoch": {
            "oneOf": [
                {"type": "string", "description": "ISO 8601 UTC, e.g. 2026-01-01T00:00:00Z; pins run's clock"},
                {"type": "number", "description": "Unix seconds"},
            ]
        },
        "modbus": {
            "oneOf": [
                {"type": "null"},
                _obj(
                    {
                        "unit_id": {"type": "integer", "minimum": 1, "maximum": 247},
                        "word_order": _enum(WordOrder, "default for 32-bit points"),
                        "unknown_unit": {"enum": ["exception", "ignore"]},
                        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                    }
                ),
            ]
        },
        "opcua": {
            "oneOf": [
                {"type": "null"},
                _obj(
                    {
                        "namespace_uri": {"type": "string", "minLength": 1},
                        "application_uri": {"type": "string", "minLength": 1},
                        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                    }
                ),
            ]
        },
        "historian": {
            "oneOf": [
                {"type": "null"},
                _obj(
                    {
                        "batch_size": {"type": "integer", "minimum": 1},
                        "commit_interval": _ref("duration"),
                        "queue_size": {"type": "integer", "minimum": 1},
                        "retention": _ref("duration"),
                        "max_db_bytes": {"type": "integer", "minimum": 1},
                    }
                ),
            ]
        },
        "process": {
            "type": ["object", "null"],
            "description": "plant parameter overrides, checked by the engine",
        },
        "pm": {"type": ["object", "null"], "description": "predictive-maintenance rule parameters"},
        "model": {
            "description": "the plant file the PLC runs: its path relative to this tag map, or the plant file "
            "written inline (docs/blocks.md); without it, the built-in separation train",
            "oneOf": [{"type": "string", "minLength": 1}, _ref("plant")],
        },
        "devices": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_-]*$"},
            "additionalProperties": _ref("device"),
        },
    }
    defs["plant"] = {k: v for k, v in plant_schema().items() if k != "$schema"}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:plc-emulator:tagmap:1",
        "title": "plc-emulator tag map",
        "description": "One PLC: scan period, seed, plant parameters and every tag (docs/tagmap.md). "
        "The loader checks more than this schema can (overlapping addresses, units per signal, "
        "limits order).",
        **_obj(top, required=["name", "plant", "devices"]),
        "$defs": defs,
    }
    return schema


if __name__ == "__main__":  # pragma: no cover - the regeneration command above
    print(json.dumps(build_schema(), indent=2, ensure_ascii=False))
