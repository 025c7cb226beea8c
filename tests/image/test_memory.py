"""WriteOverlay / RegisterImage.patch: a few points re-encoded equal a full encode of the new values."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plc_emulator.commands import Command, CommandKind
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.memory import WriteOverlay
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.image.maps import full_map
from tests.modbus.fakeplc import sample_values


def _snap(image: RegisterImage, values: np.ndarray, status: np.ndarray) -> Snapshot:
    h, i, c, d = image.encode(values, status)
    return Snapshot(tick=1, sim_time=0.0, values=values, status=status, holding=h, input=i, coils=c,
                    discrete=d, digest="x")


def test_patch_equals_full_encode_for_every_point_of_three_maps(tmp_path: Path) -> None:
    from tests.modbus.test_types import _extended  # 64-bit points in every order, status words

    for tagmap in (full_map(), load(str(DEFAULT_TAGMAP)), load(str(_extended(tmp_path)))):
        image = RegisterImage(tagmap)
        values, status = sample_values(tagmap, seed=5)
        other, _ = sample_values(tagmap, seed=6)
        snap = _snap(image, values, status)
        overlay = WriteOverlay(tagmap, image)
        rng = np.random.default_rng(1)
        for _ in range(20):
            cols = rng.choice(len(values), size=3, replace=False)
            new = overlay.set_values(snap, {int(i): float(other[i]) for i in cols})
            want = values.copy()
            want[cols] = other[cols]
            h, i, c, d = image.encode(want, status)
            assert np.array_equal(new.values, want)
            assert np.array_equal(new.holding, h)
            assert np.array_equal(new.input, i)
            assert np.array_equal(new.coils, c)
            assert np.array_equal(new.discrete, d)
            assert new.digest == snap.digest
            assert new.tick == snap.tick


def test_only_tag_writes_overlay_and_the_input_snapshot_is_untouched() -> None:
    tagmap = full_map()
    image = RegisterImage(tagmap)
    values, status = sample_values(tagmap)
    snap = _snap(image, values, status)
    held = snap.holding.copy()
    overlay = WriteOverlay(tagmap, image)
    rw = next(t for t in tagmap.tags if t.access.value == "rw" and t.modbus is not None)
    assert overlay.apply(snap, [Command(kind=CommandKind.ALARM_ACK, target=rw.signal)]) is snap
    assert overlay.apply(snap, [Command(kind=CommandKind.WRITE, target="no.such.signal", value=1)]) is snap
    lo, hi = rw.range
    value = lo + (hi - lo) / 4 if snap.values[tagmap.tags.index(rw)] != lo + (hi - lo) / 4 else hi
    new = overlay.apply(snap, [Command(kind=CommandKind.WRITE, target=rw.signal, value=value)])
    assert new is not snap
    assert new.values[tagmap.tags.index(rw)] == value
    assert np.array_equal(snap.holding, held)  # the old snapshot is immutable in practice too
