"""The block library: one small pure module per block kind, each defining a ``SPEC``.

``LIBRARY`` maps a kind name (as written in a plant file's ``block:``) to its
:class:`~plc_emulator.engine.blocks._spec.BlockSpec`; docs/blocks.md is generated from it.
"""

from __future__ import annotations

from typing import Final

from plc_emulator.engine.blocks import (
    ambient,
    analyser,
    boundary,
    cascade,
    cstr,
    header,
    heat_exchanger,
    hot_oil_heater,
    interlock,
    kalman,
    on_off_valve,
    pid,
    playback,
    pump,
    separator,
    signal_generator,
    split_range,
    storage_tank,
    switch,
    transmitter,
    valve,
    vsd_pump,
    well,
)
from plc_emulator.engine.blocks._kernel import Context, Kernel
from plc_emulator.engine.blocks._spec import (
    STATE_FORMAT_VERSION,
    UNITS,
    BlockCategory,
    BlockSpec,
    Direction,
    Param,
    ParamType,
    Port,
    Quantity,
    Signal,
    SignalKind,
    StateError,
    StateVar,
    initial_state,
    pack_state,
    resolve_params,
    unpack_state,
)

__all__ = [
    "KERNELS",
    "LIBRARY",
    "STATE_FORMAT_VERSION",
    "UNITS",
    "BlockCategory",
    "BlockSpec",
    "Context",
    "Direction",
    "Kernel",
    "Param",
    "ParamType",
    "Port",
    "Quantity",
    "Signal",
    "SignalKind",
    "StateError",
    "StateVar",
    "initial_state",
    "pack_state",
    "resolve_params",
    "unpack_state",
]

_MODULES: Final = (well, separator, header, boundary, ambient, valve, pump, heat_exchanger, pid, interlock,
                   transmitter, cstr, storage_tank, hot_oil_heater, on_off_valve, kalman,
                   signal_generator, analyser, switch, split_range, cascade, playback, vsd_pump)
LIBRARY: Final[dict[str, BlockSpec]] = {m.SPEC.kind: m.SPEC for m in _MODULES}
KERNELS: Final[dict[str, Kernel]] = {m.SPEC.kind: m.KERNEL for m in _MODULES}
