"""The deterministic process engine of the separation train (pure: numpy + stdlib only).

Public API (docs/CONTRACTS.md, Engine section)::

    params = params_from_mapping(tagmap.process)
    engine = Engine(params, dt=0.1, seed=42, n=1, epoch=0.0)
    state = engine.initial_state()
    state, events = engine.step(state, commands)
    state, events = engine.run(state, ticks, schedule={tick: [Command, ...]})
    out = engine.outputs(state)   # Outputs(values, status, truth), (N, S) in catalogue order
"""

from plc_emulator.engine.core import Engine
from plc_emulator.engine.params import ParamError, PlantParams, params_from_mapping
from plc_emulator.engine.types import EngineState, GroundTruthEvent, Outputs

__all__ = ["Engine", "EngineState", "GroundTruthEvent", "Outputs", "ParamError", "PlantParams",
           "params_from_mapping"]
