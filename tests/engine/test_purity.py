"""The pure packages import no I/O, clock, threading or protocol libraries (docs/CONTRACTS.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "plc_emulator"
FORBIDDEN = {"asyncio", "socket", "time", "threading", "sqlite3", "pymodbus", "asyncua", "structlog"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["engine", "alarms", "tagmap", "image"])
def test_pure_package_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in plc_emulator/{package}"
    bad = {f"{f.relative_to(ROOT)}: {m}" for f in files for m in _imports(f) & FORBIDDEN}
    assert not bad, sorted(bad)


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself can fail: a module importing time is reported."""
    f = tmp_path / "m.py"
    f.write_text("import numpy\nfrom time import monotonic\n", encoding="utf-8")
    assert _imports(f) & FORBIDDEN == {"time"}
