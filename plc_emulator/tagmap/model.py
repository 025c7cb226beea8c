"""The tag map as frozen, validated value objects. The engine and adapters never see a raw dict.

Produced only by :func:`plc_emulator.tagmap.load` (which collects every problem and raises one
:class:`~plc_emulator.errors.TagMapError`). Times are seconds (YAML accepts ``500ms``, ``30s``,
``2h``, ``7d``). Modbus addresses are 0-based PDU addresses; the YAML may also give 1-based
reference numbers (``40001``), which the loader converts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.engine.params import PlantParams
from plc_emulator.tagmap.pm import PmParams

if TYPE_CHECKING:  # the plant package reads its files with the tag map's reader
    from plc_emulator.engine.plant import LoadedPlant

__all__ = [
    "WORD_ORDER_64",
    "Access",
    "AlarmLimits",
    "ByteOrder",
    "Device",
    "HistorianPoint",
    "HistorianSettings",
    "Location",
    "ModbusPoint",
    "ModbusSettings",
    "OpcUaPoint",
    "OpcUaSettings",
    "Table",
    "Tag",
    "TagKind",
    "TagMap",
    "ValueFormat",
    "WordOrder",
]


class Access(StrEnum):
    RO = "ro"
    RW = "rw"


class TagKind(StrEnum):
    ANALOG = "analog"  # AnalogItemType
    DISCRETE = "discrete"  # TwoStateDiscreteType (two state names)
    MULTISTATE = "multistate"  # MultiStateDiscreteType (state names by index)
    COUNTER = "counter"  # integer diagnostics (BaseDataVariable, UInt32)


class Table(StrEnum):
    COIL = "coil"  # 0xxxx, FC 1/5/15
    DISCRETE_INPUT = "discrete_input"  # 1xxxx, FC 2
    INPUT_REGISTER = "input_register"  # 3xxxx, FC 4
    HOLDING_REGISTER = "holding_register"  # 4xxxx, FC 3/6/16/22/23


class ValueFormat(StrEnum):
    FLOAT32 = "float32"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT64 = "float64"
    INT64 = "int64"  # whole numbers beyond 2**53 are carried as the nearest float64
    UINT64 = "uint64"
    INT16 = "int16"  # scaled: raw_range <-> EU range
    UINT16 = "uint16"  # scaled: raw_range <-> EU range
    BOOL = "bool"  # coils / discrete inputs (or 0/1 in a register, or one bit of a register)
    STRING = "string"  # fixed-length ASCII text of ModbusPoint.length registers (free memory points only)

    @property
    def registers(self) -> int:
        """Registers of a number format (a string's count is its point's ``length``: 0 here)."""
        if self is ValueFormat.STRING:
            return 0
        if self in (ValueFormat.FLOAT64, ValueFormat.INT64, ValueFormat.UINT64):
            return 4
        return 2 if self in (ValueFormat.FLOAT32, ValueFormat.INT32, ValueFormat.UINT32) else 1


class WordOrder(StrEnum):
    """Register order of multi-register values; 64-bit points use the 8-letter names (``name64``)."""

    ABCD = "ABCD"  # big-endian, high word first (64-bit: ABCDEFGH)
    CDAB = "CDAB"  # word-swapped (64-bit: GHEFCDAB, words in reverse order)
    BADC = "BADC"  # byte-swapped within words (64-bit: BADCFEHG)
    DCBA = "DCBA"  # little-endian (64-bit: HGFEDCBA)

    @property
    def name64(self) -> str:
        return _NAME64[self]


_NAME64: dict[WordOrder, str] = {WordOrder.ABCD: "ABCDEFGH", WordOrder.CDAB: "GHEFCDAB",
                                 WordOrder.BADC: "BADCFEHG", WordOrder.DCBA: "HGFEDCBA"}
WORD_ORDER_64: dict[str, WordOrder] = {v: k for k, v in _NAME64.items()}


class ByteOrder(StrEnum):
    """Which character of a pair a string register carries in its high byte (PLCs differ)."""

    HIGH_FIRST = "high_first"  # 'AB' -> 0x4142 (Modicon, most PLCs)
    LOW_FIRST = "low_first"  # 'AB' -> 0x4241 (byte-swapped, e.g. some Siemens/Allen-Bradley drivers)


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusPoint:
    table: Table
    address: int  # 0-based PDU address of the first register/bit
    format: ValueFormat
    word_order: WordOrder = WordOrder.ABCD
    raw_range: tuple[int, int] | None = None  # int16/uint16 scaling: raw_lo..raw_hi <-> EU range
    quality_address: int | None = None  # register (same table) holding the OPC DA quality word
    bit: int | None = None  # bool packed into bit 0..15 of a register (status words)
    length: int = 0  # string points: registers of the text (2 ASCII characters each)
    byte_order: ByteOrder = ByteOrder.HIGH_FIRST  # string points: character order within a register

    @property
    def order_name(self) -> str:
        """The word (string: byte) order as users write it for this point ('' for one-register points)."""
        if self.format is ValueFormat.STRING:
            return self.byte_order.value
        n = self.format.registers
        return self.word_order.value if n == 2 else self.word_order.name64 if n == 4 else ""

    @property
    def count(self) -> int:
        """Registers (or bits) the value occupies."""
        if self.format is ValueFormat.STRING:
            return self.length
        return 1 if self.format is ValueFormat.BOOL else self.format.registers


@dataclass(frozen=True, slots=True, kw_only=True)
class OpcUaPoint:
    browse_name: str
    node_id: str  # string identifier in the plant namespace, e.g. "SEP-V100.inlet_pressure"
    historizing: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmLimits:
    hihi: float | None = None
    hi: float | None = None
    lo: float | None = None
    lolo: float | None = None
    deadband: float = 0.0  # EU
    on_delay: float = 0.0  # s
    off_delay: float = 0.0  # s
    priority: int = 2  # 1 low, 2 medium, 3 high, 4 critical (per limit below, if given)
    priorities: Mapping[str, int] = field(default_factory=dict)  # {"hihi": 4, "hi": 2, ...}
    roc_limit: float | None = None  # EU per second; rate-of-change alarm when exceeded
    roc_window: float = 10.0  # s
    bad_quality: bool = True  # raise an alarm when the tag's quality is Bad
    discrete_alarm_state: int | None = None  # discrete tags: value that is abnormal (e.g. TRIPPED = 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorianPoint:
    enabled: bool = True
    deadband: float = 0.0  # EU; 0 records every change
    max_interval: float = 60.0  # s; a value is forced after this long without one


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag:
    device: str
    name: str
    signal: str
    unit: str
    description: str
    kind: TagKind
    range: tuple[float, float]  # EU range (EURange)
    access: Access
    write_limits: tuple[float, float] | None  # rw tags only
    states: tuple[str, ...]  # discrete/multistate state names by value
    precision: int  # decimal places (ValuePrecision)
    modbus: ModbusPoint | None
    opcua: OpcUaPoint
    alarms: AlarmLimits | None
    historian: HistorianPoint | None
    location: Location
    # read-only copies of the value elsewhere in the image (e.g. the field PVs as scaled uint16 input
    # registers); the image codec encodes each like ``modbus``. Writes never go through a mirror.
    modbus_mirrors: tuple[ModbusPoint, ...] = ()
    # retentive memory: restored on a warm restart (``retain:``; default true for rw setpoints,
    # modes, tuning and memory registers, false for commands and manual outputs)
    retain: bool = False

    @property
    def key(self) -> str:
        """Unique ``DEVICE.tag`` name, e.g. ``SEP-V100.inlet_pressure``."""
        return f"{self.device}.{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceIdentification:
    """OPC UA DI-style identification of a device (``identification:`` in the tag map); None = the
    server's default (docs/opcua.md, "Typed information model")."""

    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    hardware_revision: str | None = None
    software_revision: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    name: str
    description: str
    tags: tuple[Tag, ...]
    identification: DeviceIdentification = DeviceIdentification()


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusSettings:
    unit_id: int = 1
    unknown_unit: str = "exception"  # "exception" -> 0x0A gateway path unavailable, "ignore" -> no response
    word_order: WordOrder = WordOrder.ABCD  # default for 32-bit points
    port: int = 5020


@dataclass(frozen=True, slots=True, kw_only=True)
class OpcUaSettings:
    namespace_uri: str = "urn:plc-emulator:separation-train"
    port: int = 4840
    application_uri: str = "urn:plc-emulator:server"


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorianSettings:
    batch_size: int = 500  # rows per commit (size trigger)
    commit_interval: float = 1.0  # s (time trigger); bounds what a crash can lose
    queue_size: int = 100_000  # in-memory queue; drop-oldest when full
    retention_hours: float = 24.0  # CLEANUP_HOURS
    max_db_bytes: int = 1_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TagMap:
    path: str
    sha256: str  # of the file's bytes; recorded in journals and historian metadata
    name: str
    plant: str  # OPC UA plant object name
    description: str
    scan_period: float  # s (engine dt)
    seed: int
    epoch: float  # simulated time at tick 0, Unix seconds
    modbus: ModbusSettings
    opcua: OpcUaSettings
    historian: HistorianSettings
    process: Mapping[str, Any]  # ``process:`` as written (parsed: ``plant_params``)
    pm: Mapping[str, Any]  # ``pm:`` as written (parsed: ``pm_params``)
    devices: tuple[Device, ...]
    # True when the file sets ``epoch:``; ``run`` then keeps it instead of taking the wall clock
    epoch_pinned: bool = False
    # ``model:``: the plant file the PLC runs (None = the built-in separation train engine), and the
    # signal table every tag, alarm, PM rule and OPC UA node is checked against
    plant_model: LoadedPlant | None = None
    catalogue: Catalogue = LEGACY
    # parsed once at load, never again: the built-in engine's parameters (``process:``; unused with
    # ``model:``) and the PM rules' (``pm:``, checked against ``catalogue``)
    plant_params: PlantParams = field(default_factory=PlantParams)
    pm_params: PmParams = field(default_factory=PmParams)

    @property
    def tags(self) -> tuple[Tag, ...]:
        """All tags in document order (the order of snapshot arrays)."""
        return tuple(t for d in self.devices for t in d.tags)

    def tag(self, key: str) -> Tag:
        for t in self.tags:
            if t.key == key:
                return t
        raise KeyError(key)
