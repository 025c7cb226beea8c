"""Modbus points of the tag map: reference numbers, formats, scaling and address overlaps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from yaml.nodes import Node

from plc_emulator.tagmap._reader import BAD, Fields, Reader, show
from plc_emulator.tagmap.model import (
    WORD_ORDER_64,
    Access,
    ByteOrder,
    ModbusPoint,
    Table,
    TagKind,
    ValueFormat,
    WordOrder,
)

__all__ = ["MIRROR_KEYS", "POINT_KEYS", "AddressBook", "TagFacts", "parse_point", "parse_ref", "ref_text"]

POINT_KEYS = (
    "table",
    "address",
    "ref",
    "format",
    "word_order",
    "raw_range",
    "quality_address",
    "quality_ref",
    "bit",
    "registers",
    "byte_order",
)
MIRROR_KEYS = ("table", "address", "ref", "format", "word_order", "raw_range", "bit")

MAX_ADDRESS = 65535
MAX_STRING_REGISTERS = 123  # what one FC 16 request can write
_PREFIX = {Table.COIL: 0, Table.DISCRETE_INPUT: 1, Table.INPUT_REGISTER: 3, Table.HOLDING_REGISTER: 4}
_BY_PREFIX = {v: k for k, v in _PREFIX.items()}
_READ_ONLY = (Table.DISCRETE_INPUT, Table.INPUT_REGISTER)
_BIT_TABLES = (Table.COIL, Table.DISCRETE_INPUT)
_RAW_LIMITS = {ValueFormat.INT16: (-32768, 32767), ValueFormat.UINT16: (0, 65535)}
_WIDE = (ValueFormat.FLOAT32, ValueFormat.INT32, ValueFormat.UINT32, ValueFormat.FLOAT64, ValueFormat.INT64,
         ValueFormat.UINT64)


def parse_ref(text: str) -> tuple[Table, int] | str:
    """1-based reference number (as written) -> (table, 0-based address), or why it is not one.

    Up to 5 digits: 00001-09999 coils, 10001-19999 discrete inputs, 30001-39999 input registers,
    40001-49999 holding registers (40001 is holding address 0). 6 digits: 000001-065536,
    100001-165536, 300001-365536, 400001-465536. The digits are read as written, so a leading zero
    keeps its meaning (YAML would otherwise read ``040001`` as an octal number).
    """
    text = text.strip()
    if not text.isdigit() or len(text) > 6:
        return "is not a reference number such as 40001 or 400001"
    n = int(text)
    if len(text) == 6:
        prefix, offset, limit = n // 100_000, n % 100_000, MAX_ADDRESS + 1
    else:
        prefix, offset, limit = n // 10_000, n % 10_000, 9999
    if prefix not in _BY_PREFIX:
        return "is not a reference number (0xxxx coil, 1xxxx discrete input, 3xxxx input, 4xxxx holding)"
    if offset == 0:
        return "is not a reference number (they start at 1: 40001 is holding register address 0)"
    if offset > limit:
        return f"is past address {MAX_ADDRESS}"
    return _BY_PREFIX[prefix], offset - 1


def ref_text(table: Table, address: int) -> str:
    """The reference number users know: holding address 0 -> ``40001``, address 9999 -> ``410000``."""
    n = address + 1
    return f"{_PREFIX[table]}{n:04d}" if n <= 9999 else f"{_PREFIX[table]}{n:05d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TagFacts:
    """What point validation needs to know about the tag that owns the point."""

    key: str
    kind: TagKind | None
    access: Access | None
    range: tuple[float, float] | None
    signal: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Span:
    table: Table
    first: int
    last: int
    owner: str
    node: Node
    path: str
    bit: int | None = None

    def text(self) -> str:
        a, b = ref_text(self.table, self.first), ref_text(self.table, self.last)
        span = a if a == b else f"{a}-{b}"
        return span if self.bit is None else f"{span} bit {self.bit}"


class AddressBook:
    """Every occupied register and bit, to report overlaps at the later of two points."""

    def __init__(self) -> None:
        self._spans: list[_Span] = []

    def claim(
        self, r: Reader, *, table: Table, first: int, count: int, owner: str, node: Node, path: str,
        bit: int | None = None,
    ) -> None:
        span = _Span(table=table, first=first, last=first + count - 1, owner=owner, node=node, path=path, bit=bit)
        for other in self._spans:
            if span.bit is not None and other.bit is not None and span.bit != other.bit:
                continue  # two bits of one status word
            if other.table is span.table and other.first <= span.last and span.first <= other.last:
                r.err(node, path, f"{span.text()} overlaps {other.owner} ({other.text()})")
                break
        self._spans.append(span)


def _address(r: Reader, f: Fields, *, quality: bool) -> tuple[Table | None, int, Node] | None:
    """``ref`` or ``table`` + ``address`` (or the ``quality_`` pair) -> (table, address, node).

    For ``quality_address`` the table is None: it is the table of the value it belongs to.
    """
    ref_key, addr_key = ("quality_ref", "quality_address") if quality else ("ref", "address")
    ref_node, addr_node = f.get(ref_key), f.get(addr_key)
    if ref_node is not None and addr_node is not None:
        r.err(addr_node, f.at(addr_key), f'give either "{ref_key}" or "{addr_key}", not both')
        return None
    if ref_node is not None:
        raw = r.scalar(ref_node, f.at(ref_key), "a reference number")
        if raw is BAD:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(ref_node.value).isdigit():
            r.err(ref_node, f.at(ref_key), f"must be a reference number such as 40001 (got {show(ref_node)})")
            return None
        got = parse_ref(str(ref_node.value))
        if isinstance(got, str):
            r.err(ref_node, f.at(ref_key), f"{show(ref_node)} {got}")
            return None
        table, address = got
        table_node = f.get("table")
        if not quality and table_node is not None:
            declared = r.choice(table_node, f.at("table"), Table)
            if declared is not None and declared is not table:
                r.err(
                    table_node,
                    f.at("table"),
                    f"{declared.value} disagrees with ref {show(ref_node)}, which is a {table.value}",
                )
                return None
        return table, address, ref_node
    if addr_node is None:
        if not quality:
            r.err(f.node, f.path, 'missing required field "ref" (or "table" and "address")')
        return None
    number = r.integer(addr_node, f.at(addr_key), lo=0)
    if number is not None and number > MAX_ADDRESS:
        r.err(addr_node, f.at(addr_key), f"address past {MAX_ADDRESS} (got {number})")
        return None
    if quality:
        return None if number is None else (None, number, addr_node)
    table_node = f.get("table")
    if table_node is None:
        r.err(f.node, f.path, 'missing required field "table" (with "address")')
        return None
    chosen = r.choice(table_node, f.at("table"), Table)
    if chosen is None or number is None:
        return None
    return chosen, number, addr_node


def parse_point(
    r: Reader,
    node: Node,
    path: str,
    *,
    tag: TagFacts,
    word_order: WordOrder,
    book: AddressBook,
    mirror: bool = False,
) -> ModbusPoint | None:
    """One ``modbus:`` (or ``modbus_mirrors[i]``) mapping -> ModbusPoint; claims its addresses."""
    f = r.fields(node, path, allowed=MIRROR_KEYS if mirror else POINT_KEYS, required=("format",))
    if not f.ok:
        return None
    where = _address(r, f, quality=False)
    fmt_node = f.get("format")
    fmt = None if fmt_node is None else r.choice(fmt_node, f.at("format"), ValueFormat)
    ok = where is not None and fmt is not None
    table = where[0] if where else None

    # word order: 32-bit formats only; tag > device > map default
    order = word_order
    wo_node = f.get("word_order")
    if wo_node is not None:
        chosen = _word_order(r, wo_node, f.at("word_order"), fmt)
        ok = ok and chosen is not None
        if chosen is not None:
            order = chosen
            if fmt is not None and fmt not in _WIDE:
                r.err(wo_node, f.at("word_order"),
                      f"applies to 32- and 64-bit formats only (got {fmt.value} format)")
                ok = False

    raw_ok, raw = _raw_range(r, f, fmt, fmt_node)
    ok = ok and raw_ok

    if table is not None and fmt is not None and where is not None:
        ok = _check_format(r, f, table, fmt, tag, mirror=mirror, where_node=where[2]) and ok
    bit = _bit(r, f, table, fmt)
    ok = ok and bit is not False
    text = _string(r, f, fmt, tag, mirror=mirror)
    ok = ok and text is not None

    if not ok or where is None or fmt is None or table is None:
        return None
    address, addr_node = where[1], where[2]
    addr_key = "ref" if "ref" in f else "address"
    point = ModbusPoint(
        table=table,
        address=address,
        format=fmt,
        word_order=order if fmt in _WIDE else WordOrder.ABCD,
        raw_range=raw,
        bit=bit if isinstance(bit, int) and not isinstance(bit, bool) else None,
        length=text[0] if text else 0,
        byte_order=text[1] if text else ByteOrder.HIGH_FIRST,
    )
    if address + point.count - 1 > MAX_ADDRESS:
        r.err(
            addr_node,
            f.at(addr_key),
            f"{fmt.value} at {address} runs past address {MAX_ADDRESS} (needs {point.count} registers)",
        )
        return None
    book.claim(
        r,
        table=table,
        first=address,
        count=point.count,
        owner=tag.key + (" mirror" if mirror else ""),
        node=addr_node,
        path=f.at(addr_key),
        bit=point.bit,
    )
    if not mirror and ("quality_ref" in f or "quality_address" in f):
        if point.bit is not None:
            r.err(f.node, f.path, "a bit of a status word has no quality register of its own")
            return None
        quality = _quality(r, f, table, tag, book)
        if quality is None:
            return None
        point = dataclasses.replace(point, quality_address=quality)
    return point


def _raw_range(r: Reader, f: Fields, fmt: ValueFormat | None,
               fmt_node: Node | None) -> tuple[bool, tuple[int, int] | None]:
    """Scaling: int16/uint16 need ``raw_range`` within the type's range; other formats refuse it.
    Returns (ok, raw range or None)."""
    ok = True
    raw: tuple[int, int] | None = None
    raw_node = f.get("raw_range")
    if fmt in _RAW_LIMITS and raw_node is None and fmt_node is not None and fmt is not None:
        r.err(
            fmt_node, f.at("format"), f"scaled {fmt.value} needs raw_range: [lo, hi] (mapped to the EU range)"
        )
        ok = False
    elif raw_node is not None:
        got = r.pair(raw_node, f.at("raw_range"), integers=True)
        ok = ok and got is not None
        if got is not None and fmt is not None:
            lo, hi = int(got[0]), int(got[1])
            if fmt not in _RAW_LIMITS:
                r.err(raw_node, f.at("raw_range"), f"applies to int16/uint16 only (got {fmt.value} format)")
                ok = False
            elif lo >= hi:
                r.err(raw_node, f.at("raw_range"), f"lo must be < hi (got [{lo}, {hi}])")
                ok = False
            elif lo < _RAW_LIMITS[fmt][0] or hi > _RAW_LIMITS[fmt][1]:
                tlo, thi = _RAW_LIMITS[fmt]
                r.err(
                    raw_node,
                    f.at("raw_range"),
                    f"outside the {fmt.value} range {tlo}..{thi} (got [{lo}, {hi}])",
                )
                ok = False
            else:
                raw = (lo, hi)
    return ok, raw


def _word_order(r: Reader, node: Node, path: str, fmt: ValueFormat | None) -> WordOrder | None:
    """ABCD/CDAB/BADC/DCBA, or for 64-bit formats also ABCDEFGH/GHEFCDAB/BADCFEHG/HGFEDCBA."""
    wide = fmt is not None and fmt.registers == 4 and isinstance(node.value, str)
    if wide and node.value in WORD_ORDER_64:
        return WORD_ORDER_64[node.value]
    if wide and node.value not in {w.value for w in WordOrder}:
        r.err(node, path, f"must be one of {', '.join(WORD_ORDER_64)} (got {show(node)})")
        return None
    return r.choice(node, path, WordOrder)


def _bit(r: Reader, f: Fields, table: Table | None, fmt: ValueFormat | None) -> int | bool | None:
    """``bit: 0..15`` of a bool packed into a register; None without one, False when wrong."""
    node = f.get("bit")
    if node is None:
        return None
    n = r.integer(node, f.at("bit"), lo=0)
    if n is None:
        return False
    if n > 15:
        r.err(node, f.at("bit"), f"a register has bits 0..15 (got {n})")
        return False
    if fmt is not ValueFormat.BOOL or table in _BIT_TABLES:
        r.err(node, f.at("bit"), "bit applies to bool points in a register table (status words)")
        return False
    return n


def _string(r: Reader, f: Fields, fmt: ValueFormat | None, tag: TagFacts, *,
            mirror: bool) -> tuple[int, ByteOrder] | None:
    """``registers:`` and ``byte_order:`` of a string point ((0, HIGH_FIRST) for other formats); None when wrong."""
    n_node, o_node = f.get("registers"), f.get("byte_order")
    if fmt is not ValueFormat.STRING:
        for key, node in (("registers", n_node), ("byte_order", o_node)):
            if node is not None:
                r.err(node, f.at(key), "applies to string points only")
                return None
        return 0, ByteOrder.HIGH_FIRST
    if mirror:
        r.err(f.values["format"], f.at("format"), "a string has no mirrors")
        return None
    if tag.signal is not None and not tag.signal.startswith("mem."):
        r.err(f.values["format"], f.at("format"),
              f"strings are free memory points: bind the tag to mem.<name> (got {tag.signal})")
        return None
    if n_node is None:
        r.err(f.values["format"], f.at("format"), "a string needs registers: N (2 characters per register)")
        return None
    n = r.integer(n_node, f.at("registers"), lo=1, hi=MAX_STRING_REGISTERS)
    order = ByteOrder.HIGH_FIRST if o_node is None else r.choice(o_node, f.at("byte_order"), ByteOrder)
    if n is None or order is None:
        return None
    return n, order


def _quality(r: Reader, f: Fields, table: Table, tag: TagFacts, book: AddressBook) -> int | None:
    """The quality register: same register table as the value, one register, claimed like any other."""
    q = _address(r, f, quality=True)
    if q is None:
        return None
    q_table, q_addr, q_node = q
    q_key = "quality_ref" if "quality_ref" in f else "quality_address"
    if table in _BIT_TABLES:
        r.err(q_node, f.at(q_key), f"quality registers need a register table (the value is a {table.value})")
        return None
    if q_table is not None and q_table is not table:
        r.err(q_node, f.at(q_key), f"must be in the value's table {table.value} (got {q_table.value})")
        return None
    book.claim(
        r, table=table, first=q_addr, count=1, owner=f"{tag.key} quality", node=q_node, path=f.at(q_key)
    )
    return q_addr


def _check_format(
    r: Reader, f: Fields, table: Table, fmt: ValueFormat, tag: TagFacts, *, mirror: bool, where_node: Node
) -> bool:
    fmt_node = f.values["format"]
    table_key = "ref" if "ref" in f else "table"
    table_node = f.values.get(table_key, where_node)
    if table in _BIT_TABLES and fmt is not ValueFormat.BOOL:
        r.err(fmt_node, f.at("format"), f"{table.value} points carry bool only (got {fmt.value})")
        return False
    if fmt is ValueFormat.BOOL:
        if tag.kind is not None and tag.kind is not TagKind.DISCRETE:
            r.err(
                fmt_node, f.at("format"), f"bool needs a two-state discrete tag (got kind {tag.kind.value})"
            )
            return False
        if table not in _BIT_TABLES and tag.range is not None and tag.range != (0.0, 1.0):
            r.err(
                fmt_node,
                f.at("format"),
                f"bool in a {table.value} is 0/1 only: range must be [0, 1] "
                f"(got [{tag.range[0]:g}, {tag.range[1]:g}])",
            )
            return False
    if mirror and table not in _READ_ONLY:
        r.err(
            table_node,
            f.at(table_key),
            f"mirrors are read-only copies: use input_register or discrete_input (got {table.value})",
        )
        return False
    if not mirror and tag.access is Access.RW and table in _READ_ONLY:
        r.err(
            table_node,
            f.at(table_key),
            f"rw tag on read-only table {table.value} (use holding_register or coil)",
        )
        return False
    return True
