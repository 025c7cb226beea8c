"""Invariant: any text gives a TagMap or a TagMapError whose lines are FILE:LINE:COL: ... - nothing else."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plc_emulator.errors import TagMapError
from plc_emulator.tagmap import TagMap, loads
from tests.tagmap.mini import MINI

_LINE = re.compile(r"^f\.yaml:\d+:\d+: ")

# pieces that look like a tag map, so random text reaches deep into the loader, not only the scanner
_TOKENS = [
    "name: a\n",
    "plant: P\n",
    "devices:\n",
    "  D:\n",
    "    tags:\n",
    "      t:\n",
    "        signal: V100.pressure\n",
    "        unit: PSI\n",
    "        range: [0, 1]\n",
    "        modbus: {ref: 40001, format: float32}\n",
    "        access: rw\n",
    "        kind: discrete\n",
    "process: {well: {oil_rate_bpd: 1}}\n",
    "pm: {}\n",
    "&a ",
    "*a ",
    "<<: ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    ", ",
    "\n",
    "  ",
    "!!int ",
    "!!python/object ",
    "~",
    "1e999",
    ".nan",
    "-1",
    "40001",
    "'",
    '"',
    "#",
    "\t",
    "\x00",
    "\ufeff",
    "é",
]


def _check(text: str) -> None:
    try:
        result = loads(text, "f.yaml")
    except TagMapError as exc:
        problems = exc.problems
        assert problems
        assert all(_LINE.match(line) for line in problems), problems
    else:
        assert isinstance(result, TagMap)


class TestNeverCrashes:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join))
    def test_yamlish_text(self, text: str) -> None:
        _check(text)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_any_text(self, text: str) -> None:
        _check(text)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(0, len(MINI) - 1), st.integers(0, 40), st.sampled_from(_TOKENS))
    def test_mutated_valid_map(self, at: int, cut: int, token: str) -> None:
        """Cut a piece out of a valid map and splice in a token: still TagMap or TagMapError."""
        _check(MINI[:at] + token + MINI[at + cut :])

    def test_deep_nesting(self) -> None:
        _check("pm: " + "[" * 5000 + "]" * 5000 + "\n")
        _check("pm: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n")

    def test_alias_bomb(self) -> None:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [
            f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
            f"*a{i - 1}, *a{i - 1}, *a{i - 1}]"
            for i in range(1, 9)
        ]
        text = "pm:\n" + "\n".join("  " + ln for ln in lines) + "\n"
        _check(MINI.replace("pm: {}\n", text))
