"""Values that cross the engine boundary: state, outputs and ground-truth events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["F64", "U32", "EngineState", "GroundTruthEvent", "Outputs", "copy_rng"]

F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineState:
    """Everything the engine needs to continue a run; ``step`` never mutates one, it returns a new one.

    ``arrays`` holds named float64 arrays with a leading batch axis N ((N,), (N, 8) per loop or
    (N, 12) per field instrument); ``status`` is the (N, 12) StatusCode of the field instruments;
    ``rng`` is the run's one ``Generator(PCG64(SeedSequence(seed)))``.
    """

    tick: int
    rng: np.random.Generator
    arrays: Mapping[str, F64]
    status: U32

    @property
    def n(self) -> int:
        return int(self.status.shape[0])

    def copy(self) -> EngineState:
        return EngineState(
            tick=self.tick,
            rng=copy_rng(self.rng),
            arrays={k: v.copy() for k, v in self.arrays.items()},
            status=self.status.copy(),
        )


_SEED0 = np.random.SeedSequence(0)


def copy_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent Generator in the same state (seeding from a fixed SeedSequence and then
    overwriting the state is ~14 us; ``PCG64()`` would first gather OS entropy, ~22 us)."""
    out = np.random.Generator(np.random.PCG64(_SEED0))
    out.bit_generator.state = rng.bit_generator.state
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Outputs:
    """Per plant and catalogue signal: measured ``values``, OPC UA ``status`` and noiseless ``truth``."""

    values: F64  # (N, S)
    status: U32  # (N, S)
    truth: F64  # (N, S)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundTruthEvent:
    """Something that really happened in the plant, for scoring detectors (domain notes §6.5)."""

    tick: int
    plant: int
    # fault_start fault_end degradation_onset failure pump_trip esd_trip slug severe_slug write_ignored
    kind: str
    target: str
    params: Mapping[str, float | int | str] = field(default_factory=dict)
