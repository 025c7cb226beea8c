"""The register image: one immutable :class:`Snapshot` per scan, swapped in with one reference write.

Adapters read whatever snapshot is current and never see half a scan. Values and statuses are in
tag-map order (``tagmap.tags``). The Modbus tables are pre-encoded once per scan by
:mod:`plc_emulator.image.codec`, so a Modbus read is a slice.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["RunDigest", "Snapshot"]

F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
U16 = npt.NDArray[np.uint16]
BOOLS = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    tick: int
    sim_time: float  # Unix seconds (epoch + tick * dt)
    values: F64  # per tag, EU (bools/enums as 0/1/index)
    status: U32  # per tag, OPC UA StatusCode
    holding: U16  # holding registers, index = 0-based PDU address
    input: U16  # input registers
    coils: BOOLS
    discrete: BOOLS
    digest: str  # hex SHA-256 of the deterministic snapshot stream up to and including this tick
    alarms: Mapping[str, Any] = field(default_factory=dict)  # alarm block view (filled by the alarms issue)
    events: tuple[Any, ...] = ()  # engine ground-truth events of this tick (GroundTruthEvent)
    commands: tuple[Any, ...] = ()  # commands applied at the start of this tick (Command)
    texts: Mapping[int, str] = field(default_factory=dict)  # string points: tag index -> text (values: length)


class RunDigest:
    """SHA-256 over the deterministic part of every snapshot, in tick order.

    Per tick it hashes ``tick`` (u64 LE), the texts of string points (index u32 LE, length u32 LE,
    ASCII bytes, in tag order), then the values (f64 LE) and statuses (u32 LE) of the
    deterministic columns (every tag except wall-clock runtime diagnostics). Same tag map, seed and
    commands give the same digest whatever the pacing.
    """

    def __init__(self, deterministic_columns: npt.NDArray[np.intp]) -> None:
        self._cols = deterministic_columns
        self._h = hashlib.sha256()

    def update(self, tick: int, values: F64, status: U32, texts: Mapping[int, str] | None = None) -> str:
        self._h.update(struct.pack("<Q", tick))
        for i, text in sorted((texts or {}).items()):  # string points (maps without any hash as before)
            raw = text.encode("ascii", "replace")
            self._h.update(struct.pack("<II", i, len(raw)) + raw)
        self._h.update(np.ascontiguousarray(values[self._cols], dtype="<f8").tobytes())
        self._h.update(np.ascontiguousarray(status[self._cols], dtype="<u4").tobytes())
        return self._h.hexdigest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()
