"""Compiled (numba) kernels of the block kinds, and the one-call tick that runs a whole plan.

A compiled kind has one function ``kernel(phase, P, S, scal, vec, idx, sig, truth, extra, ctx, base,
ev, nev)`` over its plan group (see ``_common``); the physics is the same as the block module's numpy
kernel, which stays the readable reference and the fallback (a test runs a plant through both and
compares them). ``KINDS`` lists the compiled kinds; a plant with any other kind runs the numpy path.

The JIT cache lives in a directory named after a hash of the engine's sources, so a changed kernel
or block spec never loads a stale compiled function (numba itself only checks the caller's file).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numba

_ENGINE = Path(__file__).resolve().parent.parent


def _cache_dir() -> str:
    digest = hashlib.sha256()
    for f in sorted(_ENGINE.rglob("*.py")):
        digest.update(f.relative_to(_ENGINE).as_posix().encode())
        digest.update(f.read_bytes())
    tag = f"jit-{numba.__version__}-{digest.hexdigest()[:16]}"
    override = os.environ.get("PLC_EMULATOR_JIT_CACHE")
    root = Path(override) if override else Path(__file__).resolve().parent / "__pycache__"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:  # read-only install: the user's temporary directory
        root = Path(tempfile.gettempdir()) / "plc-emulator-jit"
    for old in root.glob("jit-*"):  # kernels compiled from earlier sources are never loaded again
        if old.name != tag:
            shutil.rmtree(old, ignore_errors=True)
    return str(root / tag)


numba.config.CACHE_DIR = _cache_dir()  # type: ignore[attr-defined]

from plc_emulator.engine.fast._common import STALE  # noqa: E402
from plc_emulator.engine.fast._tick import KINDS, advance  # noqa: E402

__all__ = ["KINDS", "STALE", "advance", "compiled_kinds"]


def compiled_kinds() -> frozenset[str]:
    """The kinds with an up-to-date compiled kernel."""
    return frozenset(KINDS) - STALE
