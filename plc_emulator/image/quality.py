"""OPC UA StatusCode <-> OPC DA quality word, the per-tag quality register served over Modbus.

Layout of the 16-bit quality word (docs/modbus.md, quality registers):

* low byte ``QQSSSSLL``: the OPC DA quality (``0xC0`` Good, ``0x40`` Uncertain, ``0x00`` Bad, with a
  sub-status) mapped from the UA StatusCode by the OPC Foundation ComUtils table; ``LL`` are the UA
  LimitBits copied 1:1 (01 low, 10 high, 11 constant) when the StatusCode carries DataValue info
  bits. Codes missing from the table fall back to ``0xC0``/``0x40``/``0x00`` by severity.
* high byte: the emulator fault code = the low 8 bits of the UA sub-code (bits 23-16 of the
  StatusCode), 0 when the value is plain Good. ``0x8C`` means BadSensorFailure, ``0x31``
  BadNoCommunication, ``0x8F`` UncertainNoCommunicationLastUsableValue and so on, so a SCADA
  client can tell apart codes that share one DA quality, and :func:`ua_from_quality_word` recovers
  the exact StatusCode for every code the emulator produces.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from plc_emulator.engine import status as st

__all__ = [
    "DA_BAD",
    "DA_GOOD",
    "DA_UNCERTAIN",
    "quality_word",
    "quality_words",
    "ua_from_quality_word",
]

DA_GOOD: Final = 0xC0
DA_UNCERTAIN: Final = 0x40
DA_BAD: Final = 0x00

# UA code (high 16 bits) -> DA low byte without limit bits (OPC Foundation ComUtils mapping).
_UA_TO_DA: Final[dict[int, int]] = {
    st.GOOD: 0xC0,
    st.GOOD_LOCAL_OVERRIDE: 0xD8,
    st.UNCERTAIN: 0x40,
    st.UNCERTAIN_LAST_USABLE: 0x44,
    st.UNCERTAIN_NO_COMM_LAST_USABLE: 0x44,
    st.UNCERTAIN_SENSOR_NOT_ACCURATE: 0x50,
    st.UNCERTAIN_EU_EXCEEDED: 0x54,
    st.UNCERTAIN_SUB_NORMAL: 0x58,
    st.BAD: 0x00,
    st.BAD_CONFIGURATION_ERROR: 0x04,
    st.BAD_NOT_CONNECTED: 0x08,
    st.BAD_DEVICE_FAILURE: 0x0C,
    st.BAD_SENSOR_FAILURE: 0x10,
    st.BAD_NO_COMMUNICATION: 0x18,
    st.BAD_OUT_OF_SERVICE: 0x1C,
    st.BAD_WAITING_FOR_INITIAL_DATA: 0x20,
}

# DA low byte (limit bits masked off) -> UA code, used when the high byte carries no sub-code.
_DA_TO_UA: Final[dict[int, int]] = {
    0xC0: st.GOOD,
    0xD8: st.GOOD_LOCAL_OVERRIDE,
    0x40: st.UNCERTAIN,
    0x44: st.UNCERTAIN_LAST_USABLE,
    0x50: st.UNCERTAIN_SENSOR_NOT_ACCURATE,
    0x54: st.UNCERTAIN_EU_EXCEEDED,
    0x58: st.UNCERTAIN_SUB_NORMAL,
    0x00: st.BAD,
    0x04: st.BAD_CONFIGURATION_ERROR,
    0x08: st.BAD_NOT_CONNECTED,
    0x0C: st.BAD_DEVICE_FAILURE,
    0x10: st.BAD_SENSOR_FAILURE,
    0x14: st.BAD_OUT_OF_SERVICE,  # DA LAST_KNOWN: lossy, as in ComUtils
    0x18: st.BAD_NO_COMMUNICATION,
    0x1C: st.BAD_OUT_OF_SERVICE,
    0x20: st.BAD_WAITING_FOR_INITIAL_DATA,
}


def _build_lut() -> npt.NDArray[np.uint16]:
    """Quality word without limit bits (fault code << 8 | DA byte) for every high half of a StatusCode."""
    hi = np.arange(65536, dtype=np.uint32)
    sev = hi >> 14
    da = np.where(sev == 0, DA_GOOD, np.where(sev == 1, DA_UNCERTAIN, DA_BAD)).astype(np.uint32)
    for code, byte in _UA_TO_DA.items():
        da[code >> 16] = byte
    out: npt.NDArray[np.uint16] = (((hi & 0xFF) << 8) | da).astype(np.uint16)
    return out


def _build_limit_lut() -> npt.NDArray[np.uint16]:
    """StatusCode bits 11-8 (InfoType, LimitBits) -> DA limit bits; only with InfoType DataValue (01)."""
    x = np.arange(16, dtype=np.uint16)
    out: npt.NDArray[np.uint16] = np.where((x >> 2) == 1, x & 0x3, 0).astype(np.uint16)
    return out


_LUT: Final = _build_lut()
_LIMIT: Final = _build_limit_lut()


def quality_words(status: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint16]:
    """Vectorised :func:`quality_word` for an array of StatusCodes (two table look-ups)."""
    s = np.asarray(status, dtype=np.uint32)
    out: npt.NDArray[np.uint16] = _LUT[s >> 16] | _LIMIT[(s >> 8) & 0xF]
    return out


def quality_word(status: int) -> int:
    """The 16-bit quality register for one UA StatusCode."""
    return int(quality_words(np.asarray([status & 0xFFFFFFFF], dtype=np.uint32))[0])


def ua_from_quality_word(word: int) -> int:
    """Back from a quality register to a UA StatusCode (exact for every code the emulator emits).

    With a non-zero fault code the StatusCode is rebuilt from the DA severity and the sub-code;
    otherwise from the DA table (DA codes with no UA twin fall back to the plain severity code).
    Limit bits come back as UA LimitBits with the DataValue InfoType.
    """
    word &= 0xFFFF
    low = word & 0xFC
    limit = word & 0x03
    fault = word >> 8
    q = low & 0xC0
    severity = 0x00000000 if q == 0xC0 else 0x40000000 if q == 0x40 else 0x80000000
    code = severity | (fault << 16) if fault else _DA_TO_UA.get(low, severity)
    if limit:
        code |= 0x0400 | (limit << 8)
    return code
