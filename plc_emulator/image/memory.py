"""PLC memory semantics: an accepted write is in the served image at once, before the engine runs.

A PLC's register memory shows a written value to the next read, whatever the program later does
with it. :class:`WriteOverlay` gives the register image the same behaviour: the runtime lays every
accepted ``write`` command over the current snapshot (values and the four Modbus tables, one new
:class:`Snapshot`, swapped in with one reference write) when it is queued, and again over each new
scan's snapshot while it is still queued. The engine applies the command at the next tick as
before, so the digest and the journal do not change; when the program then overwrites the value
(e.g. a setpoint tracking the PV in manual), the next scan shows the program's value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from plc_emulator.commands import Command, CommandKind
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.tagmap.model import TagMap

__all__ = ["WriteOverlay"]

# pulse points: a write triggers an action, the point itself always reads 0
_PULSES = frozenset({"runtime.step"})


class WriteOverlay:
    """Signal name -> tag columns of one tag map; :meth:`apply` lays writes over a snapshot."""

    def __init__(self, tagmap: TagMap, image: RegisterImage) -> None:
        self.image = image
        cols: dict[str, list[int]] = {}
        for i, tag in enumerate(tagmap.tags):
            if tag.signal not in _PULSES:
                cols.setdefault(tag.signal, []).append(i)
        self._cols = {k: tuple(v) for k, v in cols.items()}

    def updates(self, cmds: Iterable[Command]) -> tuple[dict[int, float], dict[int, str]]:
        """Tag column -> value, and string column -> text, of every write in ``cmds`` (later writes win)."""
        out: dict[int, float] = {}
        texts: dict[int, str] = {}
        for c in cmds:
            if c.kind is CommandKind.WRITE:
                text = c.params.get("text")
                for i in self._cols.get(c.target, ()):
                    out[i] = float(c.value)
                    if isinstance(text, str):
                        texts[i] = text
        return out, texts

    def apply(self, snap: Snapshot, cmds: Iterable[Command]) -> Snapshot:
        """``snap`` with the written values in place (``snap`` itself when nothing is a tag write)."""
        values, texts = self.updates(cmds)
        return self.set_values(snap, values, texts)

    def set_values(self, snap: Snapshot, updates: dict[int, float],
                   texts: dict[int, str] | None = None) -> Snapshot:
        """``snap`` with tag column -> value ``updates`` and string column -> ``texts`` in place
        (``snap`` itself if none differs)."""
        upd = {i: v for i, v in updates.items() if snap.values[i] != v}
        txt = {i: t for i, t in (texts or {}).items() if snap.texts.get(i, "") != t}
        if not upd and not txt:
            return snap
        values = snap.values.copy()
        for i, v in upd.items():
            values[i] = v
        h, inp, c, d = self.image.patch((snap.holding, snap.input, snap.coils, snap.discrete), upd, txt)
        all_texts = {**snap.texts, **txt} if txt else snap.texts
        return dataclasses.replace(snap, values=values, holding=h, input=inp, coils=c, discrete=d,
                                   texts=all_texts)
