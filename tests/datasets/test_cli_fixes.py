"""Small CLI fixes: negative relative times, units on trend axes, one way to name the historian DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from historian import Historian, Store
from historian._model import TagInfo
from plc_emulator.cli import join_dash_values, main
from plc_emulator.cli._common import db_path
from plc_emulator.cli.trend import axis_label
from tests.conftest import DEFAULT_TAGMAP

TAG = "SEP-V100.inlet_pressure"


def _db(path: Path, unit: str = "") -> Path:
    with Historian(path) as h:
        h.record_many((TAG, 1000.0 + i, 900.0 + i, 0) for i in range(600))
    if unit:
        with Store(path) as st:
            tid = st.tag_ids()[TAG]
            st.upsert_tags([(tid, TagInfo(name=TAG, device="SEP-V100", unit=unit))])
    return path


class TestNegativeTimes:
    def test_join_only_relative_values_of_time_options(self) -> None:
        assert join_dash_values(["trend", "--from", "-3min", "--to", "-10s"]) == [
            "trend", "--from=-3min", "--to=-10s"
        ]
        # a real option after --from is left alone (argparse then says --from needs a value)
        assert join_dash_values(["--from", "-o", "x"]) == ["--from", "-o", "x"]
        assert join_dash_values(["--from", "1010", "-o", "x"]) == ["--from", "1010", "-o", "x"]

    def test_trend_from_minus_3min_with_a_space(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        db = _db(tmp_path / "h.db")
        out = tmp_path / "t.png"
        rc = main(["trend", "--db", str(db), "--tag", TAG, "--from", "-3min", "-o", str(out)])
        assert rc == 0, capsys.readouterr().err
        # newest sample at t = 1599: -3min -> 1419 .. 1599 = 181 samples
        assert "181 samples" in capsys.readouterr().out


class TestDbArgument:
    def test_trend_and_historian_default_to_data_dir(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("DATA_DIR", str(tmp_path))
        assert db_path(None) == tmp_path / "historian.db"
        assert db_path("x.db") == Path("x.db")
        _db(tmp_path / "historian.db")
        assert main(["historian", "info"]) == 0
        assert "samples: 600" in capsys.readouterr().out
        assert main(["trend", "--tag", TAG, "-o", str(tmp_path / "t.png")]) == 0
        assert "600 samples" in capsys.readouterr().out

    def test_same_flag_and_error_for_a_missing_db(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        missing = str(tmp_path / "none.db")
        assert main(["historian", "info", "--db", missing]) == 2
        err_h = capsys.readouterr().err
        assert main(["trend", "--db", missing, "--tag", TAG, "-o", str(tmp_path / "t.png")]) == 2
        err_t = capsys.readouterr().err
        assert err_h == err_t == f"plc-emulator: error: historian database not found: {missing}\n"

    def test_positional_and_flag_must_agree(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        a, b = _db(tmp_path / "a.db"), _db(tmp_path / "b.db")
        assert main(["trend", str(a), "--db", str(b), "--tag", TAG, "-o", str(tmp_path / "t.png")]) == 2
        assert "two databases given" in capsys.readouterr().err


class TestTrendUnits:
    def test_axis_label(self) -> None:
        assert axis_label(TAG, "PSI") == "SEP-V100.inlet_pressure [PSI]"
        assert axis_label("ALARMS.active_count", "") == "ALARMS.active_count [-]"

    def test_units_from_store_or_tagmap_reach_the_plot(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from plc_emulator.cli import trend

        seen: list[dict[str, str]] = []
        monkeypatch.setattr(trend, "_plot", lambda series, limits, units, *a: seen.append(units))
        db = _db(tmp_path / "u.db", unit="psi(a)")
        assert main(["trend", "--db", str(db), "--tag", TAG, "-o", str(tmp_path / "t.png")]) == 0
        assert seen[-1] == {TAG: "psi(a)"}
        plain = _db(tmp_path / "p.db")
        assert main(["trend", "--db", str(plain), "--tag", TAG, "--tagmap", str(DEFAULT_TAGMAP),
                     "-o", str(tmp_path / "t.png")]) == 0
        assert seen[-1] == {TAG: "PSI"}
