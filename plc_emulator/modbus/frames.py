"""Modbus TCP framing (MBAP), sans-I/O: bytes in -> (transaction, unit, PDU) frames out.

Nothing here touches a socket, so the rules can be tested frame by frame:

* a frame is ``tid(2) pid(2) length(2) unit(1) PDU``; ``length`` counts unit + PDU and must be
  2..254 (PDU 1..253 bytes, ADU <= 260). A length outside that cannot be resynchronised, so the
  connection is closed (only that one: every connection has its own buffer);
* a frame with a protocol id other than 0 is not Modbus: it is skipped without an answer;
* a partial frame waits for more bytes; several frames in one segment are all returned, in order;
  frames complete before an impossible header travel with the FramingError, so the connection
  answers them before it closes;
* the common case, a poller's segment holding exactly one request with nothing buffered before it,
  is cut by :meth:`FrameBuffer.single` without touching the buffer (the same rules, fewer steps).
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

__all__ = [
    "MAX_ADU",
    "MAX_PDU",
    "FrameBuffer",
    "FramingError",
    "Request",
    "exception_pdu",
    "mbap",
]

MAX_PDU: Final = 253
MAX_ADU: Final = 260
_HEADER = struct.Struct(">HHHB")


class FramingError(ValueError):
    """The byte stream cannot be Modbus TCP (bad length field): close this connection.

    ``requests`` are the complete frames received before the bad one: answer them, then close.
    """

    def __init__(self, message: str, requests: list[Request] | None = None) -> None:
        super().__init__(message)
        self.requests: list[Request] = requests if requests is not None else []


class Request(NamedTuple):
    """One request frame: transaction id (MBAP; 0 on RTU), unit id (RTU: slave address), PDU."""

    tid: int
    unit: int
    pdu: bytes


class FrameBuffer:
    """Accumulates received bytes of one connection and cuts them into MBAP frames."""

    __slots__ = ("_buf", "crc_errors", "skipped")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0  # frames dropped for a non-zero protocol id
        self.crc_errors = 0  # always 0: MBAP has no CRC (the RTU framers count theirs)

    def __len__(self) -> int:
        return len(self._buf)

    def single(self, data: bytes) -> Request | None:
        """``data`` as one request when nothing is buffered and it is exactly one frame, else None.

        None means "use :meth:`feed`", which applies every rule (partial frames, several frames,
        protocol id, bad lengths); this only takes the case where those rules have nothing to do."""
        n = len(data)
        if self._buf or n < 8 or data[2] or data[3]:
            return None
        if ((data[4] << 8) | data[5]) != n - 6 or n > MAX_ADU:
            return None
        return Request((data[0] << 8) | data[1], data[6], data[7:])

    def feed(self, data: bytes) -> list[Request]:
        """Add ``data``; return every complete frame. Raises FramingError on an impossible header."""
        buf = self._buf
        buf += data
        out: list[Request] = []
        pos = 0
        n = len(buf)
        while n - pos >= 7:
            tid, pid, length, unit = _HEADER.unpack_from(buf, pos)
            if length < 2 or length > MAX_PDU + 1:
                del buf[:]
                raise FramingError(f"MBAP length {length} outside 2..{MAX_PDU + 1}", out)
            end = pos + 6 + length
            if end > n:
                break
            if pid == 0:
                out.append(Request(tid, unit, bytes(buf[pos + 7 : end])))
            else:
                self.skipped += 1
            pos = end
        if pos:
            del buf[:pos]
        return out


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    """A complete Modbus TCP ADU for ``pdu``."""
    return _HEADER.pack(tid, 0, len(pdu) + 1, unit) + pdu


def exception_pdu(function_code: int, code: int) -> bytes:
    """Exception response PDU: the function code with bit 7 set, then the exception code."""
    return bytes(((function_code | 0x80) & 0xFF, code & 0xFF))
