"""``plc-emulator map TAGMAP --format csv|md|json``: the register map to configure a SCADA driver from.

One row per Modbus item (value points, mirrors, quality registers), sorted by table and address:
1-based reference and 0-based PDU address, table, tag, role, data type, registers, word order,
scaling, unit, access, EU range, write limits, states and description. Output is deterministic
(same tag map, same bytes), so the README's register map section is generated from it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from plc_emulator.image.codec import PointRef, PointRole, RegisterImage
from plc_emulator.tagmap import load, ref_text
from plc_emulator.tagmap.model import Access, Table, TagMap, ValueFormat

__all__ = ["COLUMNS", "register", "render", "rows"]

_TABLE_ORDER: Final = (Table.HOLDING_REGISTER, Table.INPUT_REGISTER, Table.COIL, Table.DISCRETE_INPUT)
_TABLE_TITLE: Final = {
    Table.HOLDING_REGISTER: "Holding registers (4xxxx, FC 3/6/16/22/23)",
    Table.INPUT_REGISTER: "Input registers (3xxxx, FC 4)",
    Table.COIL: "Coils (0xxxx, FC 1/5/15)",
    Table.DISCRETE_INPUT: "Discrete inputs (1xxxx, FC 2)",
}
COLUMNS: Final = ("reference", "address", "table", "tag", "role", "type", "registers", "word_order",
                  "scaling", "unit", "access", "range", "write_limits", "states", "description")


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    reference: str
    address: int
    table: str
    tag: str
    role: str
    type: str
    registers: int
    word_order: str
    scaling: str
    unit: str
    access: str
    range: str
    write_limits: str
    states: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


def _num(x: float) -> str:
    return f"{x:g}"


def _row(ref: PointRef) -> Row:
    tag, p = ref.tag, ref.point
    lo, hi = tag.range
    quality = ref.role is PointRole.QUALITY
    if quality:
        typ, order, scaling, unit = "uint16", "", "", ""
        desc = f"Quality of {tag.key}: low byte OPC DA quality (0xC0 good) + limit bits, high byte fault code"
        rng, limits, states = "", "", ""
    else:
        typ = p.format.value if p.bit is None else f"{p.format.value} (bit {p.bit})"
        order = p.order_name
        scaling = ""
        if p.format in (ValueFormat.INT16, ValueFormat.UINT16) and p.raw_range is not None:
            scaling = f"{p.raw_range[0]}..{p.raw_range[1]} -> {_num(lo)}..{_num(hi)}"
        unit = tag.unit
        desc = tag.description + (" (mirror)" if ref.role is PointRole.MIRROR else "")
        rng = f"{_num(lo)}..{_num(hi)}"
        limits = (f"{_num(tag.write_limits[0])}..{_num(tag.write_limits[1])}"
                  if tag.write_limits is not None and ref.writable else "")
        states = "; ".join(f"{i}={s}" for i, s in enumerate(tag.states))
    access = Access.RW.value if ref.writable else Access.RO.value
    return Row(reference=ref_text(ref.table, ref.address), address=ref.address, table=ref.table.value,
               tag=tag.key, role=ref.role.value, type=typ, registers=ref.count, word_order=order,
               scaling=scaling, unit=unit, access=access, range=rng, write_limits=limits, states=states,
               description=desc)


def rows(tagmap: TagMap) -> list[Row]:
    """Every Modbus item of ``tagmap`` in (table, address) order."""
    image = RegisterImage(tagmap)
    order = {t: i for i, t in enumerate(_TABLE_ORDER)}
    refs = sorted(image.points, key=lambda r: (order[r.table], r.address))
    return [_row(r) for r in refs]


def _csv(tagmap: TagMap) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows(tagmap):
        w.writerow(r.as_dict())
    return buf.getvalue()


def _md_cell(v: object) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def _md(tagmap: TagMap) -> str:
    mb = tagmap.modbus
    out = [f"# Modbus register map: {tagmap.name}", "",
           f"Unit id {mb.unit_id} (0 and 255 also answered); "
           f"default 32-bit word order {mb.word_order.value}; "
           f"references are 1-based, addresses 0-based (40001 = holding address 0). "
           f"Tag map sha256 `{tagmap.sha256[:12]}`.", ""]
    cols = [c for c in COLUMNS if c != "table"]
    all_rows = rows(tagmap)
    for table in _TABLE_ORDER:
        sel = [r for r in all_rows if r.table == table.value]
        if not sel:
            continue
        out += [f"## {_TABLE_TITLE[table]}", "", "| " + " | ".join(cols) + " |",
                "|" + "|".join("---" for _ in cols) + "|"]
        out += ["| " + " | ".join(_md_cell(getattr(r, c)) for c in cols) + " |" for r in sel]
        out.append("")
    return "\n".join(out)


def _json(tagmap: TagMap) -> str:
    mb = tagmap.modbus
    doc = {
        "tagmap": tagmap.name,
        "sha256": tagmap.sha256,
        "unit_id": mb.unit_id,
        "also_answers_unit_ids": [0, 255],
        "unknown_unit": mb.unknown_unit,
        "default_word_order": mb.word_order.value,
        "points": [r.as_dict() for r in rows(tagmap)],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(tagmap: TagMap, fmt: str) -> str:
    return {"csv": _csv, "md": _md, "json": _json}[fmt](tagmap)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "map", help="export the Modbus register map (csv, md or json)",
        description="Print every Modbus point of a tag map (reference, address, table, type, word order, "
                    "scaling, unit, access, limits, description; quality registers and mirrors included).")
    p.add_argument("tagmap", metavar="TAGMAP", help="tag map YAML file")
    p.add_argument("--format", "-f", choices=("csv", "md", "json"), default="md", help="output format (md)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    tagmap = load(args.tagmap)  # TagMapError -> exit 2 with every problem (plc_emulator.cli.main)
    text = render(tagmap, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
