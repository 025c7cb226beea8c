"""Top level of the tag map: settings, ``process:`` (checked by the engine), ``pm:``, devices."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.engine.params import ParamError, PlantParams, params_from_mapping
from plc_emulator.errors import TagMapError
from plc_emulator.tagmap._files import MAX_FILE_BYTES, read_text_file, special_file_kind
from plc_emulator.tagmap._plant import parse_model
from plc_emulator.tagmap._reader import T_NULL, Fields, Reader, compose, join
from plc_emulator.tagmap._tags import parse_devices
from plc_emulator.tagmap.alarm_defs import check_tagmap
from plc_emulator.tagmap.model import (
    HistorianSettings,
    ModbusSettings,
    OpcUaSettings,
    TagMap,
    WordOrder,
)
from plc_emulator.tagmap.pm import PmConfigError, PmParams, pm_params_from_mapping

__all__ = ["HISTORIAN_SETTINGS_KEYS", "MAX_FILE_BYTES", "MODBUS_KEYS", "OPCUA_SETTINGS_KEYS", "TOP_KEYS", "load",
           "loads", "read_text_file", "special_file_kind"]

TOP_KEYS = (
    "name",
    "plant",
    "description",
    "scan_period",
    "seed",
    "epoch",
    "modbus",
    "opcua",
    "historian",
    "process",
    "pm",
    "model",
    "devices",
)
TOP_REQUIRED = ("name", "plant", "devices")
MODBUS_KEYS = ("unit_id", "word_order", "unknown_unit", "port")
OPCUA_SETTINGS_KEYS = ("namespace_uri", "port", "application_uri")
HISTORIAN_SETTINGS_KEYS = ("batch_size", "commit_interval", "queue_size", "retention", "max_db_bytes")
UNKNOWN_UNIT = ("exception", "ignore")
MAX_SCAN_PERIOD = 10.0  # s
MIN_SCAN_PERIOD = 0.001  # s: below 1 ms a Python scan cannot keep up and tick arithmetic loses meaning
DEFAULT_EPOCH = 1767225600.0  # 2026-01-01T00:00:00Z: simulate/evaluate (and run with a pinned map)
DEFAULT_SCAN_PERIOD = 0.1  # s


def load(path: str | Path) -> TagMap:
    """Read and validate a tag map file. Raises :class:`TagMapError` listing every problem."""
    text, data = read_text_file(path, "tag map")
    return _parse(text, str(path), hashlib.sha256(data).hexdigest())


def loads(text: str, path: str = "<string>") -> TagMap:
    """Validate tag map text; ``path`` only names it in messages."""
    return _parse(text, path, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def _parse(text: str, name: str, sha256: str) -> TagMap:
    r = Reader(name)
    root = compose(text, r.problems)
    result = None if root is None else _top(r, root, sha256)
    if r.problems or result is None:
        raise TagMapError(r.problems.lines() or [f"{name}:1:1: invalid tag map"])
    _cross_check(r, result)
    if r.problems:
        raise TagMapError(r.problems.lines())
    return result


def _cross_check(r: Reader, tagmap: TagMap) -> None:
    """Checks that need the whole, parsed map: tags bound to alarm signals must name real alarms and
    suppression rules must name real alarms (the alarm block derives its alarm ids from the tags)."""
    by_path = {f"devices.{t.device}.tags.{t.name}.signal": t for t in tagmap.tags}
    for path, message in check_tagmap(tagmap):
        tag = by_path.get(path)
        where = (tag.location.line, tag.location.col) if tag is not None else None
        r.problems.add(where, path, message)


def _top(r: Reader, root: Node, sha256: str) -> TagMap | None:
    f = r.fields(root, "", allowed=TOP_KEYS, required=TOP_REQUIRED)
    if not f.ok:
        return None
    name = _text(r, f, "name", nonempty=True)
    plant = _text(r, f, "plant", nonempty=True)
    description = _text(r, f, "description") if "description" in f else ""
    scan_period: float | None = DEFAULT_SCAN_PERIOD
    if "scan_period" in f:
        scan_period = r.duration(f.values["scan_period"], "scan_period", positive=True)
        if scan_period is not None and scan_period > MAX_SCAN_PERIOD:
            r.err(f.values["scan_period"], "scan_period", f"must be at most 10 s (got {scan_period:g} s)")
            scan_period = None
        elif scan_period is not None and scan_period < MIN_SCAN_PERIOD:
            r.err(f.values["scan_period"], "scan_period", f"must be at least 1ms (got {scan_period:g} s)")
            scan_period = None
    seed: int | None = 0
    if "seed" in f:
        seed = r.integer(f.values["seed"], "seed", lo=0, hi=2**63 - 1)
    epoch: float | None = DEFAULT_EPOCH
    if "epoch" in f:
        epoch = r.epoch(f.values["epoch"], "epoch")
    modbus = _modbus(r, f.get("modbus"))
    opcua = _opcua(r, f.get("opcua"))
    historian = _historian(r, f.get("historian"))
    model = None if f.get("model") is None else parse_model(r, f.values["model"])
    catalogue: Catalogue | None = LEGACY if "model" not in f else None if model is None else model[1]
    process = _free(r, f.get("process"), "process")
    plant_params = None if process is None else PlantParams() if "model" in f else _plant_params(
        r, f.get("process"), process)
    if process and "model" in f:
        r.err(f.keys["process"], "process", "sets the built-in engine's parameters; with model: the plant "
              "file holds its parameters (units.<unit>.params)")
    pm = _free(r, f.get("pm"), "pm")
    pm_params = None if pm is None or catalogue is None else _pm_params(r, f.get("pm"), pm, catalogue)
    order = modbus.word_order if modbus is not None else WordOrder.ABCD
    devices_node = f.get("devices")
    devices = () if devices_node is None else parse_devices(r, devices_node, order, catalogue)
    if "model" in f and model is None:
        return None
    if (
        name is None
        or plant is None
        or description is None
        or scan_period is None
        or seed is None
        or epoch is None
        or modbus is None
        or opcua is None
        or historian is None
        or process is None
        or pm is None
        or plant_params is None
        or pm_params is None
    ):
        return None
    return TagMap(
        path=r.problems.file,
        sha256=sha256,
        name=name,
        plant=plant,
        description=description,
        scan_period=scan_period,
        seed=seed,
        epoch=epoch,
        epoch_pinned="epoch" in f,
        modbus=modbus,
        opcua=opcua,
        historian=historian,
        process=process,
        pm=pm,
        devices=devices,
        plant_model=None if model is None else model[0],
        catalogue=LEGACY if model is None else model[1],
        plant_params=plant_params,
        pm_params=pm_params,
    )


def _text(r: Reader, f: Fields, key: str, *, nonempty: bool = False) -> str | None:
    node = f.get(key)
    return None if node is None else r.text(node, f.at(key), nonempty=nonempty)


def _is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag == T_NULL)


def _modbus(r: Reader, node: Node | None) -> ModbusSettings | None:
    if _is_null(node) or node is None:
        return ModbusSettings()
    f = r.fields(node, "modbus", allowed=MODBUS_KEYS)
    if not f.ok:
        return None
    d = ModbusSettings()
    unit_id = (
        d.unit_id if "unit_id" not in f else r.integer(f.values["unit_id"], f.at("unit_id"), lo=1, hi=247)
    )
    order = (
        d.word_order
        if "word_order" not in f
        else r.choice(f.values["word_order"], f.at("word_order"), WordOrder)
    )
    port = d.port if "port" not in f else r.integer(f.values["port"], f.at("port"), lo=0, hi=65535)
    unknown: str | None = d.unknown_unit
    if "unknown_unit" in f:
        unknown = r.text(f.values["unknown_unit"], f.at("unknown_unit"))
        if unknown is not None and unknown not in UNKNOWN_UNIT:
            r.err(
                f.values["unknown_unit"],
                f.at("unknown_unit"),
                f"must be exception or ignore (got {unknown!r})",
            )
            unknown = None
    if unit_id is None or order is None or port is None or unknown is None:
        return None
    return ModbusSettings(unit_id=unit_id, word_order=order, unknown_unit=unknown, port=port)


def _opcua(r: Reader, node: Node | None) -> OpcUaSettings | None:
    if _is_null(node) or node is None:
        return OpcUaSettings()
    f = r.fields(node, "opcua", allowed=OPCUA_SETTINGS_KEYS)
    if not f.ok:
        return None
    d = OpcUaSettings()
    ns = d.namespace_uri if "namespace_uri" not in f else _text(r, f, "namespace_uri", nonempty=True)
    app = d.application_uri if "application_uri" not in f else _text(r, f, "application_uri", nonempty=True)
    port = d.port if "port" not in f else r.integer(f.values["port"], f.at("port"), lo=0, hi=65535)
    if ns is None or app is None or port is None:
        return None
    return OpcUaSettings(namespace_uri=ns, application_uri=app, port=port)


def _historian(r: Reader, node: Node | None) -> HistorianSettings | None:
    if _is_null(node) or node is None:
        return HistorianSettings()
    f = r.fields(node, "historian", allowed=HISTORIAN_SETTINGS_KEYS)
    if not f.ok:
        return None
    d = HistorianSettings()
    batch = (
        d.batch_size if "batch_size" not in f else r.integer(f.values["batch_size"], f.at("batch_size"), lo=1)
    )
    queue = (
        d.queue_size if "queue_size" not in f else r.integer(f.values["queue_size"], f.at("queue_size"), lo=1)
    )
    max_bytes = (
        d.max_db_bytes
        if "max_db_bytes" not in f
        else r.integer(f.values["max_db_bytes"], f.at("max_db_bytes"), lo=1)
    )
    commit = (
        d.commit_interval
        if "commit_interval" not in f
        else r.duration(f.values["commit_interval"], f.at("commit_interval"), positive=True)
    )
    retention = (
        d.retention_hours * 3600.0
        if "retention" not in f
        else r.duration(f.values["retention"], f.at("retention"), positive=True)
    )
    if batch is None or queue is None or max_bytes is None or commit is None or retention is None:
        return None
    return HistorianSettings(
        batch_size=batch,
        commit_interval=commit,
        queue_size=queue,
        retention_hours=retention / 3600.0,
        max_db_bytes=max_bytes,
    )


def _free(r: Reader, node: Node | None, path: str) -> Mapping[str, Any] | None:
    """``process:`` / ``pm:``: a free mapping (null or absent means empty)."""
    if _is_null(node) or node is None:
        return {}
    if not isinstance(node, MappingNode):
        r.err(
            node,
            path,
            "must be a mapping (got a list)"
            if not isinstance(node, ScalarNode)
            else f"must be a mapping (got {node.value!r})",
        )
        return None
    value = r.plain(node, path)
    return value if isinstance(value, dict) else None  # a plain dict, so a TagMap pickles


def _node_at(node: Node, dotted: str, *, key: bool) -> Node:
    """The node of ``process`` along a dotted path the engine reported (its key node if ``key``).

    Stops at the deepest node that exists, so an unknown key is reported where it was written.
    """
    current, last_key = node, node
    for part in (p for p in dotted.replace("[", ".").replace("]", "").split(".") if p):
        nxt: tuple[Node, Node] | None = None
        if isinstance(current, MappingNode):
            for k, v in current.value:
                if isinstance(k, ScalarNode) and str(k.value) == part:
                    nxt = (k, v)
        elif isinstance(current.value, list) and part.isdigit() and int(part) < len(current.value):
            item = current.value[int(part)]
            nxt = (item, item)
        if nxt is None:
            break
        last_key, current = nxt
    else:
        return last_key if key else current
    return current


def _pm_params(r: Reader, node: Node | None, pm: Mapping[str, Any], catalogue: Catalogue) -> PmParams | None:
    """``pm:`` parsed once, against the plant's signals; problems point at the YAML."""
    try:
        return pm_params_from_mapping(pm, catalogue)
    except PmConfigError as exc:
        for reported, message in exc.problems:
            rel = reported.removeprefix("pm.").removeprefix("pm")
            where = node if node is None else _node_at(node, rel, key=message.startswith("unknown"))
            r.err(where, join("pm", rel) if rel else "pm", message)
    return None


def _plant_params(r: Reader, node: Node | None, process: Mapping[str, Any]) -> PlantParams | None:
    """``process:`` parsed once by the built-in engine's parameter table; problems point at the YAML."""
    try:
        return params_from_mapping(dict(process))
    except ParamError as exc:
        for reported, message in exc.problems:
            rel = reported.removeprefix("process.").removeprefix("process")
            where = node if node is None else _node_at(node, rel, key=message.startswith("unknown"))
            r.err(where, join("process", rel) if rel else "process", message)
    except (ValueError, TypeError, KeyError) as exc:
        r.err(node, "process", str(exc) or type(exc).__name__)
    return None
