"""The block library as Markdown (``plc-emulator blocks``; the reference part of docs/blocks.md)."""

from __future__ import annotations

from collections.abc import Iterable

from plc_emulator.engine.blocks._spec import UNITS, BlockSpec, Param, Port

__all__ = ["library_markdown"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def _params(title: str, params: Iterable[Param]) -> list[str]:
    rows = [f"| `{p.name}` | {_cell(p.unit)} | {_cell(p.default_text())} | {_cell(p.range_text())} | "
            f"{_cell(p.description)} |" for p in params]
    if not rows:
        return []
    return [f"{title}:", "", "| name | unit | default | physical range | meaning |", "|---|---|---|---|---|",
            *rows, ""]


def _ports(ports: Iterable[Port]) -> list[str]:
    rows = []
    for p in ports:
        note = "optional" if p.optional else ("required" if p.direction.value == "in" else "")
        if p.depends:
            note = "direct feedthrough from " + ", ".join(f"`{d}`" for d in p.depends)
        rows.append(f"| `{p.name}` | {p.direction.value} | {p.quantity.value} [{_cell(p.unit)}] | {_cell(note)} | "
                    f"{_cell(p.description)} |")
    if not rows:
        return []
    return ["Ports:", "", "| port | dir | quantity [unit] | | meaning |", "|---|---|---|---|---|", *rows, ""]


def block_markdown(spec: BlockSpec) -> list[str]:
    lines = [f"### `{spec.kind}` ({spec.category.value})", "", spec.summary, ""]
    lines += _params("Parameters (each one value, or a list of one value per batch row)", spec.params)
    init = list(spec.initial)
    if init or spec.steady:
        lines += _params("Initial conditions" + (" (or `initial: steady`)" if spec.steady else ""), init)
        if spec.steady and not init:
            lines += ["Initial conditions: `initial: steady` (computed from the parameters).", ""]
    lines += _ports(spec.ports)
    if spec.signals:
        lines += ["Signals (`UNIT.name`):", "", "| signal | kind | unit | range | write limits | meaning |",
                  "|---|---|---|---|---|---|"]
        for s in spec.signals:
            lim = f"{s.limits[0]:g} .. {s.limits[1]:g}" if s.limits else ""
            states = f" ({', '.join(f'{i} {n}' for i, n in enumerate(s.states))})" if s.states else ""
            lines.append(f"| `{s.name}` | {s.kind.value} | {_cell(s.unit)} | {s.range[0]:g} .. {s.range[1]:g} | "
                         f"{_cell(lim)} | {_cell(s.description + states)} |")
        lines.append("")
    states = ", ".join(f"`{s.name}` [{s.unit}]" if s.unit else f"`{s.name}`" for s in spec.states)
    if states:
        lines += [f"State arrays (N rows each): {states}.", ""]
    return lines


def library_markdown(library: dict[str, BlockSpec]) -> str:
    lines = ["## Port quantities", "", "| quantity | unit |", "|---|---|"]
    lines += [f"| {q.value} | {_cell(u)} |" for q, u in UNITS.items()]
    lines += ["", "## Blocks", ""]
    lines += [f"- `{k}`: {s.summary}" for k, s in library.items()]
    lines.append("")
    for spec in library.values():
        lines += block_markdown(spec)
    return "\n".join(lines).rstrip() + "\n"
