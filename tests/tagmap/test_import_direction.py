"""The tag map is parsed without the alarm block: alarms builds on the tag map, never the reverse, and
no module works around a loop with an import inside a function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from plc_emulator.alarm_points import STATE_NAMES
from plc_emulator.alarms.states import AlarmState

PKG = Path(__file__).resolve().parents[2] / "plc_emulator"
# what the tag map loader imports (directly or through the signal table)
BELOW_ALARMS = [*sorted((PKG / "tagmap").glob("*.py")), PKG / "signals.py", PKG / "alarm_points.py",
                PKG / "memory.py"]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, imported inside a function) for every absolute import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                out.extend((a.name, inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                out.append((child.module, inner))
            visit(child, inner)

    visit(tree, False)
    return out


@pytest.mark.parametrize("path", BELOW_ALARMS, ids=lambda p: p.name)
def test_no_alarms_import_and_no_lazy_import(path: Path) -> None:
    imports = _imports(path)
    assert not [m for m, _ in imports if m == "plc_emulator.alarms" or m.startswith("plc_emulator.alarms.")]
    assert not [m for m, nested in imports if nested and m.startswith("plc_emulator")]


def test_the_checker_sees_a_lazy_alarms_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import os\n\ndef f():\n    from plc_emulator.alarms import AlarmSystem\n", encoding="utf-8")
    assert _imports(f) == [("os", False), ("plc_emulator.alarms", True)]


@pytest.mark.parametrize("first", ["plc_emulator.alarms", "plc_emulator.tagmap", "plc_emulator.signals",
                                   "plc_emulator.engine.plant", "plc_emulator.scan"])
def test_any_import_order_works(first: str) -> None:
    code = f"import {first}\nimport plc_emulator.tagmap, plc_emulator.alarms\n"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr


def test_alarm_state_names_are_the_state_model_s() -> None:
    assert tuple(s.name for s in sorted(AlarmState, key=lambda s: s.value)) == STATE_NAMES
    assert [s.value for s in AlarmState] == list(range(len(STATE_NAMES)))
