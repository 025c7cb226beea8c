"""JSON Schema (draft 2020-12) of the fleet file, built from the loader's own key lists.

Editors use it for completion (``plc-emulator fleet schema > fleet.schema.json``); the loader's
own checks are stricter (ranges of matching length, clashes after expansion, files that exist).
"""

from __future__ import annotations

from typing import Any

from plc_emulator.fleet._ranges import DRAWS
from plc_emulator.fleet.model import MAX_UNIT_ID

__all__ = ["build_schema"]

_RANGE = "^\\{[0-9]+\\.\\.[0-9]+\\}$"


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    d: dict[str, Any] = {"type": "object", "properties": props, "patternProperties": {"^x-": {}},
                         "additionalProperties": False}
    if required:
        d["required"] = list(required)
    return d


def _int_or_range(lo: int, hi: int, desc: str) -> dict[str, Any]:
    return {"oneOf": [{"type": "integer", "minimum": lo, "maximum": hi},
                      {"type": "string", "pattern": _RANGE}], "description": desc}


def build_schema() -> dict[str, Any]:
    draw = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "properties": {k.value: {"type": "array", "items": {"type": "number"}, "minItems": 1,
                                     "description": shape} for k, shape in DRAWS.items()}}
    parameter = {"oneOf": [{"type": "number"}, {"type": "string", "pattern": _RANGE}, draw],
                 "description": "a number, {FIRST..LAST} spread over a template, or a draw"}
    common = {
        "tagmap": {"type": "string", "minLength": 1, "description": "tag map YAML, relative to this file"},
        "parameters": {"type": "object", "additionalProperties": parameter,
                       "description": "plant parameter overrides by dotted process: path, e.g. well.oil_rate_bpd"},
        "scenario": {"type": "string", "minLength": 1, "description": "scenario YAML of timed events"},
        "opcua": {"type": "boolean", "description": "serve under Objects/<RTU id>/ (default false)"},
        "historian": {"type": "boolean", "description": "record to the historian (default false)"},
    }
    modbus = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "port": _int_or_range(1, 65535, "own TCP port (a template: a range of as many ports)"),
            "gateway": {"type": "string", "description": "name of a gateway under gateways:"},
            "unit": _int_or_range(1, MAX_UNIT_ID, "unit id on the gateway (a template: a range)"),
        },
        "oneOf": [{"required": ["port"], "not": {"anyOf": [{"required": ["gateway"]}, {"required": ["unit"]}]}},
                  {"required": ["gateway", "unit"], "not": {"required": ["port"]}}],
    }
    rtu = _obj({"id": {"type": "string", "minLength": 1,
                       "description": "RTU id; a template when it holds one range, e.g. WELL-{001..500}"},
                "seed": _int_or_range(0, 2**63 - 1, "engine seed (default: from the fleet seed and the id)"),
                "modbus": modbus, **common}, ("id", "modbus"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://plc-emulator.invalid/fleet.schema.json",
        "title": "plc-emulator fleet file",
        **_obj({
            "fleet": {"type": "string", "minLength": 1, "description": "fleet name"},
            "description": {"type": "string"},
            "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1,
                     "description": "fleet seed: each RTU's stream is SeedSequence(seed, RTU id)"},
            "defaults": _obj(common),
            "gateways": {"type": "object", "additionalProperties": _obj(
                {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}, ("port",))},
            "rtus": {"type": "array", "minItems": 1, "items": rtu},
        }, ("fleet", "rtus")),
    }
