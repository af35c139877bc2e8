"""Exporters: JSON Lines for machines, rows for a table, Mermaid for people.

All three read the same `TraceRecord`s and add nothing: what a diagram shows
is what the trace holds. NDIS itself is drawn as the participant `NDIS`
between the drivers, which is where it sits on Windows: a DDI call is an
arrow from a driver to NDIS, a handler call an arrow from NDIS to a driver.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from condis.trace.records import Phase, RecordKind, TraceRecord

__all__ = [
    "MERMAID_CODES",
    "TABLE_COLUMNS",
    "mermaid_text",
    "to_jsonl",
    "to_mermaid",
    "to_table_rows",
]

TABLE_COLUMNS = ("seq", "t (100 ns)", "irql", "driver", "", "name", "handle", "status")


def to_jsonl(records: Iterable[TraceRecord]) -> str:
    """One JSON object per line, keys in a fixed order."""
    return "".join(json.dumps(r.to_json()) + "\n" for r in records)


def to_table_rows(records: Iterable[TraceRecord]) -> list[tuple[str, ...]]:
    """Rows of strings matching `TABLE_COLUMNS`; nesting shown by indentation."""
    rows: list[tuple[str, ...]] = []
    for r in records:
        arrow = "→" if r.phase is Phase.CALL else "←"
        if r.phase is Phase.RETURN:
            status = str(r.status) if r.status is not None else (r.result or "")
        else:
            status = ""
        rows.append(
            (
                str(r.seq),
                str(r.time),
                str(r.irql),
                r.driver or "NDIS",
                arrow,
                "  " * r.depth + r.name,
                r.handle or "",
                status,
            )
        )
    return rows


_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _participant(name: str | None) -> str:
    return _UNSAFE.sub("_", name) if name else "NDIS"


#: What Mermaid reads specially in a sequence diagram's text, as its entity codes: `#`
#: starts an entity code (so `NdisAfHandle#1` would lose `#1`), `;` ends a statement,
#: `<` and `>` open HTML. Mermaid renders each code as the character.
MERMAID_CODES = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"}
_MERMAID_TEXT = str.maketrans(MERMAID_CODES)


def mermaid_text(text: str) -> str:
    """`text` as Mermaid shows it verbatim in a message, a note or a title."""
    return text.translate(_MERMAID_TEXT)


def to_mermaid(records: Iterable[TraceRecord], *, title: str | None = None) -> str:
    """A Mermaid `sequenceDiagram` of the records."""
    records = list(records)
    lines = ["sequenceDiagram"]
    if title:
        lines.append(f"    title {mermaid_text(title)}")
    seen: list[str] = ["NDIS"]
    for r in records:
        p = _participant(r.driver)
        if p not in seen:
            seen.append(p)
    lines.extend(f"    participant {p}" for p in seen)
    for r in records:
        drv = _participant(r.driver)
        handle = f" {r.handle}" if r.handle else ""
        outward = r.kind is RecordKind.DDI
        if r.phase is Phase.CALL:
            src, dst, arrow, text = (drv, "NDIS", "->>", f"{r.name}{handle}")
            if not outward:
                src, dst = "NDIS", drv
        else:
            result = str(r.status) if r.status is not None else (r.result or "VOID")
            src, dst, arrow, text = ("NDIS", drv, "-->>", f"{r.name}: {result}")
            if not outward:
                src, dst = drv, "NDIS"
        text = mermaid_text(text)
        if src == dst:
            # NDIS-internal: drawn as a note so the diagram stays valid
            lines.append(f"    Note over NDIS: {text}")
        else:
            lines.append(f"    {src}{arrow}{dst}: {text}")
    return "\n".join(lines) + "\n"
