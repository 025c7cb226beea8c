"""JSON Schema (draft 2020-12) of the plant file, built from the block library so that editors
know every block kind and its parameter names, ranges and choices."""

from __future__ import annotations

import json
from typing import Any

from plc_emulator.engine.blocks import LIBRARY, BlockSpec, Param, ParamType
from plc_emulator.engine.plant._sections import INSTRUMENT_KEYS, INTERLOCK_KEYS, LOOP_KEYS

__all__ = ["plant_schema", "plant_schema_text"]

_NAME = "^[A-Za-z][A-Za-z0-9_-]*$"
_REF = r"^[A-Za-z][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_]*$"
_NUM: dict[str, Any] = {"type": "number"}


def _value(p: Param) -> dict[str, Any]:
    if p.kind is ParamType.BOOL:
        one: dict[str, Any] = {"type": "boolean"}
    elif p.kind is ParamType.CHOICE:
        one = {"enum": list(p.choices)}
    elif p.kind in (ParamType.PATH, ParamType.COLUMN):
        one = {"type": "string", "minLength": 1}
    else:
        one = {"type": "integer" if p.kind is ParamType.INT else "number"}
        if p.lo != float("-inf"):
            one["minimum"] = p.lo
        if p.hi != float("inf"):
            one["maximum"] = p.hi
    desc = f"{p.description} [{p.unit}]" if p.unit else p.description
    return {"description": desc, "anyOf": [one, {"type": "array", "items": one, "minItems": 1}]}


def _values(params: tuple[Param, ...]) -> dict[str, Any]:
    out = {"type": "object", "additionalProperties": False, "properties": {p.name: _value(p) for p in params}}
    required = [p.name for p in params if p.kind is ParamType.PATH]
    return out | {"required": required} if required else out


def _unit(spec: BlockSpec) -> dict[str, Any]:
    initial: dict[str, Any] = _values(spec.initial)
    if spec.steady:
        initial = {"anyOf": [initial, {"const": "steady"}]}
    return {
        "if": {"properties": {"block": {"const": spec.kind}}, "required": ["block"]},
        "then": {"properties": {"params": _values(spec.params), "initial": initial}}
        | ({"required": ["params"]} if any(p.kind is ParamType.PATH for p in spec.params) else {}),
    }


def plant_schema() -> dict[str, Any]:
    pair = {"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2}
    ref = {"type": "string", "pattern": _REF}
    unit = {"type": "object", "required": ["block"], "additionalProperties": False,
            "properties": {"block": {"enum": list(LIBRARY)}, "params": {"type": "object"},
                           "initial": {}, "description": {"type": "string"}},
            "allOf": [_unit(s) for s in LIBRARY.values()]}
    instrument = {"type": "object", "required": ["measures", "range"], "additionalProperties": False,
                  "properties": {k: {} for k in INSTRUMENT_KEYS} | {
                      "measures": ref, "unit": {"type": "string"}, "range": pair, "accuracy_pct": _NUM,
                      "bits": {"type": "integer", "minimum": 8, "maximum": 24}, "comm_timeout_s": _NUM,
                      "field": {"type": "boolean"}}}
    loop = {"type": "object", "required": ["pv", "output", "sp", "kc", "ti"], "additionalProperties": False,
            "properties": {k: _NUM for k in LOOP_KEYS} | {
                "pv": ref, "output": ref, "action": {"enum": ["direct", "reverse"]},
                "mode": {"enum": ["AUTO", "MAN"]}, "sp_limits": pair}}
    condition = {"type": "object", "required": ["signal"], "additionalProperties": False,
                 "properties": {"signal": ref, "above": _NUM, "below": _NUM}}
    interlock = {"type": "object", "required": ["conditions"], "additionalProperties": False,
                 "properties": {k: {} for k in INTERLOCK_KEYS} | {
                     "conditions": {"type": "array", "items": condition}, "acts_on": {"type": "array", "items": ref},
                     "latching": {"type": "boolean"}, "delay_s": _NUM}}

    def named(item: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "propertyNames": {"pattern": _NAME}, "additionalProperties": item}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "plc-emulator plant file",
        "type": "object",
        "required": ["plant", "units"],
        "additionalProperties": False,
        "patternProperties": {"^x-": {}},
        "properties": {
            "plant": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "units": named(unit),
            "connections": {"type": "array", "items": {"type": "string", "pattern": r"^\s*\S+\s*->\s*\S+\s*$"}},
            "instruments": named(instrument),
            "loops": named(loop),
            "interlocks": named(interlock),
        },
    }


def plant_schema_text() -> str:
    return json.dumps(plant_schema(), indent=2, ensure_ascii=False) + "\n"
