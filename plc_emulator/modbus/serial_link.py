"""Modbus RTU on a serial port (pyserial), in front of the same request service as TCP.

The port is opened non-blocking and read from the event loop (``add_reader``). Bytes accumulate
until the line has been silent for the 3.5-character frame gap (:func:`~plc_emulator.modbus.rtu.frame_gap`,
1.75 ms above 19,200 baud); the bytes received until then are one frame. A frame with a bad CRC is
dropped silently (counted), a frame for another slave address gets no reply, broadcast address 0
executes writes without replying. A pseudo-terminal has no line timing, so on a pty the gap is
what separates the writes of the client (tests use timed writes).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import serial

from plc_emulator.modbus.access import AccessLevel, Client
from plc_emulator.modbus.faults import LinkFaults, send_later
from plc_emulator.modbus.rtu import Route, check_frame, frame_gap, route, rtu_frame
from plc_emulator.modbus.service import ModbusService

__all__ = ["SerialConfig", "SerialLink"]

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


@dataclass(frozen=True, slots=True, kw_only=True)
class SerialConfig:
    device: str
    baud: int = 19200
    parity: str = "E"  # the serial-line spec's default: even parity
    stop_bits: int = 1
    access: AccessLevel = AccessLevel.OPERATOR

    def __post_init__(self) -> None:
        if self.baud <= 0:
            raise ValueError(f"baud rate must be > 0 (got {self.baud})")
        if self.parity not in PARITIES:
            raise ValueError(f"parity must be N, E or O (got {self.parity!r})")
        if self.stop_bits not in (1, 2):
            raise ValueError(f"stop bits must be 1 or 2 (got {self.stop_bits})")

    @property
    def bits_per_char(self) -> int:
        """Start + 8 data + parity + stop bits (11 with parity, 10 without and 1 stop bit)."""
        return 1 + 8 + (0 if self.parity == "N" else 1) + self.stop_bits


class SerialLink:
    """``async with SerialLink(service, SerialConfig(device="/dev/ttyUSB0")):`` serves that port."""

    def __init__(self, service: ModbusService, config: SerialConfig, faults: LinkFaults | None = None) -> None:
        self.service = service
        self.faults = faults if faults is not None else LinkFaults()
        self.config = config
        self.gap = frame_gap(config.baud, config.bits_per_char)
        self.client = Client(config.device, config.access, "rtu")
        self.frames = 0  # frames cut by the gap (good or not)
        self._port: serial.Serial | None = None
        self._buf = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        cfg = self.config
        try:
            self._port = serial.Serial(cfg.device, baudrate=cfg.baud, parity=PARITIES[cfg.parity],
                                       stopbits=cfg.stop_bits, bytesize=8, timeout=0, write_timeout=1)
        except (serial.SerialException, ValueError) as exc:
            raise OSError(f"cannot open serial port {cfg.device}: {exc}") from None
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._port.fileno(), self._readable)

    async def stop(self) -> None:
        port, self._port = self._port, None
        if self._timer is not None:
            self._timer.cancel()
        if port is not None and self._loop is not None:
            self._loop.remove_reader(port.fileno())
            with contextlib.suppress(Exception):
                port.close()

    def _readable(self) -> None:
        port = self._port
        if port is None or self._loop is None:
            return
        try:
            data = port.read(4096)
        except (serial.SerialException, OSError):
            return
        if not data:
            return
        self._buf += data
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(self.gap, self._end_of_frame)

    def _end_of_frame(self) -> None:
        """The line was silent for 3.5 characters: what arrived is one frame."""
        self._timer = None
        frame, self._buf = bytes(self._buf), bytearray()
        self.frames += 1
        stats = self.service.stats
        req = check_frame(frame)
        if req is None:
            stats.crc_errors += 1
            return
        fc = req.pdu[0]
        how = route(req.unit, fc, self.service.unit_ids)
        if how is Route.IGNORE or req.unit in self.service.down_units:  # a dead slave stays silent
            stats.skipped_frames += 1
            return
        fault = self.faults.lookup("rtu", req.unit) if self.faults else None
        kind = fault.kind if fault is not None else ""
        if fault is not None and kind == "exception":
            resp: bytes | None = self.service.fault_exception(req.pdu, fault.code)
        else:
            resp = self.service.handle(req.unit, req.pdu, self.client)
        if how is not Route.ANSWER or resp is None or self._port is None:
            return
        if kind in ("close", "stop_listening") or (kind == "drop" and fault is not None and fault.dropped()):
            stats.link_fault_actions += 1
            return  # a dead or lossy line: no answer
        wire = rtu_frame(req.unit, resp)
        if kind == "corrupt_crc":
            wire = wire[:-1] + bytes((wire[-1] ^ 0xFF,))
        if fault is not None and kind == "delay" and self._loop is not None:
            stats.link_fault_actions += 1
            send_later(self._loop, fault.delay(), self._write, wire)
            return
        self._write(wire)

    def _write(self, wire: bytes) -> None:
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.write(wire)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
