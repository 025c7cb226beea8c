"""Shared fixtures: free loopback ports, the default tag map, repository paths."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

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
