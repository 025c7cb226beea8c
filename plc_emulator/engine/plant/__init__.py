"""Plant files: YAML -> :class:`PlantFile` -> validated :class:`Graph` -> compiled :class:`Plan`.

    plant = load_plant("tag_maps/plants/separation_train.yaml")   # PlantError: every problem
    plan = compile_plan(plant.graph, n=1)
"""

from __future__ import annotations

from plc_emulator.engine.plant._api import LoadedPlant, load_plant, loads_plant
from plc_emulator.engine.plant._graph import Graph
from plc_emulator.engine.plant._model import PlantError, PlantFile
from plc_emulator.engine.plant._plan import Group, Plan, compile_plan
from plc_emulator.engine.plant._run import PlantEngine, PlantState

__all__ = ["Graph", "Group", "LoadedPlant", "Plan", "PlantEngine", "PlantError", "PlantFile", "PlantState",
           "compile_plan", "load_plant", "loads_plant"]
