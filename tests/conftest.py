"""Shared fixtures: free loopback ports, the default tag map, repository paths."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TAGMAP = ROOT / "tag_maps" / "separation_train.yaml"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def default_tagmap_path() -> Path:
    return DEFAULT_TAGMAP


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """structlog's defaults and no handler left on the root logger by configure_logging().

    Every test, not only the runtime ones: an in-process `plc-emulator run` (e.g. a bad-flag test)
    configures structlog with pytest's captured stream, which is closed once that test ends.
    """
    root = logging.getLogger()
    level = root.level
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
    for h in [h for h in root.handlers if h.get_name() == "plc_emulator"]:
        root.removeHandler(h)
    root.setLevel(level)
