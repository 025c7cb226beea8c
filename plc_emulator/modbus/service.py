"""Modbus request handling against the current snapshot, without I/O: request PDU -> response PDU.

Processing order per request (Modbus Application Protocol V1.1b3, 6.x state diagrams): function
supported? (else 0x01) -> PDU length, quantity, byte count and coil value valid? (else 0x03) ->
addresses inside the map? (else 0x02) -> execute (a write the PLC refuses: 0x02 read-only, 0x03 out
of limits; a PLC that cannot queue it now: 0x06 server busy; anything unexpected: 0x04). Reads are
slices of the snapshot's pre-encoded big-endian register bytes, converted once per snapshot; the
answer to a read (FC 1-4) is kept with that snapshot, so a poller repeating the same read between
two scans gets the same bytes without recomputing them. Writes are decoded and validated as a whole
by :meth:`RegisterImage.decode_write` and submitted only if every point passes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
from pymodbus.constants import DeviceInformation, ExcCodes
from pymodbus.pdu.device import DeviceInformationFactory, ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse

from plc_emulator import __version__
from plc_emulator.audit import AuditRecord
from plc_emulator.commands import Command
from plc_emulator.errors import EmulatorError, Rejection, WriteRejected
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.modbus.access import LOCAL, AccessLevel, Client, audit
from plc_emulator.modbus.frames import exception_pdu
from plc_emulator.tagmap.model import Table, TagMap

__all__ = ["LIMITS", "ModbusService", "ModbusStats", "PlcLike", "identity_for"]

# Spec quantity limits (libmodbus src/modbus.h)
MAX_READ_BITS: Final = 2000
MAX_WRITE_BITS: Final = 1968
MAX_READ_REGISTERS: Final = 125
MAX_WRITE_REGISTERS: Final = 123
MAX_RW_WRITE_REGISTERS: Final = 121
LIMITS: Final = {
    "read_bits": MAX_READ_BITS, "write_bits": MAX_WRITE_BITS, "read_registers": MAX_READ_REGISTERS,
    "write_registers": MAX_WRITE_REGISTERS, "rw_write_registers": MAX_RW_WRITE_REGISTERS,
}
SUPPORTED: Final = (1, 2, 3, 4, 5, 6, 15, 16, 22, 23, 43)
WRITE_FUNCTIONS: Final = frozenset({5, 6, 15, 16, 22, 23})

_ILLEGAL_FUNCTION: Final = int(ExcCodes.ILLEGAL_FUNCTION)
_ILLEGAL_ADDRESS: Final = int(ExcCodes.ILLEGAL_ADDRESS)
_ILLEGAL_VALUE: Final = int(ExcCodes.ILLEGAL_VALUE)
_DEVICE_FAILURE: Final = int(ExcCodes.DEVICE_FAILURE)
_DEVICE_BUSY: Final = int(ExcCodes.DEVICE_BUSY)
_GATEWAY_NO_RESPONSE: Final = int(ExcCodes.GATEWAY_NO_RESPONSE)
_GATEWAY_PATH: Final = int(ExcCodes.GATEWAY_PATH_UNAVIABLE)  # (sic, pymodbus's spelling) 0x0A
_HH = struct.Struct(">HH")
_MAX_KEPT_READS: Final = 4096  # distinct read requests answered from one snapshot's cache


class PlcLike(Protocol):
    """What the adapter needs from the PLC: the current snapshot and a thread-safe command queue."""

    @property
    def snapshot(self) -> Snapshot: ...

    def submit(self, cmd: Command) -> None: ...


@dataclass(slots=True)
class ModbusStats:
    """Plain counters the runtime exports to Prometheus (runtime/metrics.py reads these names)."""

    requests: dict[int, int] = field(default_factory=dict)  # function code -> requests
    exceptions: dict[tuple[int, int], int] = field(default_factory=dict)  # (fc, exception code) -> n
    connected_clients: int = 0
    connections_total: int = 0
    framing_errors: int = 0  # connections closed for an impossible MBAP header
    skipped_frames: int = 0  # frames not for us: non-zero MBAP protocol id, other RTU slave addresses
    crc_errors: int = 0  # RTU frames dropped for a bad CRC
    link_fault_actions: int = 0  # answers delayed / dropped, connections closed by a link fault
    ignored_units: int = 0  # requests to unknown unit ids left unanswered (unknown_unit: ignore)
    writes_accepted: int = 0  # commands submitted to the PLC
    writes_denied: int = 0  # write requests refused for the client's access level (0x01)
    connections_refused: int = 0  # over a listener's or a client address's connection limit
    idle_closed: int = 0  # connections closed after the idle timeout
    frame_timeouts: int = 0  # connections closed holding a half-received frame too long

    @property
    def exceptions_by_fc(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for (fc, _), n in self.exceptions.items():
            out[fc] = out.get(fc, 0) + n
        return out


class _Fail(Exception):
    """Internal: answer with this exception code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(slots=True)
class _View:
    """The snapshot's tables in wire form, built once per snapshot, and its answered reads."""

    snap: Snapshot
    holding: bytes
    input: bytes
    coils: np.ndarray[Any, np.dtype[np.bool_]]
    discrete: np.ndarray[Any, np.dtype[np.bool_]]
    reads: dict[bytes, bytes] = field(default_factory=dict)  # read request PDU -> response PDU

    def keep(self, pdu: bytes, resp: bytes) -> bytes:
        """Remember a read's answer for this snapshot (bounded) and return it."""
        if len(self.reads) < _MAX_KEPT_READS:
            self.reads[pdu] = resp
        return resp


class _Control:
    """The object pymodbus's DeviceInformationFactory reads (``.Identity``)."""

    def __init__(self, identity: ModbusDeviceIdentification) -> None:
        self.Identity = identity


def identity_for(tagmap: TagMap) -> ModbusDeviceIdentification:
    """FC 43/14 objects: vendor, product code, revision (basic); URL, product, model, application."""
    return ModbusDeviceIdentification(info={  # type: ignore[no-untyped-call]
        0x00: "plc-emulator",
        0x01: "PLC-EMU",
        0x02: __version__,
        0x03: "https://github.com/plc-emulator/plc-emulator",
        0x04: "plc-emulator separation train PLC",
        0x05: tagmap.name or "plc-emulator",
        0x06: tagmap.plant or "plant",
    })


class ModbusService:
    """One PLC's Modbus function codes. ``handle(unit, pdu)`` is called per request frame."""

    def __init__(self, tagmap: TagMap, plc: PlcLike, *, unit_id: int | None = None,
                 image: RegisterImage | None = None, stats: ModbusStats | None = None,
                 identity: ModbusDeviceIdentification | None = None,
                 unit_ids: tuple[int, ...] = ()) -> None:
        self.tagmap = tagmap
        self.plc = plc
        self.image = image if image is not None else RegisterImage(tagmap)
        self.stats = stats if stats is not None else ModbusStats()
        self.unit_id = tagmap.modbus.unit_id if unit_id is None else int(unit_id)
        self.unit_ids = frozenset({self.unit_id, *unit_ids})  # configured units (RTU slave addresses)
        self.units = self.unit_ids | {0, 255}  # TCP: 0 and 255 address the device itself
        self.down_units: frozenset[int] = frozenset()  # configured units whose link is faulted -> 0x0B
        self._served = self.units  # units answered normally: units - down_units (set_unit_down)
        self.audit_sink: Callable[[AuditRecord], None] | None = None  # the runtime's AuditLog.record
        self.ignore_unknown_units = tagmap.modbus.unknown_unit == "ignore"
        self._control = _Control(identity if identity is not None else identity_for(tagmap))
        self._view: _View | None = None
        self._client = LOCAL  # the client of the request being handled (set by handle)
        self._column = {t.signal: i for i, t in reversed(list(enumerate(tagmap.tags)))}
        submit_many = getattr(plc, "submit_many", None)
        self._submit_many: Callable[[list[Command]], None] | None = (
            submit_many if callable(submit_many) else None)
        self._handlers: dict[int, Callable[[bytes], bytes]] = {
            1: self._read_coils, 2: self._read_discrete, 3: self._read_holding, 4: self._read_input,
            5: self._write_coil, 6: self._write_register, 15: self._write_coils, 16: self._write_registers,
            22: self._mask_write, 23: self._read_write, 43: self._device_id,
        }

    # ------------------------------------------------------------------ entry point

    def handle(self, unit: int, pdu: bytes, client: Client = LOCAL) -> bytes | None:
        """Response PDU for one request PDU, or None when no answer is due (unknown unit, ignore)."""
        fc = pdu[0] if pdu else 0
        stats = self.stats
        stats.requests[fc] = stats.requests.get(fc, 0) + 1
        if unit not in self._served:
            return self._unserved(fc, unit)
        kept = self.view().reads.get(pdu)
        if kept is not None:  # the same read of the same snapshot (every level may read)
            return kept
        handler = self._handlers.get(fc)
        if handler is None:
            return self._exception(fc, _ILLEGAL_FUNCTION)
        if fc in WRITE_FUNCTIONS and client.level is AccessLevel.VIEWER:
            stats.writes_denied += 1
            audit(client, f"function {fc}", None, None, "denied: viewer access reads only", sink=self.audit_sink)
            return self._exception(fc, _ILLEGAL_FUNCTION)
        self._client = client
        try:
            return handler(pdu)
        except _Fail as f:
            return self._exception(fc, f.code)
        except WriteRejected as e:
            if e.reason is Rejection.ACCESS_DENIED:
                stats.writes_denied += 1
                audit(client, e.tag, self._old(e.tag), None, f"denied: {e.detail}", sink=self.audit_sink)
            return self._exception(fc, int(e.modbus_exception))
        except Exception:  # a bug or a stopping PLC must not kill the connection: 0x04
            return self._exception(fc, _DEVICE_FAILURE)
        finally:
            self._client = LOCAL

    def _unserved(self, fc: int, unit: int) -> bytes | None:
        if unit in self.down_units:  # a configured unit behind a faulted link: target did not respond
            return self._exception(fc, _GATEWAY_NO_RESPONSE)
        if self.ignore_unknown_units:
            self.stats.ignored_units += 1
            return None
        return self._exception(fc, _GATEWAY_PATH)  # no such unit behind this gateway

    def set_unit_down(self, unit: int, down: bool) -> None:
        """A link fault on ``unit`` (``close``) starts (0x0B on TCP, silence on a serial line) or ends."""
        self.down_units = self.down_units | {unit} if down else self.down_units - {unit}
        self._served = self.units - self.down_units

    def fault_exception(self, pdu: bytes, code: int) -> bytes:
        """A link fault's answer (0x04 / 0x06) instead of executing ``pdu``: counted like any exception."""
        fc = pdu[0] if pdu else 0
        self.stats.requests[fc] = self.stats.requests.get(fc, 0) + 1
        self.stats.link_fault_actions += 1
        return self._exception(fc, code)

    def _exception(self, fc: int, code: int) -> bytes:
        key = (fc & 0x7F, code)
        self.stats.exceptions[key] = self.stats.exceptions.get(key, 0) + 1
        return exception_pdu(fc, code)

    # ------------------------------------------------------------------ helpers

    def view(self) -> _View:
        snap = self.plc.snapshot
        v = self._view
        if v is None or v.snap is not snap:
            v = _View(snap, snap.holding.astype(">u2").tobytes(), snap.input.astype(">u2").tobytes(),
                      np.asarray(snap.coils, dtype=np.bool_), np.asarray(snap.discrete, dtype=np.bool_))
            self._view = v
        return v

    @staticmethod
    def _fixed(pdu: bytes, size: int) -> tuple[int, int]:
        if len(pdu) != size:
            raise _Fail(_ILLEGAL_VALUE)
        a, b = _HH.unpack_from(pdu, 1)
        return int(a), int(b)

    @staticmethod
    def _check_range(address: int, count: int, size: int) -> None:
        if address + count > size:
            raise _Fail(_ILLEGAL_ADDRESS)

    def _decode(self, table: Table, address: int, values: list[int] | list[bool]) -> list[Command]:
        return self.image.decode_write(table, address, values, role=self._client.level.value)

    def _old(self, what: str) -> float | None:
        """The served value of a signal or tag key (for the audit record), None if unknown."""
        i = self._column.get(what)
        if i is None:
            i = next((n for n, t in enumerate(self.tagmap.tags) if t.key == what), None)
        return None if i is None else float(self.plc.snapshot.values[i])

    def _submit(self, cmds: list[Command]) -> None:
        """Queue validated commands; a PLC that cannot take them now (queue full, stopping) -> 0x06."""
        client = self._client
        old = [self._old(c.target) for c in cmds]
        try:
            if self._submit_many is not None and len(cmds) > 1:
                self._submit_many(cmds)
            else:
                for c in cmds:
                    self.plc.submit(c)
        except EmulatorError as exc:
            for c, o in zip(cmds, old, strict=True):
                audit(client, c.target, o, c.value, "refused: PLC busy", sink=self.audit_sink)
            raise _Fail(_DEVICE_BUSY) from exc
        self.stats.writes_accepted += len(cmds)
        for c, o in zip(cmds, old, strict=True):
            audit(client, c.target, o, c.value, "accepted", sink=self.audit_sink)

    # ------------------------------------------------------------------ reads

    def _read_bits(self, pdu: bytes, discrete: bool) -> bytes:
        address, count = self._fixed(pdu, 5)
        if not 1 <= count <= MAX_READ_BITS:
            raise _Fail(_ILLEGAL_VALUE)
        v = self.view()
        bits = v.discrete if discrete else v.coils
        self._check_range(address, count, len(bits))
        packed = np.packbits(bits[address : address + count], bitorder="little").tobytes()
        return v.keep(pdu, bytes((pdu[0], len(packed))) + packed)

    def _read_coils(self, pdu: bytes) -> bytes:
        return self._read_bits(pdu, False)

    def _read_discrete(self, pdu: bytes) -> bytes:
        return self._read_bits(pdu, True)

    def _read_registers(self, pdu: bytes, holding: bool) -> bytes:
        address, count = self._fixed(pdu, 5)
        if not 1 <= count <= MAX_READ_REGISTERS:
            raise _Fail(_ILLEGAL_VALUE)
        v = self.view()
        table = v.holding if holding else v.input
        self._check_range(address, count, len(table) // 2)
        return v.keep(pdu, bytes((pdu[0], 2 * count)) + table[2 * address : 2 * (address + count)])

    def _read_holding(self, pdu: bytes) -> bytes:
        return self._read_registers(pdu, True)

    def _read_input(self, pdu: bytes) -> bytes:
        return self._read_registers(pdu, False)

    # ------------------------------------------------------------------ writes

    def _write_coil(self, pdu: bytes) -> bytes:
        address, value = self._fixed(pdu, 5)
        if value not in (0xFF00, 0x0000):
            raise _Fail(_ILLEGAL_VALUE)
        self._submit(self._decode(Table.COIL, address, [value == 0xFF00]))
        return pdu

    def _write_register(self, pdu: bytes) -> bytes:
        address, value = self._fixed(pdu, 5)
        self._submit(self._decode(Table.HOLDING_REGISTER, address, [value]))
        return pdu

    def _write_coils(self, pdu: bytes) -> bytes:
        if len(pdu) < 6:
            raise _Fail(_ILLEGAL_VALUE)
        address, count = _HH.unpack_from(pdu, 1)
        nbytes = pdu[5]
        if not 1 <= count <= MAX_WRITE_BITS or nbytes != (count + 7) // 8 or len(pdu) != 6 + nbytes:
            raise _Fail(_ILLEGAL_VALUE)
        if address + count > 0x10000:
            raise _Fail(_ILLEGAL_ADDRESS)
        bits = np.unpackbits(np.frombuffer(pdu, dtype=np.uint8, offset=6), bitorder="little")[:count]
        self._submit(self._decode(Table.COIL, address, [bool(b) for b in bits]))
        return pdu[:5]

    def _write_registers(self, pdu: bytes) -> bytes:
        if len(pdu) < 6:
            raise _Fail(_ILLEGAL_VALUE)
        address, count = _HH.unpack_from(pdu, 1)
        nbytes = pdu[5]
        if not 1 <= count <= MAX_WRITE_REGISTERS or nbytes != 2 * count or len(pdu) != 6 + nbytes:
            raise _Fail(_ILLEGAL_VALUE)
        if address + count > 0x10000:
            raise _Fail(_ILLEGAL_ADDRESS)
        words = list(struct.unpack_from(f">{count}H", pdu, 6))
        self._submit(self._decode(Table.HOLDING_REGISTER, address, words))
        return pdu[:5]

    def _mask_write(self, pdu: bytes) -> bytes:
        if len(pdu) != 7:
            raise _Fail(_ILLEGAL_VALUE)
        address, and_mask, or_mask = struct.unpack_from(">HHH", pdu, 1)
        holding = self.view().holding
        self._check_range(address, 1, len(holding) // 2)
        (current,) = struct.unpack_from(">H", holding, 2 * address)
        value = ((current & and_mask) | (or_mask & ~and_mask)) & 0xFFFF
        self._submit(self._decode(Table.HOLDING_REGISTER, address, [value]))
        return pdu

    def _read_write(self, pdu: bytes) -> bytes:
        if len(pdu) < 10:
            raise _Fail(_ILLEGAL_VALUE)
        r_addr, r_count, w_addr, w_count = struct.unpack_from(">HHHH", pdu, 1)
        nbytes = pdu[9]
        if (not 1 <= r_count <= MAX_READ_REGISTERS or not 1 <= w_count <= MAX_RW_WRITE_REGISTERS
                or nbytes != 2 * w_count or len(pdu) != 10 + nbytes):
            raise _Fail(_ILLEGAL_VALUE)
        # both ranges are checked before anything is executed, so a bad read cannot half-apply a write
        self._check_range(r_addr, r_count, len(self.view().holding) // 2)
        if w_addr + w_count > 0x10000:
            raise _Fail(_ILLEGAL_ADDRESS)
        words = list(struct.unpack_from(f">{w_count}H", pdu, 10))
        self._submit(self._decode(Table.HOLDING_REGISTER, w_addr, words))
        # the write is performed (queued) before the read, per the spec; the table size never changes
        holding = self.view().holding
        return bytes((23, 2 * r_count)) + holding[2 * r_addr : 2 * (r_addr + r_count)]

    # ------------------------------------------------------------------ 43 / 14 device identification

    def _device_id(self, pdu: bytes) -> bytes:
        if len(pdu) < 2:
            raise _Fail(_ILLEGAL_VALUE)
        if pdu[1] != 0x0E:  # only Read Device Identification is implemented among the MEI types
            raise _Fail(_ILLEGAL_FUNCTION)
        if len(pdu) != 4:
            raise _Fail(_ILLEGAL_VALUE)
        read_code, object_id = pdu[2], pdu[3]
        if not 1 <= read_code <= 4:
            raise _Fail(_ILLEGAL_VALUE)
        identity = self._control.Identity
        if read_code == DeviceInformation.SPECIFIC:
            if (0x07 <= object_id < 0x80) or not identity[object_id]:
                raise _Fail(_ILLEGAL_ADDRESS)
        else:
            top = {1: 0x02, 2: 0x06, 3: 0xFF}[read_code]
            if object_id > top or (0x07 <= object_id < 0x80) or not identity[object_id]:
                object_id = 0  # stream access restarts at the first object (spec 6.21)
        info = DeviceInformationFactory.get(self._control, read_code, object_id)  # type: ignore[no-untyped-call]
        info = {k: (v.encode() if isinstance(v, str) else v) for k, v in info.items()}
        resp = ReadDeviceInformationResponse(read_code=read_code, information=info)
        resp.conformity = 0x82  # regular identification, stream and individual access
        return bytes((0x2B,)) + resp.encode()
