#!/usr/bin/env python3
"""Regenerate the README's generated blocks from the code they describe.

    scripts/gen_readme.py            rewrite the blocks in README.md
    scripts/gen_readme.py --check    exit 1 if README.md is out of date (tests/test_readme.py runs this)

Blocks: ``register-map`` (``plc-emulator map tag_maps/separation_train.yaml --format md``) and
``alarm-diagram`` (the Mermaid diagram generated from the alarm transition table).
The ``performance`` block is written by hand from the benchmark scripts' output.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

README = ROOT / "README.md"
TAGMAP = "tag_maps/separation_train.yaml"


def register_map() -> str:
    from plc_emulator.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["map", str(ROOT / TAGMAP), "--format", "md"])
    if rc != 0:
        raise SystemExit(f"plc-emulator map failed with status {rc}")
    text = buf.getvalue().strip()
    # The export's own title repeats the section heading; demote its headings one level.
    lines = [ln for ln in text.splitlines() if not ln.startswith("# ")]
    lines = ["#" + ln if ln.startswith("## ") else ln for ln in lines]
    body = "\n".join(lines).strip()
    return f"<details><summary>Every Modbus point of the default map</summary>\n\n{body}\n\n</details>"


def alarm_diagram() -> str:
    from gen_alarm_diagram import mermaid

    return mermaid()


def render(text: str) -> str:
    for name, fn in (("register-map", register_map), ("alarm-diagram", alarm_diagram)):
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.DOTALL)
        m = pattern.search(text)
        if m is None:
            raise SystemExit(f"README.md has no '{name}' block")
        text = f"{text[: m.start()]}{m.group(1)}{fn()}\n{m.group(2)}{text[m.end() :]}"
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = ap.parse_args()
    old = README.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if new != old:
            print("README.md is out of date: run scripts/gen_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
