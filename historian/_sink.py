"""The sink interface the forwarder talks to, and the batch it hands over."""

from __future__ import annotations

import math
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

__all__ = ["Batch", "ForwardRow", "Sink", "SinkSession", "SinkUnavailable", "rows_to_json"]


class SinkUnavailable(Exception):
    """The sink cannot be reached (connect refused, connection lost): back off and reconnect.

    ``refused`` marks a failure retrying alone will not fix (bad credentials, untrusted or missing
    certificate): the forwarder keeps retrying but reports it on ``/health``.
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class ForwardRow(NamedTuple):
    seq: int
    tag: str
    device: str
    time: float
    value: float
    status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Rows with consecutive positions in the store (seq order), all acknowledged or none."""

    first_seq: int
    last_seq: int
    rows: tuple[ForwardRow, ...]
    historical: bool  # backfill of a backlog (Sparkplug's is_historical)


class SinkSession(Protocol):
    def alive(self) -> bool:
        """False once the connection is known to be gone (the forwarder then reconnects)."""

    def held(self) -> bool:
        """True while the far end wants data kept in the store (Sparkplug: primary host offline)."""

    def epoch(self) -> int:
        """Birth count (0 for sinks without births). When it changes, rows committed before it are
        re-planned as backfill (``historical``)."""

    async def send(self, batch: Batch) -> None:
        """Return only once the sink acknowledged every row of ``batch``.

        Raise :class:`SinkUnavailable` when the connection is gone; any other exception means this
        batch failed (it counts towards quarantine).
        """


class Sink(Protocol):
    name: str  # the cursor key in the store; keep it stable across restarts

    def session(self) -> AbstractAsyncContextManager[SinkSession]:
        """Connect; raise :class:`SinkUnavailable` when the sink cannot be reached."""


def rows_to_json(rows: tuple[ForwardRow, ...] | list[ForwardRow]) -> list[dict[str, Any]]:
    """Rows as JSON objects (a non-finite value becomes null)."""
    return [
        {
            "seq": r.seq,
            "tag": r.tag,
            "time": r.time,
            "value": r.value if math.isfinite(r.value) else None,
            "status": r.status,
        }
        for r in rows
    ]
