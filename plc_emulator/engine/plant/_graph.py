"""Plant file -> validated graph: loops, instruments and interlocks expanded into units and
connections, then every port, unit, signal and algebraic-loop check, all problems at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plc_emulator.engine.blocks import LIBRARY, BlockSpec, Direction, Port, SignalKind
from plc_emulator.engine.plant._model import Connection, PlantFile, Unit, Where
from plc_emulator.engine.plant._signals import SignalRef, signal_table
from plc_emulator.tagmap._reader import Problems, did_you_mean

__all__ = ["Graph", "build_graph"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """A plant whose every connection is known to be valid: ready to compile."""

    name: str
    file: str
    units: Mapping[str, Unit]  # incl. the transmitters, PIDs and interlocks the file implies
    connections: tuple[Connection, ...]
    signals: Mapping[str, SignalRef]
    conditions: Mapping[str, tuple[tuple[str, float | None, float | None], ...]]  # interlock -> trips

    def spec(self, unit: str) -> BlockSpec:
        return LIBRARY[self.units[unit].block]


def _implied(p: PlantFile) -> tuple[list[Unit], list[Connection]]:
    """The units and connections that instruments, loops and interlocks stand for."""
    units: list[Unit] = []
    conns: list[Connection] = []
    for ins in p.instruments:
        units.append(Unit(name=ins.name, block="transmitter", where=ins.where, params={
            "lo": ins.range[0], "hi": ins.range[1], "accuracy_pct": ins.accuracy_pct, "bits": float(ins.bits),
            "comm_timeout_s": ins.comm_timeout_s, "field": 1.0 if ins.field else 0.0}))
    by_signal = {ins.measures: ins for ins in p.instruments}
    for lp in p.loops:
        found = by_signal.get(lp.pv)
        lo, hi = found.range if found is not None else (0.0, 100.0)
        sp_lo, sp_hi = lp.sp_limits or (lo, hi)
        units.append(Unit(name=lp.name, block="pid", where=lp.where, params={
            "kc": lp.kc, "ti": lp.ti, "td": lp.td, "action": 0.0 if lp.action == "direct" else 1.0,
            "pv_lo": lo, "pv_hi": hi, "sp_lo": sp_lo, "sp_hi": sp_hi},
            initial={"sp": lp.sp, "mode": 1.0 if lp.auto else 0.0, "out": lp.out}))
        dst, port = lp.output.split(".", 1)
        conns.append(Connection(src=lp.name, src_port="out", dst=dst, dst_port=port, where=lp.where,
                                owner=lp.name))
        if found is not None:
            for out, inp in (("pct", "pv"), ("bad", "pv_bad")):
                conns.append(Connection(src=found.name, src_port=out, dst=lp.name, dst_port=inp, where=lp.where,
                                        owner=found.name))
    for lock in p.interlocks:
        units.append(Unit(name=lock.name, block="interlock", where=lock.where,
                          params={"latching": 1.0 if lock.latching else 0.0, "delay_s": lock.delay_s}))
        for ref, at in lock.acts_on:
            dst, port = ref.split(".", 1)
            conns.append(Connection(src=lock.name, src_port="trip", dst=dst, dst_port=port, where=at,
                                    owner=lock.name))
    return units, conns


def build_graph(p: PlantFile, problems: Problems, *, partial: bool = False) -> Graph:
    """Check the graph; problems already reported for an entry (``p.broken``) are not echoed, and
    with ``partial`` (entries of the file were refused) unconnected inputs are not reported."""
    units: dict[str, Unit] = {}
    implied, implied_conns = _implied(p)
    rejected: set[str] = {b.split(".", 1)[1] for b in p.broken}
    for u in (*p.units, *implied):
        if u.name in units:
            first = units[u.name].where
            problems.add((u.where.line, u.where.col), u.name,
                         f'name "{u.name}" is already used (line {first.line}); units, instruments, '
                         "loops and interlocks share one namespace")
            rejected.add(u.name)
            continue
        units[u.name] = u
    checked = [(c, _check_connection(c, units, rejected, problems)) for c in (*p.connections, *implied_conns)
               if c.owner not in rejected or not c.owner]
    conns = [c for c, ok in checked if ok]
    failed = {u for c, ok in checked if not ok for u in (c.src, c.dst)}  # connection already reported
    _check_fan_in(conns, problems)
    signals, attempted = signal_table(p, units, problems)
    quiet = {(lp.name, "pv") for lp in p.loops
             if lp.pv not in signals or signals[lp.pv].instrument in (None, *rejected)}
    if not partial:
        _check_unconnected({k: u for k, u in units.items() if k not in failed}, conns, quiet, problems)
    broken_instrument = any(b.startswith("instruments.") for b in p.broken)
    _check_loops(p, signals, attempted if not broken_instrument else set(signals), problems)
    _check_interlocks(p, signals, problems)
    _check_algebraic(units, conns, problems)
    conditions = {lk.name: tuple((c.signal, c.above, c.below) for c in lk.conditions) for lk in p.interlocks}
    return Graph(name=p.name, file=p.file, units=units, connections=tuple(conns), signals=signals,
                 conditions=conditions)


def _at(w: Where) -> tuple[int, int]:
    return (w.line, w.col)


def _port(c: Connection, unit: str, port: str, units: Mapping[str, Unit], rejected: set[str],  # noqa: PLR0917
          problems: Problems, want: Direction) -> Port | None:
    u = units.get(unit)
    if u is None and unit in rejected:
        return None  # its entry is already reported
    if u is None:
        problems.add(_at(c.where), "connections", f'unknown unit "{unit}" in "{c.text()}"'
                     f"{did_you_mean(unit, units)}")
        return None
    spec = LIBRARY[u.block]
    p = spec.port(port)
    if p is None:
        names = [q.name for q in spec.ports if q.direction is want]
        problems.add(_at(c.where), "connections", f'unknown port "{unit}.{port}" ({u.block} has '
                     f"{want.value}puts {', '.join(names) or 'none'}){did_you_mean(port, names)}")
        return None
    if p.direction is not want:
        side = "from an output" if want is Direction.OUT else "to an input"
        problems.add(_at(c.where), "connections", f'"{unit}.{port}" is an {p.direction.value}put; a '
                     f"connection goes {side} (in \"{c.text()}\")")
        return None
    return p


def _check_connection(c: Connection, units: Mapping[str, Unit], rejected: set[str], problems: Problems) -> bool:
    src = _port(c, c.src, c.src_port, units, rejected, problems, Direction.OUT)
    dst = _port(c, c.dst, c.dst_port, units, rejected, problems, Direction.IN)
    if src is None or dst is None:
        return False
    if src.quantity is not dst.quantity:
        problems.add(_at(c.where), "connections", f"unit mismatch in \"{c.text()}\": {c.src}.{c.src_port} is "
                     f"{src.quantity.value} [{src.unit}], {c.dst}.{c.dst_port} takes {dst.quantity.value} "
                     f"[{dst.unit}]")
        return False
    return True


def _check_fan_in(conns: list[Connection], problems: Problems) -> None:
    seen: dict[tuple[str, str], Connection] = {}
    for c in conns:
        key = (c.dst, c.dst_port)
        if key in seen:
            first = seen[key]
            problems.add(_at(c.where), "connections", f'input "{c.dst}.{c.dst_port}" is connected twice '
                         f'("{first.text()}" at line {first.where.line}, "{c.text()}" here); '
                         "merge streams with a header")
        else:
            seen[key] = c


def _check_unconnected(units: Mapping[str, Unit], conns: list[Connection], quiet: set[tuple[str, str]],
                       problems: Problems) -> None:
    fed = {(c.dst, c.dst_port) for c in conns} | quiet
    for u in units.values():
        for p in LIBRARY[u.block].inputs():
            if not p.optional and (u.name, p.name) not in fed:
                problems.add(_at(u.where), u.name, f'input port "{u.name}.{p.name}" ({p.quantity.value} '
                             f"[{p.unit}]) is not connected")


def _check_loops(p: PlantFile, signals: Mapping[str, SignalRef], attempted: set[str],
                 problems: Problems) -> None:
    """PV an instrumented signal (not repeated when its instrument was refused), SP in range."""
    for lp in p.loops:
        ref = signals.get(lp.pv)
        if ref is None:
            problems.add(_at(lp.where), f"loops.{lp.name}.pv", f'unknown signal "{lp.pv}"'
                         f"{did_you_mean(lp.pv, signals)}")
        elif ref.spec.kind is not SignalKind.MEASURED and lp.pv not in attempted:
            problems.add(_at(lp.where), f"loops.{lp.name}.pv", f'PV "{lp.pv}" is not an instrument: a controller '
                         "reads a transmitter; add one under instruments: with measures: " + lp.pv)
        lo, hi = ref.spec.range if ref is not None else (-float("inf"), float("inf"))
        if ref is not None and not lo <= lp.sp <= hi:
            problems.add(_at(lp.where), f"loops.{lp.name}.sp", f"outside the PV range {lo:g} .. {hi:g} "
                         f"(got {lp.sp:g})")
        if lp.sp_limits is not None and not lp.sp_limits[0] <= lp.sp <= lp.sp_limits[1]:
            problems.add(_at(lp.where), f"loops.{lp.name}.sp", f"outside sp_limits {lp.sp_limits[0]:g} .. "
                         f"{lp.sp_limits[1]:g} (got {lp.sp:g})")


def _check_interlocks(p: PlantFile, signals: Mapping[str, SignalRef], problems: Problems) -> None:
    for lock in p.interlocks:
        for c in lock.conditions:
            if c.signal not in signals:
                problems.add(_at(c.where), f"interlocks.{lock.name}.conditions", f'unknown signal "{c.signal}"'
                             f"{did_you_mean(c.signal, signals)}")
        # acts_on targets are checked as the connections "{lock}.trip -> UNIT.port" (FLAG inputs)


def _check_algebraic(units: Mapping[str, Unit], conns: list[Connection], problems: Problems) -> None:
    """A cycle through direct-feedthrough ports only (no state-holding output on it)."""
    edges: dict[str, list[tuple[str, Connection | None]]] = {}
    for c in conns:
        edges.setdefault(f"{c.src}.{c.src_port}", []).append((f"{c.dst}.{c.dst_port}", c))
    for u in units.values():
        for p in LIBRARY[u.block].outputs():
            for d in p.depends:
                edges.setdefault(f"{u.name}.{d}", []).append((f"{u.name}.{p.name}", None))
    reported: set[frozenset[str]] = set()
    for start in sorted(edges):
        cycle = _cycle_from(start, edges)
        if cycle is None or frozenset(n for n, _ in cycle) in reported:
            continue
        reported.add(frozenset(n for n, _ in cycle))
        first = min((c for _, c in cycle if c is not None), key=lambda c: (c.where.line, c.where.col))
        path = " -> ".join([n for n, _ in cycle] + [cycle[0][0]])
        problems.add(_at(first.where), "connections", f"algebraic loop: {path}; every block on it passes "
                     "its input straight through (put a vessel, header or other state between)")


def _cycle_from(start: str, edges: Mapping[str, list[tuple[str, Connection | None]]]
                ) -> list[tuple[str, Connection | None]] | None:
    """The shortest cycle through ``start`` (breadth-first, bounded by the number of nodes)."""
    prev: dict[str, tuple[str, Connection | None]] = {}
    frontier = [start]
    for _ in range(len(edges) + 1):
        nxt: list[str] = []
        for node in frontier:
            for to, c in edges.get(node, ()):
                if to == start:
                    path = [(node, c)]
                    while path[-1][0] != start:
                        path.append(prev[path[-1][0]])
                    return [(n, cc) for n, cc in reversed(path)]
                if to not in prev:
                    prev[to] = (node, c)
                    nxt.append(to)
        if not nxt:
            return None
        frontier = nxt
    return None


