"""Playback of a recorded CSV: the recorded values at the recorded times at 1x and 10x,
interpolation, loop, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plc_emulator.engine.playback import PlaybackError, Player, load_csv, parse_csv

CSV = """timestamp,PT-100,TT-101
2026-01-01T00:00:00Z,1000.0,60.0
2026-01-01T00:00:10Z,1010.0,61.0
2026-01-01T00:00:25Z,1005.0,59.5
2026-01-01T00:01:00Z,990.0,58.0
"""


def test_recorded_values_at_recorded_times_at_1x_and_10x(tmp_path: Path) -> None:
    f = tmp_path / "rec.csv"
    f.write_text(CSV, encoding="utf-8")
    rec = load_csv(f)
    assert rec.columns == ("PT-100", "TT-101")
    offsets = rec.times - rec.times[0]
    for speed in (1.0, 10.0):
        player = Player(rec, speed=speed)
        for k, off in enumerate(offsets):
            assert np.array_equal(player.at(off / speed), rec.values[k]), (speed, k)


def test_interpolation_hold_and_loop() -> None:
    rec = parse_csv(CSV)
    assert Player(rec).at(5.0) == pytest.approx([1005.0, 60.5])
    assert Player(rec, interpolation="hold").at(9.99) == pytest.approx([1000.0, 60.0])
    assert Player(rec).at(1e6) == pytest.approx([990.0, 58.0])  # past the end: the last row held
    assert Player(rec, loop=True).at(60.0 + 10.0) == pytest.approx([1010.0, 61.0])


def test_numeric_timestamps() -> None:
    rec = parse_csv("t,x\n0,1\n2,3\n")
    assert Player(rec, speed=2.0).at(0.5) == pytest.approx([2.0])


@pytest.mark.parametrize(("text", "where"), [
    ("t\n0\n", ":1:1:"), ("t,x\n0,1\n0,2\n", ":3:1:"), ("t,x\n0,abc\n", ":2:3:"), ("t,x\nnoon,1\n", ":2:1:"),
    ("t,x\n0,1,2\n", ":2:1:"), ("t,x\n", ":2:1:"), ("t,x\n0,nan\n", ":2:3:")])
def test_bad_recordings_name_the_place(text: str, where: str) -> None:
    with pytest.raises(PlaybackError, match=where):
        parse_csv(text, "rec.csv")


def test_bad_player_settings() -> None:
    rec = parse_csv(CSV)
    with pytest.raises(ValueError, match="speed"):
        Player(rec, speed=0.0)
    with pytest.raises(ValueError, match="interpolation"):
        Player(rec, interpolation="cubic")
