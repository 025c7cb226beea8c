"""Modbus register codecs and the register image of a tag map (pure: numpy + stdlib).

:class:`RegisterImage` builds its address tables once from the tag map and then, once per scan,
turns the tag values and StatusCodes into the four Modbus tables with a handful of vectorised numpy
operations per (table, format, word order) group, so a Modbus read is a slice. It also decodes
client writes back into validated :class:`~plc_emulator.commands.Command` objects.

Conventions (docs/modbus.md):

* 32-bit values (float32, int32, uint32) in word order ABCD, CDAB, BADC or DCBA, 64-bit values
  (float64, int64, uint64) in the same four orders (ABCDEFGH, GHEFCDAB, BADCFEHG, HGFEDCBA);
  integers are rounded and clamped to their type; NaN encodes as 0 for integers (the quality
  register says why).
* int16/uint16 with a ``raw_range`` are scaled linearly raw_lo..raw_hi <-> EU range, rounded and
  clamped to the raw range; without one they carry the rounded value clamped to the type.
* bool: a coil/discrete bit, or 0/1 in a register, or one bit of a register (``bit``: status words
  whose bits are separate tags).
* Each point may name a quality register (``quality_address``) in its own table; points in the bit
  tables put theirs in the holding registers. The word is :func:`~plc_emulator.image.quality.quality_words`.
* string: fixed-length 7-bit ASCII, two characters per register, high byte first (``high_first``)
  or low byte first (``low_first``), padded with NUL; the text lives in the memory point store and
  reaches the image through ``Snapshot.texts`` (the value column carries its length).
* Reads may span gaps between points (they read 0); writes must cover whole writable points.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from plc_emulator.commands import Command
from plc_emulator.errors import Rejection, WriteRejected
from plc_emulator.image.quality import quality_words
from plc_emulator.image.writes import validate_text_write, validate_write
from plc_emulator.tagmap.model import Access, ByteOrder, ModbusPoint, Table, Tag, TagMap, ValueFormat, WordOrder

__all__ = [
    "BIT_TABLES",
    "REFERENCE_BASE",
    "PointRef",
    "PointRole",
    "RegisterImage",
    "decode_words",
    "encode_words",
    "mirrors_of",
    "string_text",
    "string_words",
]

F64 = npt.NDArray[np.float64]
U16 = npt.NDArray[np.uint16]
BOOLS = npt.NDArray[np.bool_]
IDX = npt.NDArray[np.intp]

BIT_TABLES: Final = (Table.COIL, Table.DISCRETE_INPUT)
REGISTER_TABLES: Final = (Table.HOLDING_REGISTER, Table.INPUT_REGISTER)
# 1-based reference number of PDU address 0 in each table (5-digit convention; docs/modbus.md).
REFERENCE_BASE: Final[dict[Table, int]] = {
    Table.COIL: 1,
    Table.DISCRETE_INPUT: 10001,
    Table.INPUT_REGISTER: 30001,
    Table.HOLDING_REGISTER: 40001,
}
_INT32 = (-(2**31), 2**31 - 1)
_UINT32 = (0, 2**32 - 1)
# float64 cannot hold 2**63 - 1 or 2**64 - 1: clamp to the largest doubles below the type's limit
_INT64 = (-(2.0**63), 2.0**63 - 1024)
_UINT64 = (0.0, 2.0**64 - 2048)
_INT16 = (-(2**15), 2**15 - 1)
_UINT16 = (0, 2**16 - 1)


class PointRole(StrEnum):
    VALUE = "value"  # the tag's main point
    MIRROR = "mirror"  # an extra point for the same value (Tag.modbus_mirrors)
    QUALITY = "quality"  # the OPC DA quality word of a value or mirror point


@dataclass(frozen=True, slots=True, kw_only=True)
class PointRef:
    """One addressable item of the image: which tag, which table and registers, which role."""

    tag_index: int
    tag: Tag
    point: ModbusPoint  # for QUALITY: the value point the quality belongs to
    role: PointRole
    table: Table
    address: int
    count: int

    @property
    def writable(self) -> bool:
        return (
            self.role is not PointRole.QUALITY
            and self.tag.access is Access.RW
            and self.table in (Table.HOLDING_REGISTER, Table.COIL)
        )


def mirrors_of(tag: Tag) -> tuple[ModbusPoint, ...]:
    """``Tag.modbus_mirrors``: extra read-only points carrying the same value."""
    return tuple(tag.modbus_mirrors)


# --------------------------------------------------------------------------- word codecs (vectorised)


def _bswap(w: U16) -> U16:
    out: U16 = ((w >> 8) | (w << 8)).astype(np.uint16)
    return out


def _order(words: list[U16], order: WordOrder) -> list[U16]:
    """Big-endian words (ABCD / ABCDEFGH) -> the registers in ``order``."""
    if order is WordOrder.ABCD:
        return words
    if order is WordOrder.CDAB:
        return words[::-1]
    if order is WordOrder.BADC:
        return [_bswap(w) for w in words]
    return [_bswap(w) for w in words[::-1]]  # DCBA


def _unorder(regs: Sequence[int], order: WordOrder) -> list[int]:
    """The registers in ``order`` -> big-endian words."""
    def sw(w: int) -> int:
        return ((w >> 8) | (w << 8)) & 0xFFFF

    ws = [int(w) & 0xFFFF for w in regs]
    if order is WordOrder.ABCD:
        return ws
    if order is WordOrder.CDAB:
        return ws[::-1]
    if order is WordOrder.BADC:
        return [sw(w) for w in ws]
    return [sw(w) for w in ws[::-1]]  # DCBA


def _round_clip(v: F64, lo: float, hi: float) -> F64:
    out = np.minimum(v, hi)  # +-inf -> the bounds; NaN stays NaN ...
    np.maximum(out, lo, out=out)
    out[np.isnan(out)] = 0.0  # ... and becomes 0
    np.rint(out, out=out)
    return out


_WIDE_CODE: Final = {ValueFormat.FLOAT32: ">f4", ValueFormat.INT32: ">i4", ValueFormat.UINT32: ">u4",
                     ValueFormat.FLOAT64: ">f8", ValueFormat.INT64: ">i8", ValueFormat.UINT64: ">u8"}
_CLAMP: Final = {ValueFormat.INT32: _INT32, ValueFormat.UINT32: _UINT32, ValueFormat.INT64: _INT64,
                 ValueFormat.UINT64: _UINT64}


def _words_wide(v: F64, fmt: ValueFormat) -> list[U16]:
    with np.errstate(over="ignore", invalid="ignore"):
        return _words_wide_quiet(v, fmt)


def _words_wide_quiet(v: F64, fmt: ValueFormat) -> list[U16]:
    """Values -> their big-endian words, one array per word (for callers that silenced over/invalid)."""
    clamp = _CLAMP.get(fmt)
    raw = (v if clamp is None else _round_clip(v, *clamp)).astype(_WIDE_CODE[fmt])
    n = fmt.registers
    words = raw.view(">u2").reshape(-1, n).astype(np.uint16)
    return [words[:, i] for i in range(n)]


@dataclass(frozen=True, slots=True)
class _Scale:
    """Per-point parameters of the 16-bit path: raw = raw_lo + (EU - eu_lo) * k, clipped to lo..hi."""

    eu_lo: F64
    raw_lo: F64
    k: F64
    lo: F64
    hi: F64
    signed: bool

    @classmethod
    def of(cls, fmt: ValueFormat,
           items: Sequence[tuple[tuple[float, float], tuple[int, int] | None]]) -> _Scale:
        """``items``: (EU range, raw range or None) per point; all points share ``fmt``."""
        tlo, thi = _INT16 if fmt is ValueFormat.INT16 else _UINT16
        eu_lo, raw_lo, k, lo, hi = [], [], [], [], []
        for (e0, e1), rr in items:
            if rr is not None and rr[0] != rr[1] and e1 != e0:
                eu_lo.append(e0)
                raw_lo.append(float(rr[0]))
                k.append((rr[1] - rr[0]) / (e1 - e0))
                lo.append(float(max(min(rr), tlo)))
                hi.append(float(min(max(rr), thi)))
            else:  # unscaled: the value itself, clamped to the type
                eu_lo.append(0.0)
                raw_lo.append(0.0)
                k.append(1.0)
                lo.append(float(tlo))
                hi.append(float(thi))

        def arr(x: list[float]) -> F64:
            return np.asarray(x, dtype=np.float64)

        return cls(arr(eu_lo), arr(raw_lo), arr(k), arr(lo), arr(hi), fmt is ValueFormat.INT16)

    def apply(self, v: F64) -> U16:
        with np.errstate(invalid="ignore", over="ignore"):
            return self.apply_quiet(v)

    def apply_quiet(self, v: F64) -> U16:
        """:meth:`apply` for callers that already silenced over/invalid (one errstate per scan)."""
        raw = self.raw_lo + (v - self.eu_lo) * self.k
        raw[np.isnan(raw)] = 0.0  # NaN -> 0, then clamped like any value (+-inf clamp to the bounds)
        np.minimum(raw, self.hi, out=raw)
        np.maximum(raw, self.lo, out=raw)
        np.rint(raw, out=raw)
        out: U16 = raw.astype(np.int16).view(np.uint16) if self.signed else raw.astype(np.uint16)
        return out


def encode_words(value: float, point: ModbusPoint, eu_range: tuple[float, float]) -> list[int]:
    """One value -> its registers (scalar helper for tests and tools; the image uses the vector path)."""
    v = np.asarray([value], dtype=np.float64)
    fmt = point.format
    if fmt.registers > 1:
        return [int(w[0]) for w in _order(_words_wide(v, fmt), point.word_order)]
    if fmt is ValueFormat.BOOL:
        on = int(bool(abs(v[0]) > 0))  # NaN -> 0
        return [on << point.bit] if point.bit is not None else [on]
    w = _Scale.of(fmt, [(eu_range, point.raw_range)]).apply(v)
    return [int(w[0])]


def decode_words(words: Sequence[int], point: ModbusPoint, eu_range: tuple[float, float]) -> float:
    """Registers -> EU value (the inverse of :func:`encode_words` up to float32/raw resolution)."""
    fmt = point.format
    n = fmt.registers
    if n > 1:
        data = struct.pack(f">{n}H", *_unorder(words[:n], point.word_order))
        return float(np.frombuffer(data, dtype=_WIDE_CODE[fmt])[0])
    w = int(words[0]) & 0xFFFF
    if fmt is ValueFormat.BOOL:
        return float((w >> point.bit) & 1) if point.bit is not None else float(w)
    raw = w - 0x10000 if fmt is ValueFormat.INT16 and w >= 0x8000 else w
    rr = point.raw_range
    eu_lo, eu_hi = eu_range
    if rr is None or rr[1] == rr[0] or eu_hi == eu_lo:  # unscaled, as in _Scale.of
        return float(raw)
    return eu_lo + (raw - rr[0]) * (eu_hi - eu_lo) / (rr[1] - rr[0])


def string_words(text: str, registers: int, order: ByteOrder) -> list[int]:
    """ASCII ``text`` -> ``registers`` words, NUL-padded (longer text is cut: callers validate first)."""
    raw = text.encode("ascii", "replace")[: 2 * registers].ljust(2 * registers, b"\0")
    hi, lo = (raw[0::2], raw[1::2]) if order is ByteOrder.HIGH_FIRST else (raw[1::2], raw[0::2])
    return [(a << 8) | b for a, b in zip(hi, lo, strict=True)]


def string_text(words: Sequence[int], order: ByteOrder) -> str:
    """Registers -> the text up to the NUL padding; raises ValueError for bytes outside ASCII or a
    NUL followed by text (the padding must be trailing)."""
    raw = bytearray()
    for w in words:
        hi, lo = (int(w) >> 8) & 0xFF, int(w) & 0xFF
        raw += bytes((hi, lo) if order is ByteOrder.HIGH_FIRST else (lo, hi))
    text = raw.rstrip(b"\0")
    for i, b in enumerate(text):
        if b == 0 or b > 0x7F:
            raise ValueError(f"ASCII text only: byte {b:#04x} at offset {i}"
                             + (" (NUL is padding at the end only)" if b == 0 else ""))
    return text.decode("ascii")


# --------------------------------------------------------------------------- the image


@dataclass(frozen=True, slots=True)
class _GroupWide:
    table: Table
    fmt: ValueFormat
    order: WordOrder
    tags: IDX
    addr: IDX


@dataclass(frozen=True, slots=True)
class _Group16:
    table: Table
    tags: IDX
    addr: IDX
    scale: _Scale


@dataclass(frozen=True, slots=True)
class _GroupBits:
    table: Table
    tags: IDX
    addr: IDX


@dataclass(frozen=True, slots=True)
class _GroupPacked:
    table: Table
    tags: IDX
    addr: IDX
    shift: npt.NDArray[np.uint16]


def _idx(items: Sequence[int]) -> IDX:
    return np.asarray(items, dtype=np.intp)


class RegisterImage:
    """Address tables of one tag map, built once; ``encode`` once per scan; ``decode_write`` per write."""

    def __init__(self, tagmap: TagMap) -> None:
        self.tagmap = tagmap
        self.tags = tagmap.tags
        refs: list[PointRef] = []
        for i, tag in enumerate(self.tags):
            if tag.modbus is not None:
                refs.extend(self._refs(i, tag, tag.modbus, PointRole.VALUE))
            for m in mirrors_of(tag):
                refs.extend(self._refs(i, tag, m, PointRole.MIRROR))
        self.points: tuple[PointRef, ...] = tuple(refs)
        self._value_refs: dict[int, list[PointRef]] = {}  # tag index -> its value and mirror points
        for r in refs:
            if r.role is not PointRole.QUALITY:
                self._value_refs.setdefault(r.tag_index, []).append(r)
        self.sizes: dict[Table, int] = {t: 0 for t in Table}
        for r in refs:
            self.sizes[r.table] = max(self.sizes[r.table], r.address + r.count)
        # owner[table][address] -> index into self.points (-1: gap); offset inside the point
        self._owner: dict[Table, list[int]] = {t: [-1] * self.sizes[t] for t in Table}
        # (table, address) -> the bit points packed into that register (status words)
        self.packed: dict[tuple[Table, int], list[PointRef]] = {}
        problems: list[str] = []
        for n, r in enumerate(refs):
            own = self._owner[r.table]
            bit = r.point.bit if r.role is not PointRole.QUALITY else None
            if bit is not None:
                word = self.packed.setdefault((r.table, r.address), [])
                clash = [o for o in word if o.point.bit == bit]
                if own[r.address] != -1 and not word:
                    clash = [refs[own[r.address]]]
                for other in clash:
                    problems.append(f"{r.tag.key} ({r.role}) overlaps {other.tag.key} ({other.role}) "
                                    f"at {r.table} address {r.address} bit {bit}")
                word.append(r)
                own[r.address] = n
                continue
            for a in range(r.address, r.address + r.count):
                if own[a] != -1:
                    other = refs[own[a]]
                    problems.append(f"{r.tag.key} ({r.role}) overlaps {other.tag.key} ({other.role}) "
                                    f"at {r.table} address {a}")
                own[a] = n
        if problems:
            raise ValueError("; ".join(problems))
        self._build_groups()

    @staticmethod
    def _refs(i: int, tag: Tag, p: ModbusPoint, role: PointRole) -> list[PointRef]:
        out = [PointRef(tag_index=i, tag=tag, point=p, role=role, table=p.table, address=p.address,
                        count=p.count)]
        if p.quality_address is not None:
            qt = Table.HOLDING_REGISTER if p.table in BIT_TABLES else p.table
            out.append(PointRef(tag_index=i, tag=tag, point=p, role=PointRole.QUALITY, table=qt,
                                address=p.quality_address, count=1))
        return out

    def _build_groups(self) -> None:
        gwide: dict[tuple[Table, ValueFormat, WordOrder], tuple[list[int], list[int]]] = {}
        g16: dict[tuple[Table, ValueFormat], list[PointRef]] = {}
        gbits: dict[Table, tuple[list[int], list[int]]] = {}
        gqual: dict[Table, tuple[list[int], list[int]]] = {}
        gpacked: dict[Table, list[PointRef]] = {}
        self._gstring: list[PointRef] = []
        for r in self.points:
            fmt = r.point.format
            if fmt is ValueFormat.STRING and r.role is not PointRole.QUALITY:
                self._gstring.append(r)
                continue
            if r.role is PointRole.QUALITY:
                t, a = gqual.setdefault(r.table, ([], []))
            elif r.point.bit is not None:
                gpacked.setdefault(r.table, []).append(r)
                continue
            elif r.table in BIT_TABLES or fmt is ValueFormat.BOOL:
                t, a = gbits.setdefault(r.table, ([], []))
            elif fmt.registers > 1:
                t, a = gwide.setdefault((r.table, fmt, r.point.word_order), ([], []))
            else:
                g16.setdefault((r.table, fmt), []).append(r)
                continue
            t.append(r.tag_index)
            a.append(r.address)
        self._gwide = [_GroupWide(tb, f, o, _idx(t), _idx(a)) for (tb, f, o), (t, a) in gwide.items()]
        self._g16 = [
            _Group16(tb, _idx([r.tag_index for r in rs]), _idx([r.address for r in rs]),
                     _Scale.of(f, [(r.tag.range, r.point.raw_range) for r in rs]))
            for (tb, f), rs in g16.items()
        ]
        self._gbits = [_GroupBits(tb, _idx(t), _idx(a)) for tb, (t, a) in gbits.items()]
        self._gqual = [_GroupBits(tb, _idx(t), _idx(a)) for tb, (t, a) in gqual.items()]
        self._gpacked = [
            _GroupPacked(tb, _idx([r.tag_index for r in rs]), _idx([r.address for r in rs]),
                         np.asarray([r.point.bit for r in rs], dtype=np.uint16))
            for tb, rs in gpacked.items()
        ]

    # ------------------------------------------------------------------ per scan

    @property
    def string_tags(self) -> tuple[int, ...]:
        """Tag indices of the string points (their text comes from ``Snapshot.texts``)."""
        return tuple(r.tag_index for r in self._gstring)

    def encode(self, values: F64, status: npt.NDArray[np.uint32],
               texts: Mapping[int, str] | None = None) -> tuple[U16, U16, BOOLS, BOOLS]:
        """Tag values (EU), StatusCodes and string texts (tag index -> text) in tag-map order ->
        (holding, input, coils, discrete)."""
        v = np.asarray(values, dtype=np.float64)
        regs: dict[Table, U16] = {
            Table.HOLDING_REGISTER: np.zeros(self.sizes[Table.HOLDING_REGISTER], dtype=np.uint16),
            Table.INPUT_REGISTER: np.zeros(self.sizes[Table.INPUT_REGISTER], dtype=np.uint16),
        }
        bits: dict[Table, BOOLS] = {
            Table.COIL: np.zeros(self.sizes[Table.COIL], dtype=np.bool_),
            Table.DISCRETE_INPUT: np.zeros(self.sizes[Table.DISCRETE_INPUT], dtype=np.bool_),
        }
        with np.errstate(over="ignore", invalid="ignore"):  # once per scan: it costs ~4 us each time
            for g in self._gwide:
                out = regs[g.table]
                for k, w in enumerate(_order(_words_wide_quiet(v[g.tags], g.fmt), g.order)):
                    out[g.addr + k] = w
            for h in self._g16:
                regs[h.table][h.addr] = h.scale.apply_quiet(v[h.tags])
        for b_ in self._gbits:
            on = np.abs(v[b_.tags]) > 0  # NaN -> False
            if b_.table in BIT_TABLES:
                bits[b_.table][b_.addr] = on
            else:
                regs[b_.table][b_.addr] = on.astype(np.uint16)
        for p in self._gpacked:
            on = (np.abs(v[p.tags]) > 0).astype(np.uint16)  # NaN -> 0
            np.bitwise_or.at(regs[p.table], p.addr, (on << p.shift).astype(np.uint16))
        for r in self._gstring:
            text = texts.get(r.tag_index, "") if texts else ""
            regs[r.table][r.address : r.address + r.count] = string_words(text, r.count, r.point.byte_order)
        s = np.asarray(status, dtype=np.uint32)
        for q in self._gqual:
            regs[q.table][q.addr] = quality_words(s[q.tags])
        return (regs[Table.HOLDING_REGISTER], regs[Table.INPUT_REGISTER], bits[Table.COIL],
                bits[Table.DISCRETE_INPUT])

    def patch(self, tables: tuple[U16, U16, BOOLS, BOOLS], updates: dict[int, float],
              texts: Mapping[int, str] | None = None) -> tuple[U16, U16, BOOLS, BOOLS]:
        """Copies of the four tables with the points of ``updates`` (tag index -> EU) and of ``texts``
        (tag index -> string text) re-encoded.

        The per-point path of :meth:`encode` (same codecs), for a few points between scans; quality
        words are untouched. Tables without a touched point are returned as they are.
        """
        out: dict[Table, U16 | BOOLS] = dict(zip(
            (Table.HOLDING_REGISTER, Table.INPUT_REGISTER, Table.COIL, Table.DISCRETE_INPUT), tables,
            strict=True))
        copied: set[Table] = set()
        for index, text in (texts or {}).items():
            for r in self._value_refs.get(index, ()):
                if r.point.format is ValueFormat.STRING:
                    if r.table not in copied:
                        out[r.table] = out[r.table].copy()
                        copied.add(r.table)
                    out[r.table][r.address : r.address + r.count] = string_words(text, r.count, r.point.byte_order)
        for index, value in updates.items():
            for r in self._value_refs.get(index, ()):
                if r.point.format is ValueFormat.STRING:
                    continue  # its value column is the text's length; the text comes from ``texts``
                if r.table not in copied:
                    out[r.table] = out[r.table].copy()
                    copied.add(r.table)
                if r.point.bit is not None:
                    mask = 1 << r.point.bit
                    word = int(out[r.table][r.address]) & ~mask
                    out[r.table][r.address] = word | (mask if abs(value) > 0 else 0)
                elif r.table in BIT_TABLES or r.point.format is ValueFormat.BOOL:
                    out[r.table][r.address] = abs(value) > 0
                else:
                    out[r.table][r.address : r.address + r.count] = encode_words(value, r.point, r.tag.range)
        return (out[Table.HOLDING_REGISTER], out[Table.INPUT_REGISTER],  # type: ignore[return-value]
                out[Table.COIL], out[Table.DISCRETE_INPUT])

    # ------------------------------------------------------------------ lookups

    def owner(self, table: Table, address: int) -> PointRef | None:
        """The point occupying ``address`` of ``table`` (None for a gap or past the end)."""
        own = self._owner[table]
        if 0 <= address < len(own) and own[address] >= 0:
            return self.points[own[address]]
        return None

    def decode_point(self, ref: PointRef, words: Sequence[int]) -> float:
        """Registers (or one bit) of a value/mirror point -> its EU value."""
        if ref.table in BIT_TABLES:
            return 1.0 if words[0] else 0.0
        return decode_words(words, ref.point, ref.tag.range)

    # ------------------------------------------------------------------ client writes

    def _decode_status_word(self, table: Table, address: int, word: int, role: str | None) -> list[Command]:
        """A write of a whole status word: every bit point in it must be writable; unmapped bits 0."""
        refs = self.packed[(table, address)]
        mask = 0
        for r in refs:
            if r.role is not PointRole.VALUE or r.tag.access is not Access.RW:
                raise WriteRejected(Rejection.NOT_WRITABLE, r.tag.key, f"status word {address}: read-only bit")
            mask |= 1 << (r.point.bit or 0)
        if word & ~mask:
            raise WriteRejected(Rejection.TYPE_MISMATCH, f"{table.value} {address}",
                                f"status word bits {word & ~mask:#06x} belong to no point")
        return [validate_write(r.tag, float((word >> (r.point.bit or 0)) & 1), source="modbus", role=role)
                for r in refs]


    def decode_write(self, table: Table, address: int, values: Sequence[int | bool],
                     role: str | None = None) -> list[Command]:
        """Which tags a client write covers -> their validated Commands (all or nothing).

        Every covered point is decoded and validated before anything is returned, so a request with
        one bad point yields no command at all. Raises :class:`WriteRejected`:
        UNKNOWN (a gap or past the map, -> 0x02), NOT_WRITABLE (read-only tag, quality register,
        input table, -> 0x02), TYPE_MISMATCH (the request covers only part of a 32-bit point, a
        register value outside 0..65535, a decoded NaN/inf, -> 0x03) and whatever
        :func:`validate_write` raises for ``role`` (OUT_OF_RANGE -> 0x03, ACCESS_DENIED -> 0x01 ...).
        """
        where = f"{table.value} {address}"
        if table not in (Table.HOLDING_REGISTER, Table.COIL):
            raise WriteRejected(Rejection.NOT_WRITABLE, where, f"the {table.value} table is read-only")
        n = len(values)
        if n == 0:
            raise WriteRejected(Rejection.TYPE_MISMATCH, where, "empty write")
        words: list[int] = []
        for w in values:
            if isinstance(w, bool):
                words.append(int(w))
            elif isinstance(w, int) and 0 <= w <= 0xFFFF:
                words.append(w)
            else:
                raise WriteRejected(Rejection.TYPE_MISMATCH, where, f"not a 16-bit value (got {w!r})")
        if table is Table.COIL and any(w not in (0, 1) for w in words):
            raise WriteRejected(Rejection.TYPE_MISMATCH, where, "coil values are 0 or 1")
        cmds: list[Command] = []
        end = address + n
        a = address
        while a < end:
            ref = self.owner(table, a)
            if ref is None:
                raise WriteRejected(Rejection.UNKNOWN, f"{table.value} {a}", "no point at this address")
            if ref.role is PointRole.QUALITY:
                raise WriteRejected(Rejection.NOT_WRITABLE, ref.tag.key, f"quality register {a} is read-only")
            if ref.point.bit is not None:
                cmds.extend(self._decode_status_word(table, a, words[a - address], role))
                a += 1
                continue
            if ref.tag.access is not Access.RW:
                raise WriteRejected(Rejection.NOT_WRITABLE, ref.tag.key, "read-only point")
            if ref.address != a or ref.address + ref.count > end:
                raise WriteRejected(
                    Rejection.TYPE_MISMATCH, ref.tag.key,
                    f"write covers part of a {ref.count}-register point at {ref.address}",
                )
            if ref.point.format is ValueFormat.STRING:
                try:
                    text = string_text(words[a - address : a - address + ref.count], ref.point.byte_order)
                except ValueError as e:
                    raise WriteRejected(Rejection.TYPE_MISMATCH, ref.tag.key, str(e)) from None
                cmds.append(validate_text_write(ref.tag, text, source="modbus", role=role))
                a += ref.count
                continue
            value = self.decode_point(ref, words[a - address : a - address + ref.count])
            if not math.isfinite(value):
                raise WriteRejected(Rejection.TYPE_MISMATCH, ref.tag.key, f"not finite (got {value})")
            cmds.append(validate_write(ref.tag, value, source="modbus", role=role))
            a += ref.count
        return cmds
