"""Points of an environment: the tags it reads and writes, and the one rule for an agent's action.

A backend describes every signal it can read as a :class:`~plc_emulator.tagmap.model.Tag`: over
Modbus these are the tag map's own tags; in process, :func:`plant_tags` makes one per plant signal
from the block library (range, write limits, state names). Actions then go through
:func:`~plc_emulator.image.writes.validate_write`, the function every Modbus and OPC UA write passes.

Action rule (docs/gym.md): the action space is a Box per written signal bounded by its write limits
(bool/enum signals: 0 .. states-1). A value outside the Box is clipped to it (``on_limit="clip"``,
the default: reinforcement-learning agents emit unbounded values) or refused with
:class:`~plc_emulator.errors.WriteRejected` (``on_limit="reject"``); a bool/enum value is rounded to
the nearest state; a NaN or infinity is always refused. Every value of an action is checked before
any is written, so a refused action writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from plc_emulator.commands import Command
from plc_emulator.engine.blocks import SignalKind
from plc_emulator.engine.plant import PlantEngine
from plc_emulator.errors import Rejection, WriteRejected
from plc_emulator.image.writes import validate_write
from plc_emulator.tagmap.model import Access, Location, OpcUaPoint, Tag, TagKind

__all__ = ["OnLimit", "WritePoint", "action_commands", "plant_tags", "write_points"]

SOURCE = "gym"  # Command.source of an agent's writes (journals show who wrote)


class OnLimit(StrEnum):
    CLIP = "clip"
    REJECT = "reject"


def _kind(states: tuple[str, ...]) -> TagKind:
    if len(states) == 2:
        return TagKind.DISCRETE
    return TagKind.MULTISTATE if states else TagKind.ANALOG


def plant_tags(engine: PlantEngine) -> dict[str, Tag]:
    """One tag per plant signal; the writable ones are those the engine's command table writes."""
    out: dict[str, Tag] = {}
    writes = engine.commands.writes
    for name, ref in engine.plan.signals.items():
        spec = ref.spec
        w = writes.get(name)
        rw = spec.kind is SignalKind.INPUT and w is not None
        out[name] = Tag(
            device=engine.graph.name, name=name, signal=name,
            unit=spec.unit, description=spec.description, kind=_kind(spec.states),
            range=(float(spec.range[0]), float(spec.range[1])), access=Access.RW if rw else Access.RO,
            write_limits=w.limits if rw and w is not None else None, states=spec.states, precision=3,
            modbus=None, opcua=OpcUaPoint(browse_name=name, node_id=name), alarms=None, historian=None,
            location=Location(file=engine.graph.file, line=1, col=1),
        )
    return out


@dataclass(frozen=True, slots=True)
class WritePoint:
    """A written signal: its tag and the bounds of its part of the action space."""

    tag: Tag
    low: float
    high: float

    @property
    def discrete(self) -> bool:
        return self.tag.kind in (TagKind.DISCRETE, TagKind.MULTISTATE)


def write_points(tags: Mapping[str, Tag], names: Sequence[str]) -> tuple[WritePoint, ...]:
    """The action's points, in order; ValueError names a signal that is unknown or not writable."""
    out: list[WritePoint] = []
    for name in names:
        tag = tags.get(name)
        if tag is None:
            raise ValueError(f"action signal {name!r}: not a signal of this plant/tag map")
        if tag.access is not Access.RW:
            raise ValueError(f"action signal {name!r}: not writable")
        lo, hi = tag.write_limits if tag.write_limits is not None else tag.range
        if tag.kind in (TagKind.DISCRETE, TagKind.MULTISTATE) and tag.states:
            lo, hi = max(lo, 0.0), min(hi, float(len(tag.states) - 1))
        out.append(WritePoint(tag=tag, low=float(lo), high=float(hi)))
    return tuple(out)


def action_commands(points: Sequence[WritePoint], action: Sequence[float], on_limit: OnLimit,
                    ) -> tuple[list[Command], list[str]]:
    """An action vector -> validated write commands (in point order), and the names that were clipped."""
    if len(action) != len(points):
        raise ValueError(f"action has {len(action)} values, the action space {len(points)}")
    cmds: list[Command] = []
    clipped: list[str] = []
    for p, raw in zip(points, action, strict=True):
        v = float(raw)
        if not math.isfinite(v):
            raise WriteRejected(Rejection.TYPE_MISMATCH, p.tag.key, f"not a finite number (got {v})")
        if p.discrete:
            v = float(round(v))
        if not p.low <= v <= p.high:
            if on_limit is OnLimit.REJECT:
                raise WriteRejected(Rejection.OUT_OF_RANGE, p.tag.key,
                                    f"outside the action space {p.low:g}..{p.high:g} (got {v:g})")
            v = min(max(v, p.low), p.high)
            clipped.append(p.tag.signal)
        cmds.append(validate_write(p.tag, v, source=SOURCE))
    return cmds, clipped
