"""Labelled datasets of many plants: one engine over the batch axis, streamed to disk in row groups.

Wide form, one row per plant and recorded tick (see docs/datasets.md for every column): per tag
bound to an engine signal its measured value, true value and StatusCode; per fault-capable tag the
fault kind active; the pump's degradation stage and health index; slug and ESD flags. Plus an
events table (ground truth with start and end) and a metadata JSON (tag map hash, seed, scenario,
versions, columns). Memory is bounded by ``max_cells``: a row group is flushed whenever the buffer
holds that many cells, whatever the number of plants or the length of the run.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from plc_emulator.alarms.fleet import OEE_SIGNALS, Crew, Fleet, aged, fleet_engine, fleet_of
from plc_emulator.commands import Command
from plc_emulator.datasets.faults import FaultCampaign, fault_campaign
from plc_emulator.datasets.labels import FAULT_CATEGORIES, EventRow, LabelTracker
from plc_emulator.datasets.writer import open_sink, write_table
from plc_emulator.engine.catalogue import SignalKind
from plc_emulator.engine.protocol import ProcessEngine
from plc_emulator.oee import TRAIN_UNITS, OeeAccumulator, OeeSpec, separation_train_inputs
from plc_emulator.tagmap.model import TagMap

__all__ = ["ColumnPlan", "DatasetConfig", "DatasetPaths", "build_dataset", "column_plan", "dataset_paths"]

_FAULT_TYPE = pa.dictionary(pa.int8(), pa.string())
_CATS = pa.array(FAULT_CATEGORIES, type=pa.string())


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetConfig:
    plants: int
    ticks: int
    dt: float
    seed: int
    every: int = 1  # record every N ticks
    campaign: FaultCampaign = field(default_factory=FaultCampaign)
    weibull_scale_days: float | None = None  # pump degradation onset scale override (days running)
    operator_round: float = 1800.0  # s; resets a cleared ESD and restarts a tripped pump
    max_cells: int = 4_000_000  # values per column block buffered before a row group is written


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetPaths:
    data: Path
    events: Path
    metadata: Path


def dataset_paths(out: Path, fmt: str = "parquet") -> DatasetPaths:
    """``DIR`` -> DIR/data.<fmt>, DIR/events.<fmt>, DIR/metadata.json; ``X.parquet`` / ``X.csv`` ->
    X.<ext>, X.events.<ext>, X.metadata.json beside it."""
    if out.suffix in (".parquet", ".csv"):
        return DatasetPaths(data=out, events=out.with_name(f"{out.stem}.events{out.suffix}"),
                            metadata=out.with_name(f"{out.stem}.metadata.json"))
    return DatasetPaths(data=out / f"data.{fmt}", events=out / f"events.{fmt}", metadata=out / "metadata.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnPlan:
    keys: tuple[str, ...]  # tags bound to engine signals, tag-map order
    signals: npt.NDArray[np.intp]  # their engine columns
    fault_keys: tuple[str, ...]  # tags that can carry a fault (field instruments, loop valves)
    fault_signals: tuple[str, ...]
    units: tuple[str, ...]
    descriptions: tuple[str, ...]


def column_plan(tagmap: TagMap) -> ColumnPlan:
    cat = tagmap.catalogue
    tags = [t for t in tagmap.tags if t.signal in cat]
    faulty = [t for t in tags if cat.specs[cat.index_of(t.signal)].kind is SignalKind.MEASURED
              or t.signal.endswith(".valve")]
    return ColumnPlan(
        keys=tuple(t.key for t in tags),
        signals=np.asarray([cat.index_of(t.signal) for t in tags], dtype=np.intp),
        fault_keys=tuple(t.key for t in faulty),
        fault_signals=tuple(t.signal for t in faulty),
        units=tuple(t.unit for t in tags),
        descriptions=tuple(t.description for t in tags),
    )


def schema(plan: ColumnPlan) -> pa.Schema:
    fields = [pa.field("plant", pa.int32()), pa.field("tick", pa.int64()),
              pa.field("time", pa.timestamp("ns", tz="UTC"))]
    for key in plan.keys:
        fields += [pa.field(key, pa.float64()), pa.field(f"{key}.true", pa.float64()),
                   pa.field(f"{key}.status", pa.uint32())]
    fields += [pa.field(f"fault.{key}", _FAULT_TYPE) for key in plan.fault_keys]
    fields += [pa.field("fault_any", pa.bool_()), pa.field("pump.stage", pa.int8()),
               pa.field("pump.health", pa.float64()), pa.field("slug_active", pa.bool_()),
               pa.field("esd_active", pa.bool_())]
    return pa.schema(fields)


EVENTS_SCHEMA = pa.schema([
    pa.field("plant", pa.int32()), pa.field("kind", pa.string()), pa.field("target", pa.string()),
    pa.field("fault_kind", pa.string()), pa.field("start_tick", pa.int64()), pa.field("end_tick", pa.int64()),
    pa.field("start", pa.timestamp("ns", tz="UTC")), pa.field("end", pa.timestamp("ns", tz="UTC")),
    pa.field("detail", pa.string()),
])


class _Buffer:
    """Column-major buffers (column, tick, plant): a column of a row group is one contiguous slice."""

    def __init__(self, plan: ColumnPlan, n: int, max_cells: int) -> None:
        c, f = len(plan.keys), len(plan.fault_keys)
        self.t = max(1, max_cells // max(1, n * (3 * c + f + 5)))
        self.n = n
        self.plan = plan
        self.values = np.empty((c, self.t, n))
        self.truth = np.empty((c, self.t, n))
        self.status = np.empty((c, self.t, n), dtype=np.uint32)
        self.codes = np.empty((f, self.t, n), dtype=np.int8)
        self.stage = np.empty((self.t, n), dtype=np.int8)
        self.health = np.empty((self.t, n))
        self.slug = np.empty((self.t, n), dtype=np.bool_)
        self.esd = np.empty((self.t, n), dtype=np.bool_)
        self.ticks = np.empty(self.t, dtype=np.int64)
        self.j = 0

    def add(self, tick: int, out: Any, tracker: LabelTracker, slug: Any, esd: Any) -> None:
        j, cols = self.j, self.plan.signals
        self.values[:, j, :] = out.values[:, cols].T
        self.truth[:, j, :] = out.truth[:, cols].T
        self.status[:, j, :] = out.status[:, cols].T
        self.codes[:, j, :] = tracker.codes.T
        self.stage[j] = tracker.stage
        self.health[j] = tracker.health
        self.slug[j] = slug
        self.esd[j] = esd
        self.ticks[j] = tick
        self.j += 1

    def table(self, sch: pa.Schema, epoch_ns: int, dt_ns: int) -> pa.Table:
        j, n = self.j, self.n
        ticks = np.repeat(self.ticks[:j], n)
        cols: list[Any] = [
            pa.array(np.tile(np.arange(n, dtype=np.int32), j)),
            pa.array(ticks),
            pa.array(epoch_ns + ticks * dt_ns, type=pa.timestamp("ns", tz="UTC")),
        ]
        for c in range(len(self.plan.keys)):
            cols += [pa.array(self.values[c, :j].reshape(-1)), pa.array(self.truth[c, :j].reshape(-1)),
                     pa.array(self.status[c, :j].reshape(-1))]
        any_fault = np.zeros(j * n, dtype=np.bool_)
        for f in range(len(self.plan.fault_keys)):
            codes = self.codes[f, :j].reshape(-1)
            any_fault |= codes > 0
            cols.append(pa.DictionaryArray.from_arrays(pa.array(codes), _CATS))
        cols += [pa.array(any_fault), pa.array(self.stage[:j].reshape(-1)), pa.array(self.health[:j].reshape(-1)),
                 pa.array(self.slug[:j].reshape(-1)), pa.array(self.esd[:j].reshape(-1))]
        self.j = 0
        return pa.Table.from_arrays(cols, schema=sch)


def _engine(tagmap: TagMap, cfg: DatasetConfig, fleet: Fleet) -> ProcessEngine:
    """The tag map's engine over the batch (a plant file's rows each with their own seed), its pump's
    onset scale overridden when asked."""
    model, params = tagmap.plant_model, tagmap.plant_params  # parsed once with the tag map
    if cfg.weibull_scale_days is not None:
        model, params = aged(model, params, fleet, None, cfg.weibull_scale_days)
    return fleet_engine(model, params, dt=cfg.dt, seed=cfg.seed, n=cfg.plants, phase=0, epoch=tagmap.epoch)


class _Signals:
    """The catalogue columns the labels read; what the plant lacks reads as False / 0."""

    def __init__(self, fleet: Fleet) -> None:
        cat = fleet.catalogue
        self.vib = cat.index_of(f"{fleet.pump}.vibration") if fleet.pump is not None else None
        self.slugs = [cat.index_of(s) for s in fleet.slugs]
        self.esd = cat.index_of("ESD.active") if "ESD.active" in cat else None

    def read(self, truth: npt.NDArray[np.float64]) -> tuple[Any, Any, Any]:
        n = truth.shape[0]
        vib = truth[:, self.vib] if self.vib is not None else np.zeros(n)
        slug = (truth[:, self.slugs] > 0.5).any(axis=1) if self.slugs else np.zeros(n, dtype=np.bool_)
        esd = truth[:, self.esd] > 0.5 if self.esd is not None else np.zeros(n, dtype=np.bool_)
        return vib, slug, esd


def build_dataset(
    tagmap: TagMap,
    cfg: DatasetConfig,
    paths: DatasetPaths,
    *,
    schedule: Mapping[int, list[Command]] | None = None,
    scenario: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the batch, stream the data file, write the events table and the metadata; the summary."""
    plan = column_plan(tagmap)
    sch = schema(plan)
    fleet = fleet_of(tagmap.catalogue, tagmap.pm_params)
    labelled = set(plan.fault_signals)  # faults only where a tag carries the label: no unlabelled anomaly
    fleet = dataclasses.replace(fleet, sensors=tuple(s for s in fleet.sensors if s in labelled),
                                valves=tuple(v for v in fleet.valves if v in labelled))
    engine = _engine(tagmap, cfg, fleet)
    state = engine.initial_state()
    zone_d = tagmap.pm_params.vibration.zones[2]
    tracker = LabelTracker(cfg.plants, plan.fault_signals, zone_d=zone_d, pump=fleet.pump)
    sched: dict[int, list[Command]] = {k: list(v) for k, v in (schedule or {}).items()}
    for k, cmds in fault_campaign(cfg.campaign, plants=cfg.plants, ticks=cfg.ticks, dt=cfg.dt,
                                  seed=cfg.seed, fleet=fleet).items():
        sched.setdefault(k, []).extend(cmds)
    buf = _Buffer(plan, cfg.plants, cfg.max_cells)
    epoch_ns, dt_ns = round(tagmap.epoch * 1e9), round(cfg.dt * 1e9)
    signals = _Signals(fleet)
    round_every = max(1, round(cfg.operator_round / cfg.dt))
    sink = open_sink(paths.data, sch)
    spec = OeeSpec()
    oee = OeeAccumulator(cfg.plants, TRAIN_UNITS, nameplate=[spec.nameplate_bpd / 86400.0] * 2) if fleet.oee else None
    oee_cols = {name: tagmap.catalogue.index_of(name) for name in OEE_SIGNALS} if fleet.oee else {}
    crew = Crew(fleet, cfg.plants)
    rows = groups = 0
    operator: list[Command] = []
    try:
        out = engine.outputs(state)
        for k in range(cfg.ticks + 1):
            if k > 0:
                state, events = engine.step(state, sched.get(k, []) + operator)
                operator = []
                tracker.apply(k, events)
                out = engine.outputs(state)
                if oee is not None:
                    oee.add(cfg.dt, **separation_train_inputs(out.truth, oee_cols, spec))
            vib, slug, esd = signals.read(out.truth)
            # ESD intervals go to the events table; slugs (hundreds a day) only to the slug_active column
            tracker.observe(k, vibration=vib, flags={"esd": esd})
            if k % cfg.every == 0:
                buf.add(k, out, tracker, slug, esd)
                if buf.j == buf.t:
                    sink.write(buf.table(sch, epoch_ns, dt_ns))
                    rows, groups = rows + buf.t * cfg.plants, groups + 1
            if k > 0 and k % round_every == 0:
                operator = crew.round(out.values)
            if progress is not None and k % 1000 == 0:
                progress(k, cfg.ticks)
        if buf.j:
            rows, groups = rows + buf.j * cfg.plants, groups + 1
            sink.write(buf.table(sch, epoch_ns, dt_ns))
    finally:
        sink.close()
    truth = tracker.close()
    _write_events(paths.events, truth, epoch_ns, dt_ns)
    summary = _summary(cfg, rows, groups, truth, buf)
    summary["oee"] = {} if oee is None else {
        u: {k: v for k, v in f.items() if k != "oee_per_plant"} for u, f in oee.figures().items()}
    if oee is None:
        summary["oee_note"] = fleet.no_oee_reason
    summary["pump"] = fleet.pump
    meta = _metadata(tagmap, cfg, plan, sch, paths=paths, scenario=scenario, summary=summary)
    paths.metadata.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return summary


def _write_events(path: Path, rows: list[EventRow], epoch_ns: int, dt_ns: int) -> None:
    start = np.asarray([r.start_tick for r in rows], dtype=np.int64)
    end = [r.end_tick for r in rows]
    write_table(path, {
        "plant": [r.plant for r in rows], "kind": [r.kind for r in rows], "target": [r.target for r in rows],
        "fault_kind": [r.fault_kind for r in rows], "start_tick": start, "end_tick": end,
        "start": pa.array(epoch_ns + start * dt_ns, type=pa.timestamp("ns", tz="UTC")),
        "end": pa.array([None if e is None else epoch_ns + e * dt_ns for e in end],
                        type=pa.timestamp("ns", tz="UTC")),
        "detail": [r.detail for r in rows],
    }, EVENTS_SCHEMA)


def _summary(cfg: DatasetConfig, rows: int, groups: int, events: list[EventRow], buf: _Buffer) -> dict[str, Any]:
    by_kind: dict[str, int] = {}
    for r in events:
        key = f"fault:{r.fault_kind}" if r.kind == "fault" else r.kind
        by_kind[key] = by_kind.get(key, 0) + 1
    return {
        "plants": cfg.plants, "rows": rows, "row_groups": groups, "rows_per_group": buf.t * cfg.plants,
        "events": len(events), "events_by_kind": dict(sorted(by_kind.items())),
    }


def _versions() -> dict[str, str]:
    from plc_emulator import __version__

    return {"plc_emulator": __version__, "numpy": np.__version__, "pyarrow": pa.__version__,
            "python": platform.python_version()}


def _metadata(tagmap: TagMap, cfg: DatasetConfig, plan: ColumnPlan, sch: pa.Schema, *, paths: DatasetPaths,
              scenario: Mapping[str, Any] | None, summary: Mapping[str, Any]) -> dict[str, Any]:
    units = dict(zip(plan.keys, plan.units, strict=True))
    desc = dict(zip(plan.keys, plan.descriptions, strict=True))
    return {
        "format": "plc-emulator labelled dataset", "format_version": 1,
        "tagmap": {"path": tagmap.path, "sha256": tagmap.sha256},
        "scenario": dict(scenario) if scenario else None,
        "seed": cfg.seed, "plants": cfg.plants, "dt_s": cfg.dt, "record_every_ticks": cfg.every,
        "ticks": cfg.ticks, "duration_s": cfg.ticks * cfg.dt, "epoch": tagmap.epoch,
        "fault_campaign": {"rate_per_plant_day": cfg.campaign.rate_per_day, "min_hours": cfg.campaign.min_hours,
                           "max_hours": cfg.campaign.max_hours},
        "weibull_scale_days": cfg.weibull_scale_days, "operator_round_s": cfg.operator_round,
        "fault_kinds": list(FAULT_CATEGORIES),
        "files": {"data": paths.data.name, "events": paths.events.name},
        "tags": [{"key": k, "unit": units[k], "description": desc[k], "fault_label": k in plan.fault_keys}
                 for k in plan.keys],
        "columns": [{"name": f.name, "type": str(f.type)} for f in sch],
        "versions": _versions(),
        "summary": dict(summary),
    }
