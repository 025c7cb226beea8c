"""Short constructors for the block modules (keeps each spec a readable table)."""

from __future__ import annotations

import math

from plc_emulator.engine.blocks._spec import (
    Direction,
    Param,
    ParamType,
    Port,
    Quantity,
    Signal,
    SignalKind,
    StateVar,
)

__all__ = ["choice", "column", "flag", "inp", "meas", "num", "out", "path", "setting", "shown", "state"]

INF = math.inf


def num(name: str, unit: str, default: float, lo: float = -INF, hi: float = INF, doc: str = "",  # noqa: PLR0917
        *, integer: bool = False) -> Param:
    return Param(name=name, unit=unit, default=default, lo=lo, hi=hi, description=doc,
                 kind=ParamType.INT if integer else ParamType.FLOAT)


def flag(name: str, default: bool, doc: str = "") -> Param:
    return Param(name=name, unit="", default=1.0 if default else 0.0, lo=0.0, hi=1.0,
                 kind=ParamType.BOOL, description=doc)


def choice(name: str, choices: tuple[str, ...], default: str, doc: str = "") -> Param:
    return Param(name=name, unit="", default=float(choices.index(default)), lo=0.0,
                 hi=float(len(choices) - 1), kind=ParamType.CHOICE, choices=choices, description=doc)


def path(name: str, doc: str = "") -> Param:
    """A required file, relative to the plant file (its value is the loaded file's handle)."""
    return Param(name=name, unit="", default=0.0, lo=0.0, kind=ParamType.PATH, description=doc)


def column(name: str, doc: str = "") -> Param:
    """A column of the block's file, by name (its value is the column's index; default the first)."""
    return Param(name=name, unit="", default=0.0, lo=0.0, kind=ParamType.COLUMN, description=doc)


def state(name: str, unit: str, doc: str = "", *, value: float = 0.0, init: str = "",
          extra: tuple[int, ...] = ()) -> StateVar:
    return StateVar(name=name, unit=unit, value=value, init=init, extra=extra, description=doc)


def inp(name: str, q: Quantity, doc: str = "", *, optional: bool = False, idle: float = 0.0) -> Port:
    return Port(name=name, quantity=q, direction=Direction.IN, optional=optional, idle=idle, description=doc)


def out(name: str, q: Quantity, doc: str = "", *, depends: tuple[str, ...] = ()) -> Port:
    return Port(name=name, quantity=q, direction=Direction.OUT, depends=depends, description=doc)


def shown(name: str, unit: str, rng: tuple[float, float], doc: str = "",
          *, states: tuple[str, ...] = ()) -> Signal:
    """A read-only (state) signal."""
    return Signal(name=name, unit=unit, kind=SignalKind.STATE, range=rng, states=states, description=doc)


def setting(name: str, unit: str, rng: tuple[float, float], limits: tuple[float, float], doc: str = "",
            *, states: tuple[str, ...] = ()) -> Signal:
    """A writable (input) signal with its default write limits."""
    return Signal(name=name, unit=unit, kind=SignalKind.INPUT, range=rng, limits=limits, states=states,
                  description=doc)


def meas(name: str, unit: str, rng: tuple[float, float], doc: str = "") -> Signal:
    return Signal(name=name, unit=unit, kind=SignalKind.MEASURED, range=rng, description=doc)
