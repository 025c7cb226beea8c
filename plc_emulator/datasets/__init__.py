"""Labelled datasets for detector builders: many plants, true values, fault labels, ground-truth events.

    plan = column_plan(tagmap)
    summary = build_dataset(tagmap, DatasetConfig(plants=100, ticks=60480, dt=10.0, seed=1),
                            dataset_paths(Path("out/")))

docs/datasets.md is the data card (every column explained).
"""

from plc_emulator.datasets.faults import FaultCampaign, fault_campaign
from plc_emulator.datasets.labels import FAULT_CATEGORIES, EventRow, LabelTracker
from plc_emulator.datasets.run import ColumnPlan, DatasetConfig, DatasetPaths, build_dataset, column_plan, dataset_paths

__all__ = [
    "FAULT_CATEGORIES",
    "ColumnPlan",
    "DatasetConfig",
    "DatasetPaths",
    "EventRow",
    "FaultCampaign",
    "LabelTracker",
    "build_dataset",
    "column_plan",
    "dataset_paths",
    "fault_campaign",
]
