"""Random PDUs straight into ModbusService: always a well-formed answer, never an internal failure."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from plc_emulator.modbus.frames import FrameBuffer, FramingError, mbap
from plc_emulator.modbus.rtu import rtu_frame
from plc_emulator.modbus.service import ModbusService
from tests.image.maps import full_map
from tests.modbus.fakeplc import FakePlc

PLC = FakePlc(full_map())
SERVICE = ModbusService(PLC.tagmap, PLC)

structured = st.builds(
    lambda fc, a, b, rest: bytes([fc]) + struct.pack(">HH", a, b) + rest,
    st.sampled_from([1, 2, 3, 4, 5, 6, 15, 16, 22, 23, 43, 0x55]),
    st.integers(0, 0xFFFF) | st.integers(0, 70),
    st.integers(0, 0xFFFF) | st.integers(0, 130),
    st.binary(max_size=40),
)


@settings(max_examples=800)
@given(st.binary(min_size=1, max_size=253) | structured, st.sampled_from([0, 1, 7, 255]))
def test_any_pdu_gets_a_conformant_answer(pdu: bytes, unit: int) -> None:
    before = len(PLC.submitted)
    resp = SERVICE.handle(unit, pdu)
    assert resp is not None
    assert 2 <= len(resp) <= 253
    if resp[0] & 0x80:
        assert len(resp) == 2
        assert resp[0] == (pdu[0] | 0x80)
        assert resp[1] in (0x01, 0x02, 0x03, 0x0A)  # never 0x04: no internal error on any input
        assert len(PLC.submitted) == before  # a refused request queues nothing
    else:
        assert resp[0] == pdu[0]
        assert unit in (0, 1, 255)


@settings(max_examples=300)
@given(st.lists(st.binary(min_size=1, max_size=253), min_size=1, max_size=5), st.integers(1, 50))
def test_frames_survive_any_segmentation(pdus: list[bytes], chunk: int) -> None:
    stream = b"".join(mbap(i, 1, p) for i, p in enumerate(pdus))
    buf = FrameBuffer()
    got = []
    for i in range(0, len(stream), chunk):
        got += buf.feed(stream[i : i + chunk])
    assert [(r.tid, r.unit, r.pdu) for r in got] == [(i, 1, p) for i, p in enumerate(pdus)]
    assert len(buf) == 0


@given(st.binary(min_size=7, max_size=300))
def test_garbage_is_frames_or_a_framing_error(data: bytes) -> None:
    buf = FrameBuffer()
    try:
        frames = buf.feed(data)
    except FramingError:
        return
    for f in frames:
        assert 1 <= len(f.pdu) <= 253
    assert len(buf) < 260


@settings(max_examples=400)
@given(st.lists(st.binary(max_size=40) | structured.map(lambda p: rtu_frame(1, p)), max_size=8),
       st.lists(st.integers(1, 30), max_size=8))
def test_rtu_stream_never_raises_and_yields_only_good_frames(chunks: list[bytes], cuts: list[int]) -> None:
    """Garbage and valid RTU frames mixed, cut anywhere: no exception, every request had a good CRC."""
    from plc_emulator.modbus.rtu import RtuStreamFramer

    f = RtuStreamFramer(frozenset({1}))
    data = b"".join(chunks)
    pos = 0
    for n in [*cuts, len(data)]:
        for req in f.feed(data[pos : pos + n]):
            assert rtu_frame(req.unit, req.pdu) in data  # exactly a frame that was sent
        pos += n
    assert len(f) < 268  # at most one incomplete frame (FC 23 with 255 data bytes is the longest)
