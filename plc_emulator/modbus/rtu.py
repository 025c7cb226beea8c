"""Modbus RTU framing, sans-I/O: ``address PDU CRC16`` frames on a serial line or a TCP stream.

Modbus over Serial Line V1.02: a frame is the slave address (1 byte), the PDU and the CRC-16
(polynomial 0xA001 reflected, initial 0xFFFF, low byte first). On a serial line frames are
delimited by 3.5 character times of silence (:func:`frame_gap`; a fixed 1.75 ms above 19,200
baud); a frame with a bad CRC is dropped silently. RTU-over-TCP (what serial-to-Ethernet gateways
speak) has no silence to go by, so :class:`RtuStreamFramer` cuts frames by the request length the
function code implies and checks the CRC; after a bad CRC it discards what it holds to resync.

Addressing (:func:`route`): a request for one of the served addresses is answered; broadcast
address 0 executes writes without a reply (reads are ignored); any other address is another
slave's business: no reply.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from plc_emulator.modbus.frames import Request

__all__ = ["Route", "RtuStreamFramer", "crc16", "frame_gap", "request_length", "route", "rtu_frame"]

WRITE_FUNCTIONS: Final = frozenset({5, 6, 15, 16, 22, 23})
_MAX_RTU: Final = 256


def _table() -> list[int]:
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        out.append(c)
    return out


_CRC_TABLE: Final = _table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Modbus CRC-16 of ``data`` (send it low byte first)."""
    crc = 0xFFFF
    t = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc


def rtu_frame(unit: int, pdu: bytes) -> bytes:
    body = bytes((unit & 0xFF,)) + pdu
    return body + crc16(body).to_bytes(2, "little")


def frame_gap(baud: int, bits_per_char: int = 11) -> float:
    """The 3.5-character inter-frame silence in seconds: fixed 1.75 ms above 19,200 baud."""
    if baud > 19200:
        return 0.00175
    return 3.5 * bits_per_char / baud


def request_length(buf: bytes | bytearray) -> int | None:
    """Length of the request frame at the start of ``buf`` from its function code (None: unknown yet).

    Returns 0 for a function code whose request length is not known (unsupported function).
    """
    if len(buf) < 2:
        return None
    fc = buf[1]
    if fc in (1, 2, 3, 4, 5, 6):
        return 8
    if fc in (15, 16):
        return None if len(buf) < 7 else 9 + buf[6]
    if fc == 22:
        return 10
    if fc == 23:
        return None if len(buf) < 11 else 13 + buf[10]
    if fc == 43:
        return 7
    return 0


class Route(Enum):
    ANSWER = "answer"
    BROADCAST = "broadcast"  # execute, never reply
    IGNORE = "ignore"


def route(unit: int, fc: int, units: frozenset[int]) -> Route:
    if unit == 0:
        return Route.BROADCAST if fc in WRITE_FUNCTIONS else Route.IGNORE
    return Route.ANSWER if unit in units else Route.IGNORE


def check_frame(frame: bytes | bytearray) -> Request | None:
    """A complete serial frame (cut by silence) -> Request, or None when too short or the CRC is bad."""
    if len(frame) < 4 or len(frame) > _MAX_RTU:
        return None
    if crc16(memoryview(frame)[:-2]) != int.from_bytes(frame[-2:], "little"):
        return None
    return Request(0, frame[0], bytes(frame[1:-2]))


class RtuStreamFramer:
    """RTU frames on a byte stream (RTU-over-TCP). Only requests for ``units`` (or broadcast) come out."""

    __slots__ = ("_buf", "crc_errors", "skipped", "units")

    def __init__(self, units: frozenset[int]) -> None:
        self._buf = bytearray()
        self.units = units
        self.skipped = 0  # frames for other slave addresses (and broadcast reads)
        self.crc_errors = 0

    def __len__(self) -> int:
        return len(self._buf)

    def single(self, data: bytes) -> Request | None:
        """Always None: every RTU frame goes through :meth:`feed` (CRC, routing, resynchronisation)."""
        return None

    def feed(self, data: bytes) -> list[Request]:
        buf = self._buf
        buf += data
        out: list[Request] = []
        while True:
            n = request_length(buf)
            if n is None:
                break
            if n == 0:  # unknown function: the whole buffer, if its CRC holds, else wait for more
                n = len(buf)
                if check_frame(buf) is None:
                    if n >= _MAX_RTU:
                        self.crc_errors += 1
                        del buf[:]
                    break
            if len(buf) < n:
                break
            req = check_frame(buf[:n])
            if req is None:
                self.crc_errors += 1
                del buf[:]  # no way to find the next frame boundary: drop and resync
                break
            del buf[:n]
            if route(req.unit, req.pdu[0], self.units) is Route.IGNORE:
                self.skipped += 1
            else:
                out.append(req)
        return out

    def response(self, req: Request, pdu: bytes) -> bytes | None:
        if req.unit == 0:
            return None  # broadcast: executed, never answered
        return rtu_frame(req.unit, pdu)
