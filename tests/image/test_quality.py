"""UA StatusCode <-> OPC DA quality word (domain.md 10.2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plc_emulator.engine import status as ua
from plc_emulator.image.quality import quality_word, quality_words, ua_from_quality_word

TABLE = [
    (ua.GOOD, 0xC0), (ua.GOOD_LOCAL_OVERRIDE, 0xD8), (ua.UNCERTAIN, 0x40), (ua.UNCERTAIN_LAST_USABLE, 0x44),
    (ua.UNCERTAIN_NO_COMM_LAST_USABLE, 0x44), (ua.UNCERTAIN_SENSOR_NOT_ACCURATE, 0x50),
    (ua.UNCERTAIN_EU_EXCEEDED, 0x54), (ua.UNCERTAIN_SUB_NORMAL, 0x58), (ua.BAD, 0x00),
    (ua.BAD_CONFIGURATION_ERROR, 0x04), (ua.BAD_NOT_CONNECTED, 0x08), (ua.BAD_DEVICE_FAILURE, 0x0C),
    (ua.BAD_SENSOR_FAILURE, 0x10), (ua.BAD_NO_COMMUNICATION, 0x18), (ua.BAD_OUT_OF_SERVICE, 0x1C),
    (ua.BAD_WAITING_FOR_INITIAL_DATA, 0x20),
]


@pytest.mark.parametrize(("code", "da"), TABLE)
def test_table_low_byte_and_fault_code(code: int, da: int) -> None:
    word = quality_word(code)
    assert word & 0xFF == da
    assert word >> 8 == (code >> 16) & 0xFF


@pytest.mark.parametrize("code", sorted(ua.NAMES))
def test_every_emulator_code_round_trips_exactly(code: int) -> None:
    for limit in (0, ua.LIMIT_LOW, ua.LIMIT_HIGH, ua.LIMIT_CONSTANT):
        assert ua_from_quality_word(quality_word(code | limit)) == code | limit


@pytest.mark.parametrize(("limit", "bits"), [(ua.LIMIT_LOW, 1), (ua.LIMIT_HIGH, 2), (ua.LIMIT_CONSTANT, 3)])
def test_limit_bits_one_to_one(limit: int, bits: int) -> None:
    assert quality_word(ua.GOOD | limit) == 0xC0 | bits
    assert quality_word(ua.BAD_SENSOR_FAILURE | limit) & 0xFF == 0x10 | bits
    # limit bits without the DataValue InfoType are not limit bits
    assert quality_word(ua.GOOD | (limit & 0x0300)) & 0x03 == 0


@pytest.mark.parametrize(("code", "da"), [(0x00AB0000, 0xC0), (0x40770000, 0x40), (0x80990000, 0x00),
                                          (0xC0000000, 0x00)])
def test_unknown_codes_fall_back_by_severity(code: int, da: int) -> None:
    assert quality_word(code) & 0xFC == da


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=50))
def test_vector_equals_scalar_and_severity_is_kept(codes: list[int]) -> None:
    words = quality_words(np.asarray(codes, dtype=np.uint32))
    for c, w in zip(codes, words, strict=True):
        assert int(w) == quality_word(c)
        sev = ua.severity(c)
        q = int(w) & 0xC0
        assert (sev, q in (0xC0,), q == 0x40) in {("good", True, False), ("uncertain", False, True),
                                                  ("bad", False, False)}
        assert ua.severity(ua_from_quality_word(int(w))) == sev
