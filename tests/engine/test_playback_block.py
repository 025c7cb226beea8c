"""The ``playback`` block in a plant file: a recorded CSV or Parquet file served through the real
PlantEngine at 1x and 10x, interpolation, loop, a recorded feed driving a CSTR, and every bad file
refused with the place in the plant file and in the recording."""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from plc_emulator.engine.plant import PlantEngine, PlantError, load_plant
from plc_emulator.engine.plant._schema import plant_schema

CSV = """timestamp,F_feed,T_feed
2026-01-01T00:00:00Z,100.0,300.0
2026-01-01T00:00:10Z,110.0,301.0
2026-01-01T00:00:25Z,80.0,299.5
2026-01-01T00:01:00Z,95.0,298.0
"""
OFFSETS = (0.0, 10.0, 25.0, 60.0)
FEED = (100.0, 110.0, 80.0, 95.0)


def _plant(tmp_path: Path, params: str, *, name: str = "rec.csv", extra: str = "") -> Path:
    """A plant of one playback unit ``PB`` (with ``params``) next to the recording ``name``."""
    f = tmp_path / "plant.yaml"
    f.write_text(f"plant: pb\nunits:\n  PB:\n    block: playback\n    params: {params}\n{extra}", encoding="utf-8")
    if not (tmp_path / name).exists() and name.endswith(".csv"):
        (tmp_path / name).write_text(CSV, encoding="utf-8")
    return f


def _series(eng: PlantEngine, ticks: int, signal: str = "PB.value") -> list[float]:
    s = eng.initial_state()
    out = [float(s.truth[0, eng.column[signal]])]
    for _ in range(ticks):
        s, _ = eng.step(s)
        out.append(float(s.truth[0, eng.column[signal]]))
    return out


@pytest.mark.parametrize(("speed", "dt"), [(1.0, 1.0), (10.0, 0.5), (10.0, 0.1)])
def test_recorded_values_at_recorded_times(tmp_path: Path, speed: float, dt: float) -> None:
    eng = PlantEngine(load_plant(_plant(tmp_path, f"{{file: rec.csv, column: F_feed, speed: {speed}}}")), dt=dt)
    got = _series(eng, round(60.0 / speed / dt))
    for off, want in zip(OFFSETS, FEED, strict=True):
        tick = round(off / speed / dt)
        assert got[tick] == pytest.approx(want, abs=1e-9), (speed, dt, off)


def test_interpolation_hold_loop_scale_and_position(tmp_path: Path) -> None:
    lin = PlantEngine(load_plant(_plant(tmp_path, "{file: rec.csv, column: T_feed}")), dt=1.0)
    assert _series(lin, 5)[5] == pytest.approx(300.5)  # halfway between rows 1 and 2
    assert _series(lin, 90)[90] == pytest.approx(298.0)  # past the end: the last row held
    hold = PlantEngine(load_plant(_plant(tmp_path, "{file: rec.csv, column: T_feed, interpolation: hold}")), dt=1.0)
    assert _series(hold, 9)[9] == pytest.approx(300.0)
    looped = PlantEngine(load_plant(_plant(tmp_path, "{file: rec.csv, loop: true, scale: 2, offset: 1}")), dt=1.0)
    got = _series(looped, 70)
    assert got[70] == pytest.approx(2 * 110.0 + 1)  # 70 s = 60 s + 10 s: row 1 again; default column: F_feed
    assert _series(looped, 70, "PB.position")[70] == pytest.approx(10.0)


def test_parquet_plays_like_the_csv(tmp_path: Path) -> None:
    stamps = pa.array([int(1767225600 + o) * 1000 for o in OFFSETS], type=pa.timestamp("ms", tz="UTC"))
    pq.write_table(pa.table({"ts": stamps, "F_feed": list(FEED), "n": pa.array([1, 2, 3, 4], type=pa.int32())}),
                   tmp_path / "rec.parquet")
    eng = PlantEngine(load_plant(_plant(tmp_path, "{file: rec.parquet, column: F_feed}", name="rec.parquet")),
                      dt=1.0)
    got = _series(eng, 60)
    assert [got[round(o)] for o in OFFSETS] == pytest.approx(FEED)
    csv = PlantEngine(load_plant(_plant(tmp_path, "{file: rec.csv, column: F_feed}")), dt=1.0)
    assert got == pytest.approx(_series(csv, 60), abs=1e-9)


CSTR = """plant: recorded_feed
units:
  FEED:
    block: playback
    params: {file: feed.csv, column: F, interpolation: hold, scale: 1.6666666666666667e-05}
  COOL: {block: signal_generator, params: {shape: step, offset: 76, amplitude: 0}}
  R-1:
    block: cstr
    initial: {temperature_k: 320, concentration: 0.5, jacket_temperature_k: 310, coolant_l_min: 228}
connections:
  - COOL.value -> R-1.coolant_valve
"""


def test_a_recorded_feed_drives_the_cstr(tmp_path: Path) -> None:
    """The feed port takes the recording (L/min scaled to m3/s); the reactor answers to the
    recorded feed cut, and without the connection it keeps the written feed flow."""
    (tmp_path / "feed.csv").write_text("t,F\n0,100\n120,20\n", encoding="utf-8")
    fed = tmp_path / "fed.yaml"
    fed.write_text(CSTR + "  - FEED.liquid_flow -> R-1.feed\n", encoding="utf-8")
    alone = tmp_path / "alone.yaml"
    alone.write_text(CSTR, encoding="utf-8")
    runs = {}
    for name, f in (("fed", fed), ("alone", alone)):
        eng = PlantEngine(load_plant(f), dt=1.0)
        runs[name] = (_series(eng, 600, "R-1.feed_flow"), _series(eng, 600, "R-1.concentration"))
    flow, ca = runs["fed"]
    assert flow[60] == pytest.approx(100.0)
    assert flow[200] == pytest.approx(20.0)
    assert runs["alone"][0][200] == pytest.approx(100.0)  # the written (initial) feed flow
    # a fifth of the feed: five times the residence time, the reactant is used up further
    assert ca[600] < runs["alone"][1][600] - 0.05


def test_per_row_recordings_in_a_batch(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("t,F_feed,T_feed\n0,7,1\n60,8,2\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("t,T_feed,F_feed\n0,1,7\n60,2,8\n", encoding="utf-8")
    f = _plant(tmp_path, "{file: [rec.csv, b.csv], column: F_feed}")
    eng = PlantEngine(load_plant(f), dt=1.0, n=2)
    s = eng.initial_state()
    assert s.truth[:, eng.column["PB.value"]] == pytest.approx([100.0, 7.0])
    bad = _plant(tmp_path, "{file: [rec.csv, c.csv], column: F_feed}")
    with pytest.raises(PlantError, match="different places"):
        load_plant(bad)


def _problem(tmp_path: Path, params: str, *, name: str = "rec.csv") -> str:
    with pytest.raises(PlantError) as exc:
        load_plant(_plant(tmp_path, params, name=name))
    lines = exc.value.problems
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(("content", "inner"), [
    ("t,x\n0,1\n5,abc\n", "bad.csv:3:3: not a number"),
    ("t,x\n0,1\n0,2\n", "bad.csv:3:1: timestamps must increase"),
    ("t\n0\n", "bad.csv:1:1: need a header"),
    ("t,x,x\n0,1,2\n", "bad.csv:1:5: column names must be given and unique"),
    ("t,x\n", "bad.csv:2:1: no data rows"),
    (b"t,x\n0,\xff\n", "bad.csv:1:1: cannot read the recording: not UTF-8"),
])
def test_bad_csv_named_in_both_files(tmp_path: Path, content: str | bytes, inner: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    line = _problem(tmp_path, "{file: bad.csv}")
    assert line.startswith(f"{tmp_path / 'plant.yaml'}:5:20: units.PB.params.file: bad recording \"bad.csv\": ")
    assert inner in line


def test_missing_directory_and_fifo_are_refused(tmp_path: Path) -> None:
    assert "No such file" in _problem(tmp_path, "{file: nowhere.csv}")
    (tmp_path / "dir.csv").mkdir()
    assert "it is a directory" in _problem(tmp_path, "{file: dir.csv}")
    os.mkfifo(tmp_path / "fifo.csv")
    assert "not a regular file" in _problem(tmp_path, "{file: fifo.csv}")  # and no hang


def test_bad_parquet_named_by_row_and_column(tmp_path: Path) -> None:
    pq.write_table(pa.table({"t": [0.0, 1.0, 2.0], "x": [1.0, None, 3.0]}), tmp_path / "null.parquet")
    assert 'null.parquet: row 2, column "x": missing' in _problem(tmp_path, "{file: null.parquet}", name="x")
    pq.write_table(pa.table({"t": [0.0, 2.0, 1.0], "x": [1.0, 2.0, 3.0]}), tmp_path / "back.parquet")
    assert 'row 3, column "t": timestamps must increase' in _problem(tmp_path, "{file: back.parquet}", name="x")
    pq.write_table(pa.table({"t": [0.0, 1.0], "x": ["a", "b"]}), tmp_path / "text.parquet")
    assert 'column "x" is string, not a number' in _problem(tmp_path, "{file: text.parquet}", name="x")
    (tmp_path / "junk.parquet").write_text("not parquet", encoding="utf-8")
    assert "cannot read the recording as Parquet" in _problem(tmp_path, "{file: junk.parquet}", name="x")


def test_column_and_file_parameter_problems(tmp_path: Path) -> None:
    line = _problem(tmp_path, "{file: rec.csv, column: F_fed}")
    assert ':5:37: units.PB.params.column: no column "F_fed" in the recording (columns: F_feed, T_feed)' in line
    assert 'did you mean "F_feed"' in line
    assert "block playback needs file:" in _problem(tmp_path, "{column: F_feed}")
    assert "must be a string" in _problem(tmp_path, "{file: 12}")


def test_schema_knows_the_path_and_column_kinds(tmp_path: Path) -> None:
    v = jsonschema.Draft202012Validator(plant_schema())
    good = yaml.safe_load(_plant(tmp_path, "{file: rec.csv, column: F_feed}").read_text(encoding="utf-8"))
    assert not list(v.iter_errors(good))
    for params in ({"column": "F_feed"}, {"file": 3}, {"file": "rec.csv", "column": 1}):
        bad = {**good, "units": {"PB": {"block": "playback", "params": params}}}
        assert list(v.iter_errors(bad)), params
