"""Register codecs and the register image: word orders, scaling, quality registers, write decoding."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plc_emulator.commands import CommandKind
from plc_emulator.engine import status as ua
from plc_emulator.errors import ModbusException, Rejection, WriteRejected
from plc_emulator.image.codec import PointRole, RegisterImage, decode_words, encode_words
from plc_emulator.image.quality import quality_word
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import ModbusPoint, Table, Tag, ValueFormat, WordOrder
from tests.conftest import DEFAULT_TAGMAP
from tests.image.maps import IR, H, full_map, make_map, make_tag

ONE = {  # domain.md 11: registers for 1.0f (0x3F800000)
    WordOrder.ABCD: [0x3F80, 0x0000],
    WordOrder.CDAB: [0x0000, 0x3F80],
    WordOrder.BADC: [0x803F, 0x0000],
    WordOrder.DCBA: [0x0000, 0x803F],
}


@pytest.mark.parametrize("order", list(WordOrder))
def test_float_one_matches_reference_table(order: WordOrder) -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.FLOAT32, word_order=order)
    assert encode_words(1.0, p, (0, 100)) == ONE[order]
    assert decode_words(ONE[order], p, (0, 100)) == 1.0


@pytest.mark.parametrize("order", list(WordOrder))
def test_int32_byte_layout(order: WordOrder) -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.INT32, word_order=order)
    words = encode_words(0x01020304, p, (0, 1))
    raw = struct.pack(">HH", *words)
    expect = {WordOrder.ABCD: b"\x01\x02\x03\x04", WordOrder.CDAB: b"\x03\x04\x01\x02",
              WordOrder.BADC: b"\x02\x01\x04\x03", WordOrder.DCBA: b"\x04\x03\x02\x01"}[order]
    assert raw == expect


@settings(max_examples=200)
@given(st.floats(width=32, allow_nan=False), st.sampled_from(list(WordOrder)))
def test_float32_round_trip(x: float, order: WordOrder) -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.FLOAT32, word_order=order)
    assert decode_words(encode_words(x, p, (0, 1)), p, (0, 1)) == x


@settings(max_examples=200)
@given(st.integers(-(2**31), 2**31 - 1), st.sampled_from(list(WordOrder)))
def test_int32_round_trip(x: int, order: WordOrder) -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.INT32, word_order=order)
    assert decode_words(encode_words(x, p, (0, 1)), p, (0, 1)) == x


@settings(max_examples=200)
@given(st.integers(0, 2**32 - 1), st.sampled_from(list(WordOrder)))
def test_uint32_round_trip(x: int, order: WordOrder) -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.UINT32, word_order=order)
    assert decode_words(encode_words(x, p, (0, 1)), p, (0, 1)) == x


@pytest.mark.parametrize(("fmt", "x", "expect"), [
    (ValueFormat.INT32, 3e10, 2**31 - 1), (ValueFormat.INT32, -3e10, -(2**31)), (ValueFormat.UINT32, -5.0, 0),
    (ValueFormat.INT32, 2.6, 3), (ValueFormat.INT32, float("nan"), 0), (ValueFormat.UINT32, 7e9, 2**32 - 1),
])
def test_int32_clamps_and_rounds(fmt: ValueFormat, x: float, expect: int) -> None:
    p = ModbusPoint(table=H, address=0, format=fmt)
    assert decode_words(encode_words(x, p, (0, 1)), p, (0, 1)) == expect


@settings(max_examples=300)
@given(
    st.sampled_from([ValueFormat.INT16, ValueFormat.UINT16]),
    st.floats(-1e4, 1e4), st.floats(1e-3, 1e4),  # EU lo, span
    st.integers(-32768, 32767), st.integers(1, 65535),  # raw lo, span
    st.floats(0, 1),  # position within the EU range
)
def test_scaled16_round_trip_within_half_a_count(  # noqa: PLR0917
    fmt: ValueFormat, eu_lo: float, eu_span: float, raw_lo: int, raw_span: int, frac: float,
) -> None:
    lo_t, hi_t = (-32768, 32767) if fmt is ValueFormat.INT16 else (0, 65535)
    raw_lo = min(max(raw_lo, lo_t), hi_t - 1)
    raw_hi = min(raw_lo + raw_span, hi_t)
    rng = (eu_lo, eu_lo + eu_span)
    p = ModbusPoint(table=H, address=0, format=fmt, raw_range=(raw_lo, raw_hi))
    x = eu_lo + frac * eu_span
    words = encode_words(x, p, rng)
    assert 0 <= words[0] <= 0xFFFF
    back = decode_words(words, p, rng)
    count = eu_span / (raw_hi - raw_lo)
    assert abs(back - x) <= count / 2 + 1e-9 * max(1.0, abs(x))


@pytest.mark.parametrize(("x", "raw"), [(-10.0, 0), (110.0, 10000), (50.0, 5000), (12.34, 1234),
                                        (float("nan"), 0)])
def test_scaled16_clamps_to_raw_range(x: float, raw: int) -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.UINT16, raw_range=(0, 10000))
    assert encode_words(x, p, (0, 100)) == [raw]


def test_int16_negative_and_unscaled() -> None:
    p = ModbusPoint(table=H, address=0, format=ValueFormat.INT16, raw_range=(-1000, 1000))
    assert encode_words(-50.0, p, (-50, 50)) == [(-1000) & 0xFFFF]
    assert decode_words([(-1000) & 0xFFFF], p, (-50, 50)) == -50.0
    plain = ModbusPoint(table=H, address=0, format=ValueFormat.UINT16)
    assert encode_words(70000, plain, (0, 1)) == [65535]
    assert encode_words(41.6, plain, (0, 1)) == [42]


# ---------------------------------------------------------------------------- the image


def _values(img: RegisterImage, rng: np.random.Generator) -> np.ndarray:
    v = np.empty(len(img.tags))
    for i, t in enumerate(img.tags):
        lo, hi = t.range
        v[i] = rng.integers(0, 2) if t.kind.value in ("discrete",) else rng.uniform(lo, hi)
    return v


def test_image_encodes_every_point_and_quality() -> None:
    m = full_map()
    img = RegisterImage(m)
    rng = np.random.default_rng(7)
    values = _values(img, rng)
    status = rng.choice(np.asarray(sorted(ua.NAMES), dtype=np.uint32), size=len(m.tags)).astype(np.uint32)
    status[0] |= ua.LIMIT_HIGH
    tables = dict(zip((Table.HOLDING_REGISTER, Table.INPUT_REGISTER, Table.COIL, Table.DISCRETE_INPUT),
                      img.encode(values, status), strict=True))
    assert {t: len(a) for t, a in tables.items()} == img.sizes
    seen = 0
    for ref in img.points:
        arr = tables[ref.table]
        raw = [int(x) for x in arr[ref.address : ref.address + ref.count]]
        if ref.role is PointRole.QUALITY:
            assert raw == [quality_word(int(status[ref.tag_index]))]
        else:
            back = img.decode_point(ref, raw)
            exp = values[ref.tag_index]
            fmt = ref.point.format
            if ref.table in (Table.COIL, Table.DISCRETE_INPUT) or fmt is ValueFormat.BOOL:
                assert back == float(exp != 0)
            elif fmt is ValueFormat.FLOAT32:
                assert back == float(np.float32(exp))
            elif fmt in (ValueFormat.INT32, ValueFormat.UINT32):
                assert back == round(exp)
            else:
                lo, hi = ref.tag.range
                rr = ref.point.raw_range
                step = (hi - lo) / (rr[1] - rr[0]) if rr else 1.0
                assert abs(back - exp) <= step / 2 + 1e-9
        seen += 1
    assert seen == len(img.points) > 30


def test_image_rejects_overlaps() -> None:
    a = make_tag("a", "V100.pressure", ModbusPoint(table=H, address=0, format=ValueFormat.FLOAT32))
    b = make_tag("b", "V100.oil_level", ModbusPoint(table=H, address=1, format=ValueFormat.UINT16))
    with pytest.raises(ValueError, match="overlaps"):
        RegisterImage(make_map([a, b]))


def test_mirrors_are_encoded() -> None:
    from dataclasses import replace
    t: Tag = make_tag("pv", "V100.pressure", ModbusPoint(table=H, address=0, format=ValueFormat.FLOAT32),
                      rng=(0, 1500))
    mirror = ModbusPoint(table=IR, address=10, format=ValueFormat.UINT16, raw_range=(0, 15000),
                         quality_address=11)
    t = replace(t, modbus_mirrors=(mirror,))
    img = RegisterImage(make_map([t]))
    hold, inp, _, _ = img.encode(np.asarray([750.0]), np.asarray([ua.BAD_SENSOR_FAILURE], dtype=np.uint32))
    assert [int(x) for x in hold[:2]] == encode_words(750.0, t.modbus, t.range)  # type: ignore[arg-type]
    assert int(inp[10]) == 7500
    assert int(inp[11]) == quality_word(ua.BAD_SENSOR_FAILURE)


# ---------------------------------------------------------------------------- writes


def _img() -> RegisterImage:
    return RegisterImage(full_map())


def test_write_float_setpoint_in_cdab() -> None:
    p = _img().tagmap.tag("DEV.sp_f32").modbus
    assert p is not None
    cmds = _img().decode_write(Table.HOLDING_REGISTER, 40, encode_words(55.5, p, (0, 100)))
    assert len(cmds) == 1
    assert (cmds[0].kind, cmds[0].target, cmds[0].value, cmds[0].source) == (
        CommandKind.WRITE, "LIC100.sp", 55.5, "modbus")


def test_multi_point_write_is_all_or_nothing() -> None:
    img = _img()
    sp = encode_words(50.0, img.tagmap.tag("DEV.sp_f32").modbus, (0, 100))  # type: ignore[arg-type]
    # 40-41 sp_f32 ok, 42 quality -> rejected as a whole
    with pytest.raises(WriteRejected) as e:
        img.decode_write(Table.HOLDING_REGISTER, 40, [*sp, 0])
    assert e.value.reason is Rejection.NOT_WRITABLE
    # 43 sp_u16 (raw 0..1000 = 0..100 %) in limits, 44 mode = 1, 45-46 speed
    speed = encode_words(3000, img.tagmap.tag("DEV.speed_i32").modbus, (0, 3600))  # type: ignore[arg-type]
    cmds = img.decode_write(Table.HOLDING_REGISTER, 43, [500, 1, *speed])
    assert [(c.target, c.value) for c in cmds] == [("LIC200.sp", 50.0), ("LIC100.mode", 1.0),
                                                   ("P100.speed_sp", 3000.0)]
    # the same request with the setpoint out of limits gives nothing
    with pytest.raises(WriteRejected) as e:
        img.decode_write(Table.HOLDING_REGISTER, 43, [900, 1, *speed])
    assert e.value.reason is Rejection.OUT_OF_RANGE
    assert e.value.modbus_exception is ModbusException.ILLEGAL_DATA_VALUE


@pytest.mark.parametrize(("table", "address", "values", "reason", "exc"), [
    (Table.HOLDING_REGISTER, 0, [0, 0], Rejection.NOT_WRITABLE, 0x02),  # ro float
    (Table.HOLDING_REGISTER, 2, [0], Rejection.NOT_WRITABLE, 0x02),  # quality register
    (Table.HOLDING_REGISTER, 55, [0], Rejection.UNKNOWN, 0x02),  # gap
    (Table.HOLDING_REGISTER, 61, [0], Rejection.UNKNOWN, 0x02),  # past the end
    (Table.HOLDING_REGISTER, 40, [0], Rejection.TYPE_MISMATCH, 0x03),  # half of a float
    (Table.HOLDING_REGISTER, 41, [0, 0], Rejection.TYPE_MISMATCH, 0x03),  # second half + quality
    (Table.HOLDING_REGISTER, 44, [2], Rejection.OUT_OF_RANGE, 0x03),  # enum index 2 of MAN/AUTO
    (Table.HOLDING_REGISTER, 40, [0xC07F, 0xFFFF], Rejection.TYPE_MISMATCH, 0x03),  # NaN (CDAB)
    (Table.HOLDING_REGISTER, 47, [0], Rejection.OUT_OF_RANGE, 0x03),  # step 0 < 1
    (Table.INPUT_REGISTER, 0, [0], Rejection.NOT_WRITABLE, 0x02),
    (Table.COIL, 2, [1], Rejection.NOT_WRITABLE, 0x02),  # ro coil
    (Table.COIL, 3, [1], Rejection.UNKNOWN, 0x02),
])
def test_write_rejections(table: Table, address: int, values: list[int], reason: Rejection, exc: int) -> None:
    with pytest.raises(WriteRejected) as e:
        _img().decode_write(table, address, values)
    assert e.value.reason is reason
    assert e.value.modbus_exception == exc


def test_coil_writes() -> None:
    cmds = _img().decode_write(Table.COIL, 0, [True, True])
    assert [(c.target, c.value) for c in cmds] == [("P100.run_cmd", 1.0), ("ESD.trip", 1.0)]


@settings(max_examples=400)
@given(st.sampled_from(list(Table)), st.integers(0, 64),
       st.lists(st.integers(-5, 0x10005) | st.booleans(), min_size=0, max_size=12))
def test_random_writes_give_commands_or_rejections(table: Table, address: int, values: list[int]) -> None:
    img = _img()
    rejected: WriteRejected | None = None
    try:
        cmds = img.decode_write(table, address, values)
    except WriteRejected as e:
        rejected = e
    if rejected is not None:
        assert isinstance(rejected.modbus_exception, ModbusException)
        return
    assert cmds
    for c in cmds:
        assert c.kind is CommandKind.WRITE
        assert math.isfinite(c.value)
        tag = next(t for t in img.tags if t.signal == c.target and t.write_limits)
        assert tag.write_limits is not None
        assert tag.write_limits[0] <= c.value <= tag.write_limits[1]


_DEFAULT_IMG = RegisterImage(load(DEFAULT_TAGMAP))


@settings(max_examples=400)
@given(st.sampled_from([Table.HOLDING_REGISTER, Table.COIL]), st.integers(0, 340),
       st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=8))
def test_random_writes_on_the_default_map(table: Table, address: int, values: list[int]) -> None:
    if table is Table.COIL:
        values = [v & 1 for v in values]
    rejected: WriteRejected | None = None
    try:
        cmds = _DEFAULT_IMG.decode_write(table, address, values)
    except WriteRejected as e:
        rejected = e
    if rejected is not None:
        assert rejected.modbus_exception in (ModbusException.ILLEGAL_DATA_ADDRESS,
                                             ModbusException.ILLEGAL_DATA_VALUE)
        return
    for c in cmds:
        assert math.isfinite(c.value)
        assert c.source == "modbus"
