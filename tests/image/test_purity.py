"""image/ is pure: no asyncio, socket, time, threading, sqlite3, pymodbus, asyncua or structlog."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FORBIDDEN = {"asyncio", "socket", "time", "threading", "sqlite3", "pymodbus", "asyncua", "structlog",
             "selectors", "subprocess"}
PKG = Path(__file__).resolve().parents[2] / "plc_emulator" / "image"


@pytest.mark.parametrize("path", sorted(PKG.glob("*.py")), ids=lambda p: p.name)
def test_no_io_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    assert not names & FORBIDDEN, f"{path.name} imports {sorted(names & FORBIDDEN)}"
