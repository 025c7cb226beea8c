"""Read a fleet file: YAML with marks, every problem as ``FILE:LINE:COL: path: message``, all at once.

Each entry of ``rtus:`` is one RTU or, when its id holds a range (``WELL-{001..500}``), a template
of many; fields of a template may be ranges of the same length (``port: "{6001..6500}"``), indexed by
position, and parameters may be drawn per RTU (see :mod:`plc_emulator.fleet._ranges`). After
expansion the whole fleet is checked: duplicate ids, port clashes, unit id clashes on a gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from plc_emulator.errors import TagMapError
from plc_emulator.fleet._checks import check_fleet, check_parameters
from plc_emulator.fleet._ranges import DRAWS, Draw, IdRange, ValueSpec, draw_value, find_range, int_range, rtu_seed
from plc_emulator.fleet.model import MAX_RTUS, MAX_UNIT_ID, Fleet, FleetError, Gateway, ModbusAddress, RtuSpec
from plc_emulator.tagmap._loader import read_text_file
from plc_emulator.tagmap._reader import T_STR, Reader, compose, did_you_mean, join, show

__all__ = ["DEFAULT_KEYS", "MODBUS_KEYS", "RTU_KEYS", "TOP_KEYS", "load_fleet", "loads_fleet"]

TOP_KEYS = ("fleet", "description", "seed", "defaults", "gateways", "rtus")
RTU_KEYS = ("id", "tagmap", "seed", "parameters", "scenario", "modbus", "opcua", "historian")
DEFAULT_KEYS = ("tagmap", "parameters", "scenario", "opcua", "historian")
MODBUS_KEYS = ("port", "gateway", "unit")
GATEWAY_KEYS = ("port",)
MAX_PORT = 65535


@dataclass(slots=True)
class _Ctx:
    r: Reader
    base: Path  # relative paths in the file are relative to its folder
    seed: int = 0
    gateways: dict[str, Gateway] = field(default_factory=dict)
    tagmaps: dict[Path, Any] = field(default_factory=dict)  # loaded tag maps (None: broken)
    scenarios: set[tuple[Path, Path]] = field(default_factory=set)  # (scenario, tag map) checked


def load_fleet(path: str | Path) -> Fleet:
    """Read, expand and check a fleet file. Raises :class:`FleetError` listing every problem."""
    text, _data = read_text_file(path, "fleet file", FleetError)
    return loads_fleet(text, str(path), base=Path(path).parent)


def loads_fleet(text: str, path: str = "<string>", *, base: Path | None = None) -> Fleet:
    r = Reader(path)
    root = compose(text, r.problems)
    ctx = _Ctx(r, base if base is not None else Path.cwd())
    fleet = None if root is None else _top(ctx, root, Path(path))
    if r.problems or fleet is None:
        raise FleetError(r.problems.lines() or [f"{path}:1:1: invalid fleet file"])
    return fleet


def _top(ctx: _Ctx, root: Node, path: Path) -> Fleet | None:
    r = ctx.r
    f = r.fields(root, "", allowed=TOP_KEYS, required=("fleet", "rtus"))
    if not f.ok:
        return None
    name = r.text(f.values["fleet"], "fleet", nonempty=True) if "fleet" in f else None
    if "seed" in f:
        ctx.seed = r.integer(f.values["seed"], "seed", lo=0, hi=2**63 - 1) or 0
    if "description" in f:
        r.text(f.values["description"], "description")
    if "gateways" in f:
        ctx.gateways = _gateways(ctx, f.values["gateways"])
    defaults: dict[str, Node] = {}
    if "defaults" in f:
        d = r.fields(f.values["defaults"], "defaults", allowed=DEFAULT_KEYS)
        defaults = dict(d.values)
    rtus: list[RtuSpec] = []
    node = f.get("rtus")
    if node is not None:
        if not _is_list(node) or not node.value:
            r.err(node, "rtus", f"must be a non-empty list of RTUs (got {show(node)})")
        else:
            for i, item in enumerate(node.value):
                rtus += _entry(ctx, item, join("rtus", i), defaults)
                if len(rtus) > MAX_RTUS:
                    r.err(item, join("rtus", i), f"more than {MAX_RTUS} RTUs after expansion")
                    return None
    check_fleet(r, rtus, ctx.gateways, node)  # also over the entries that parsed: all problems at once
    if r.problems or name is None:
        return None
    return Fleet(name=name, seed=ctx.seed, path=path, gateways=tuple(ctx.gateways.values()), rtus=tuple(rtus))


def _is_list(node: Node) -> bool:
    return node.tag == "tag:yaml.org,2002:seq"


def _gateways(ctx: _Ctx, node: Node) -> dict[str, Gateway]:
    r = ctx.r
    out: dict[str, Gateway] = {}
    pairs = r.pairs(node, "gateways")
    ports: dict[int, str] = {}
    for gname, _key, value in pairs or []:
        path = join("gateways", gname)
        g = r.fields(value, path, allowed=GATEWAY_KEYS, required=GATEWAY_KEYS)
        port = r.integer(g.values["port"], g.at("port"), lo=1, hi=MAX_PORT) if "port" in g else None
        if port is None:
            continue
        if port in ports:
            r.err(g.values["port"], g.at("port"), f'port {port} is also gateway "{ports[port]}"')
            continue
        ports[port] = gname
        out[gname] = Gateway(gname, port)
    return out


def _entry(ctx: _Ctx, node: Node, path: str, defaults: Mapping[str, Node]) -> list[RtuSpec]:
    """One ``rtus:`` item -> its RTUs (one, or one per name of its id range)."""
    r = ctx.r
    f = r.fields(node, path, allowed=RTU_KEYS, required=("id", "modbus"))
    if not f.ok or "id" not in f:
        return []
    id_text = r.text(f.values["id"], f.at("id"), nonempty=True)
    if id_text is None:
        return []
    rng = find_range(id_text)
    if isinstance(rng, str):
        r.err(f.values["id"], f.at("id"), f"{rng} (got {show(f.values['id'])})")
        return []
    names = rng.names() if isinstance(rng, IdRange) else [id_text]
    if len(names) > MAX_RTUS:
        r.err(f.values["id"], f.at("id"), f"a range of {len(names)} RTUs; at most {MAX_RTUS} in a fleet")
        return []

    def pick(key: str) -> tuple[Node | None, str]:
        if key in f:
            return f.values[key], f.at(key)
        return defaults.get(key), join("defaults", key)

    tm_node, tm_path = pick("tagmap")
    if tm_node is None:
        r.err(node, path, 'missing required field "tagmap" (set it here or under defaults:)')
        return []
    tagmap_file = _tagmap(ctx, tm_node, tm_path)
    scenario = _scenario(ctx, *pick("scenario"), tagmap_file)
    flags = {k: _flag(r, *pick(k)) for k in ("opcua", "historian")}
    seeds = _indexed(r, f.get("seed"), f.at("seed"), len(names), lo=0, hi=2**63 - 1) if "seed" in f else None
    addresses = _addresses(ctx, f.values["modbus"], f.at("modbus"), len(names)) if "modbus" in f else None
    params = _parameter_specs(ctx, defaults.get("parameters"), f.get("parameters"), f.at("parameters"))
    if tagmap_file is None or addresses is None or params is None or (seeds is None and "seed" in f):
        return []
    line = node.start_mark.line + 1
    out = []
    for i, rtu_id in enumerate(names):
        values = {p: draw_value(spec, fleet_seed=ctx.seed, rtu_id=rtu_id, parameter=p, index=i, count=len(names))
                  for p, spec in params.items()}
        seed = seeds[i] if seeds is not None else rtu_seed(ctx.seed, rtu_id)
        out.append(RtuSpec(id=rtu_id, tagmap=tagmap_file, seed=seed, parameters=values, scenario=scenario,
                           modbus=addresses[i], opcua=flags["opcua"], historian=flags["historian"],
                           source_line=line))
    check_parameters(r, f.get("parameters") or node, f.at("parameters"), ctx.tagmaps[tagmap_file], out)
    return out


def _flag(r: Reader, node: Node | None, path: str) -> bool:
    if node is None:
        return False
    return bool(r.boolean(node, path))


def _file(ctx: _Ctx, node: Node, path: str, what: str) -> Path | None:
    text = ctx.r.text(node, path, nonempty=True)
    if text is None:
        return None
    file = (ctx.base / text).resolve() if not Path(text).is_absolute() else Path(text)
    if not file.is_file():
        ctx.r.err(node, path, f"{what} not found: {file} (paths are relative to the fleet file)")
        return None
    return file


def _tagmap(ctx: _Ctx, node: Node, path: str) -> Path | None:
    from plc_emulator.tagmap import load

    file = _file(ctx, node, path, "tag map")
    if file is None:
        return None
    if file not in ctx.tagmaps:
        try:
            ctx.tagmaps[file] = load(file)
        except TagMapError as exc:
            ctx.tagmaps[file] = None
            first = exc.problems[0] if exc.problems else "invalid"
            more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
            ctx.r.err(node, path, f"tag map {file} is invalid: {first}{more}")
    return file if ctx.tagmaps[file] is not None else None


def _scenario(ctx: _Ctx, node: Node | None, path: str, tagmap_file: Path | None) -> Path | None:
    from plc_emulator.scenario import ScenarioError, load_scenario

    if node is None:
        return None
    file = _file(ctx, node, path, "scenario")
    if file is None or tagmap_file is None or (file, tagmap_file) in ctx.scenarios:
        return file
    ctx.scenarios.add((file, tagmap_file))
    try:
        load_scenario(file, ctx.tagmaps[tagmap_file])
    except ScenarioError as exc:
        first = exc.problems[0] if exc.problems else "invalid"
        ctx.r.err(node, path, f"scenario {file} is invalid: {first}")
    return file


def _indexed(r: Reader, node: Node | None, path: str, count: int, *, lo: int, hi: int) -> list[int] | None:
    """An integer for every RTU of an entry: one number for all, or ``"{FIRST..LAST}"`` of ``count``."""
    if node is None:
        return None
    if isinstance(node, ScalarNode) and node.tag == T_STR:
        span = int_range(str(node.value))
        if span is None:
            r.err(node, path, f"must be an integer or a range {{FIRST..LAST}} (got {show(node)})")
            return None
        first, last = span
        if last < first:
            r.err(node, path, f"range runs backwards (got {show(node)})")
            return None
        if last - first + 1 != count:
            r.err(node, path, f"range has {last - first + 1} values for {count} RTUs (got {show(node)})")
            return None
        if first < lo or last > hi:
            r.err(node, path, f"range must stay within {lo}..{hi} (got {show(node)})")
            return None
        return list(range(first, last + 1))
    value = r.integer(node, path, lo=lo, hi=hi)
    return None if value is None else [value] * count


def _addresses(ctx: _Ctx, node: Node, path: str, count: int) -> list[ModbusAddress] | None:
    r = ctx.r
    f = r.fields(node, path, allowed=MODBUS_KEYS)
    if not f.ok:
        return None
    if "gateway" in f:
        if "port" in f:
            r.err(f.keys["port"], f.at("port"), "give either port (own port) or gateway + unit, not both")
            return None
        gname = r.text(f.values["gateway"], f.at("gateway"), nonempty=True)
        if gname is None:
            return None
        gw = ctx.gateways.get(gname)
        if gw is None:
            hint = did_you_mean(gname, ctx.gateways) if ctx.gateways else " (no gateways: are defined)"
            r.err(f.values["gateway"], f.at("gateway"), f'unknown gateway "{gname}"{hint}')
            return None
        if "unit" not in f:
            r.err(node, path, 'missing required field "unit" (the RTU\'s unit id on the gateway)')
            return None
        units = _indexed(r, f.values["unit"], f.at("unit"), count, lo=1, hi=MAX_UNIT_ID)
        return None if units is None else [ModbusAddress(gw.port, u, gw.name) for u in units]
    if "unit" in f:
        r.err(f.keys["unit"], f.at("unit"), "unit is for a gateway; an RTU on its own port answers unit 1")
        return None
    if "port" not in f:
        r.err(node, path, 'needs "port" (own port) or "gateway" + "unit"')
        return None
    ports = _indexed(r, f.values["port"], f.at("port"), count, lo=1, hi=MAX_PORT)
    if ports is not None and count > 1 and len(set(ports)) == 1:
        r.err(f.values["port"], f.at("port"), f"{count} RTUs cannot share one own port; give a range "
              f"{{FIRST..LAST}} of {count} ports, or a gateway + unit range")
        return None
    return None if ports is None else [ModbusAddress(p) for p in ports]


def _parameter_specs(ctx: _Ctx, defaults: Node | None, node: Node | None, path: str) -> dict[str, ValueSpec] | None:
    out: dict[str, ValueSpec] = {}
    ok = True
    for n, p in ((defaults, "defaults.parameters"), (node, path)):
        if n is None:
            continue
        pairs = ctx.r.pairs(n, p)
        if pairs is None:
            ok = False
            continue
        for name, _key, value in pairs:
            spec = _value_spec(ctx.r, value, join(p, name))
            ok = ok and spec is not None
            if spec is not None:
                out[name] = spec  # the entry's own value wins over the default
    return out if ok else None


def _value_spec(r: Reader, node: Node, path: str) -> ValueSpec | None:
    if isinstance(node, MappingNode):
        pairs = r.pairs(node, path)
        if pairs is None:
            return None
        if len(pairs) != 1 or pairs[0][0] not in {d.value for d in Draw}:
            forms = "; ".join(f"{{{d.value}: {shape}}}" for d, shape in DRAWS.items())
            r.err(node, path, f"must be a number or one of {forms}")
            return None
        kind = Draw(pairs[0][0])
        return _draw_args(r, pairs[0][2], join(path, kind.value), kind)
    if isinstance(node, ScalarNode) and node.tag == T_STR and int_range(str(node.value)) is not None:
        first, last = int_range(str(node.value)) or (0, 0)
        return ValueSpec(draw=Draw.LINSPACE, args=(float(first), float(last)))
    value = r.number(node, path)
    return None if value is None else ValueSpec(constant=value)


def _draw_args(r: Reader, node: Node, path: str, kind: Draw) -> ValueSpec | None:
    if not _is_list(node) or not node.value:
        r.err(node, path, f"must be a list {DRAWS[kind]} (got {show(node)})")
        return None
    nums = [r.number(v, join(path, i)) for i, v in enumerate(node.value)]
    if any(v is None for v in nums):
        return None
    args = tuple(float(v) for v in nums if v is not None)
    two = kind in (Draw.UNIFORM, Draw.NORMAL, Draw.LINSPACE)
    if two and len(args) != 2:
        r.err(node, path, f"must be a list {DRAWS[kind]} (got a list of {len(args)})")
        return None
    if kind is Draw.UNIFORM and args[1] < args[0]:
        r.err(node, path, f"high must be >= low (got {show(node.value[1])} < {show(node.value[0])})")
        return None
    if kind is Draw.NORMAL and args[1] < 0:
        r.err(node, path, f"standard deviation must be >= 0 (got {show(node.value[1])})")
        return None
    return ValueSpec(draw=kind, args=args)

