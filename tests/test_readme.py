"""The README keeps its promises: generated blocks are current, the two set-up commands exist, and
every subcommand the CLI offers is documented."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

from plc_emulator.cli import build_parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


class TestReadme:
    def test_generated_blocks_are_current(self) -> None:
        """Register map and alarm diagram in the README equal what the code generates now."""
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_readme.py"), "--check"],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr

    def test_quick_start_has_exactly_two_commands_and_they_exist(self) -> None:
        """The quick start's code block holds one run command and one test command, both executable."""
        block = re.search(r"## Quick start.*?```console\n(.*?)```", README, re.DOTALL)
        assert block is not None
        commands = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]
        assert commands == ["scripts/run", "scripts/test"]
        for cmd in commands:
            assert os.access(ROOT / cmd, os.X_OK), cmd

    def test_every_subcommand_is_documented(self) -> None:
        """Each subcommand the parser knows appears as `plc-emulator <name>` or in the usage block."""
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        usage = README.split("## The command line", 1)[1].split("## ", 1)[0]
        missing = [name for name in sub.choices if not re.search(rf"\b{re.escape(name)}\b", usage)]
        assert missing == []

    def test_performance_section_has_figures(self) -> None:
        """The performance block is filled from benchmark output (a table with numbers)."""
        block = README.split("<!-- BEGIN performance -->", 1)[1].split("<!-- END performance -->", 1)[0]
        assert re.search(r"\|\s*[\d,.]+", block), "performance block has no figures"
