#!/usr/bin/env python3
"""Generate src/condis/catalogue_data.py from the spec's INDEX.md.

Usage::

    python3 tools/make_catalogue.py [SPEC_DIR] [--output PATH]

SPEC_DIR defaults to ``../shared/spec`` relative to the repository root, PATH to
``src/condis/catalogue_data.py`` in the repository. The script reads the two DDI tables of
``SPEC_DIR/INDEX.md`` ("CoNDIS DDIs" and the supporting pages) and writes one tuple literal,
``ROWS``, with one plain tuple per table row, in table order. Standard library only.

Two rows of INDEX.md are reshaped on the way:

* A callback's name cell reads ``TYPE_NAME (DriverFunctionName)``, e.g.
  ``PROTOCOL_CL_CLOSE_AF_COMPLETE (ProtocolClCloseAfComplete)``: the row's name becomes the
  driver-side function name and its type_name the function type. Other kinds have no
  type_name (None).
* ``SET_OPTIONS (XxxSetOptions)`` is one page for two handlers; it becomes two rows,
  ``MiniportSetOptions`` (role ``NDIS -> miniport``) and ``ProtocolSetOptions`` (role
  ``NDIS -> protocol``), both with type_name ``SET_OPTIONS``. (The page also names
  FilterSetOptions; filter drivers are outside CoNDIS.)

The output is deterministic (no dates, no absolute paths) and already in the layout
``ruff format`` produces, so the script never needs ruff. tests/test_catalogue.py reruns it
and compares the result with the committed file byte for byte.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC_DIR = REPO_ROOT.parent / "shared" / "spec"
DEFAULT_OUTPUT = REPO_ROOT / "src" / "condis" / "catalogue_data.py"

# The section headings of INDEX.md whose tables are read, and whether each is CoNDIS proper.
SECTIONS: tuple[tuple[str, bool], ...] = (
    ("## CoNDIS DDIs", True),
    ("## Supporting pages", False),
)
EXPECTED_HEADER = (
    "area",
    "name",
    "kind",
    "role (caller, or NDIS -> implementer)",
    "req.irql",
    "req.ddi-compliance",
    "min NDIS",
    "file",
)
KINDS = frozenset({"function", "macro", "callback", "structure"})
CALLBACK_NAME = re.compile(r"^([A-Z][A-Z0-9_]*) \(([A-Za-z][A-Za-z0-9]*)\)$")
PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FILE_LINK = re.compile(r"^\[([^\]]+)\]\(([^)]+)\)$")
# SET_OPTIONS documents one handler per driver type; CoNDIS has miniports and protocols.
SET_OPTIONS_SPLIT: tuple[tuple[str, str], ...] = (
    ("MiniportSetOptions", "NDIS -> miniport"),
    ("ProtocolSetOptions", "NDIS -> protocol"),
)
LINE_LENGTH = 100
INDENT = "    "


class Row(NamedTuple):
    """One output row; the field order is the order of the tuples in ROWS."""

    name: str
    type_name: str | None
    kind: str
    area: str
    role: str
    irql_text: str
    rules: tuple[str, ...]
    min_ndis: str
    page: str
    condis: bool


class SpecFormatError(Exception):
    """INDEX.md does not have the shape this script expects."""


def split_cells(line: str) -> list[str]:
    """Split one markdown table line into stripped cells."""
    stripped = line.strip()
    if not (stripped.startswith("|") and stripped.endswith("|")):
        raise SpecFormatError(f"not a table line: {line!r}")
    return [cell.strip() for cell in stripped[1:-1].split("|")]


def section_tables(text: str) -> Iterator[tuple[bool, list[list[str]]]]:
    """Yield (condis, body rows) for each section of SECTIONS, in SECTIONS order."""
    lines = text.splitlines()
    for heading, condis in SECTIONS:
        starts = [i for i, line in enumerate(lines) if line.startswith(heading)]
        if len(starts) != 1:
            raise SpecFormatError(f"expected one heading starting {heading!r}, found {len(starts)}")
        i = starts[0] + 1
        while i < len(lines) and not lines[i].startswith("|"):
            if lines[i].startswith("#"):
                raise SpecFormatError(f"no table under {heading!r}")
            i += 1
        if i + 1 >= len(lines):
            raise SpecFormatError(f"no table under {heading!r}")
        header = tuple(split_cells(lines[i]))
        if header != EXPECTED_HEADER:
            raise SpecFormatError(f"unexpected columns under {heading!r}: {header!r}")
        if not set(lines[i + 1].replace("|", "").strip()) <= {"-", ":", " "}:
            raise SpecFormatError(f"missing separator line under {heading!r}")
        body: list[list[str]] = []
        i += 2
        while i < len(lines) and lines[i].startswith("|"):
            cells = split_cells(lines[i])
            if len(cells) != len(EXPECTED_HEADER):
                raise SpecFormatError(f"expected {len(EXPECTED_HEADER)} cells: {lines[i]!r}")
            body.append(cells)
            i += 1
        if not body:
            raise SpecFormatError(f"empty table under {heading!r}")
        yield condis, body


def parse_rows(text: str) -> list[Row]:
    """Turn the two tables of INDEX.md into output rows, in table order."""
    rows: list[Row] = []
    for condis, body in section_tables(text):
        for area, name_cell, kind, role, irql, rules_cell, min_ndis, file_cell in body:
            if kind not in KINDS:
                raise SpecFormatError(f"unknown kind {kind!r} for {name_cell!r}")
            link = FILE_LINK.match(file_cell)
            if link is None:
                raise SpecFormatError(f"file cell is not a link: {file_cell!r}")
            page = link.group(2)
            if link.group(1) != page.rsplit("/", 1)[-1]:
                raise SpecFormatError(f"link text and target differ: {file_cell!r}")
            rules = tuple(rule.strip() for rule in rules_cell.split(",")) if rules_cell else ()
            if any(not rule for rule in rules):
                raise SpecFormatError(f"empty rule name in {rules_cell!r}")
            if not (area and role and min_ndis):
                raise SpecFormatError(f"empty area, role or min NDIS for {name_cell!r}")
            base = Row("", None, kind, area, role, irql, rules, min_ndis, page, condis)
            if kind == "callback":
                match = CALLBACK_NAME.match(name_cell)
                if match is None:
                    raise SpecFormatError(f"callback name is not 'TYPE (Function)': {name_cell!r}")
                type_name, function_name = match.groups()
                if function_name == "XxxSetOptions":
                    split = SET_OPTIONS_SPLIT
                else:
                    split = ((function_name, role),)
                rows.extend(
                    base._replace(name=name, type_name=type_name, role=row_role)
                    for name, row_role in split
                )
            else:
                if PLAIN_NAME.match(name_cell) is None:
                    raise SpecFormatError(f"unexpected {kind} name: {name_cell!r}")
                rows.append(base._replace(name=name_cell))
    seen: set[str] = set()
    for row in rows:
        if row.name in seen:
            raise SpecFormatError(f"duplicate name {row.name!r}")
        seen.add(row.name)
    return rows


def literal(value: str | bool | None) -> str:
    """A Python literal for value, with the double quotes ruff format prefers."""
    if isinstance(value, str):
        if value.isprintable() and '"' not in value and "\\" not in value:
            return f'"{value}"'
        return repr(value)
    return repr(value)


def rules_literal(rules: tuple[str, ...], indent: str) -> list[str]:
    """Lines for the rules tuple inside a row, laid out as ruff format lays it out.

    A one-element tuple keeps its comma on one line (not a magic trailing comma); a longer
    tuple stays on one line when it fits, else it is split one rule per line.
    """
    if not rules:
        return [f"{indent}(),"]
    if len(rules) == 1:
        return [f"{indent}({literal(rules[0])},),"]
    flat = f"{indent}({', '.join(literal(rule) for rule in rules)}),"
    if len(flat) <= LINE_LENGTH:
        return [flat]
    inner = indent + INDENT
    return [f"{indent}(", *(f"{inner}{literal(rule)}," for rule in rules), f"{indent}),"]


def render(rows: Sequence[Row]) -> str:
    """The whole text of catalogue_data.py."""
    out = [
        "# Generated by tools/make_catalogue.py from spec/INDEX.md. Do not edit: rerun",
        "# `python3 tools/make_catalogue.py` after the spec changes.",
        '"""The rows of spec/INDEX.md as plain tuples; condis.catalogue gives them types.',
        "",
        "Each row is (name, type_name, kind, area, role, irql_text, rules, min_ndis, page,",
        "condis). type_name is the callback function type (None for other kinds); irql_text is",
        "req.irql as INDEX.md shows it ('' for structures); rules is req.ddi-compliance split",
        "on commas; page is relative to spec/; condis is False for the supporting pages.",
        '"""',
        "",
        "from typing import Final, TypeAlias",
        "",
        "Row: TypeAlias = tuple["
        "str, str | None, str, str, str, str, tuple[str, ...], str, str, bool]",
        "",
        "ROWS: Final[tuple[Row, ...]] = (",
    ]
    field_indent = INDENT * 2
    for row in rows:
        out.append(f"{INDENT}(")
        scalars_before = (row.name, row.type_name, row.kind, row.area, row.role, row.irql_text)
        out.extend(f"{field_indent}{literal(value)}," for value in scalars_before)
        out.extend(rules_literal(row.rules, field_indent))
        scalars_after = (row.min_ndis, row.page, row.condis)
        out.extend(f"{field_indent}{literal(value)}," for value in scalars_after)
        out.append(f"{INDENT}),")
    out.append(")")
    too_long = [line for line in out if len(line) > LINE_LENGTH]
    if too_long:
        raise SpecFormatError(f"generated line longer than {LINE_LENGTH}: {too_long[0]!r}")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "spec_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_SPEC_DIR,
        help="the spec folder holding INDEX.md (default: ../shared/spec from the repo root)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the module (default: src/condis/catalogue_data.py)",
    )
    args = parser.parse_args(argv)
    index = args.spec_dir / "INDEX.md"
    try:
        text = index.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"make_catalogue: cannot read {index}: {exc}", file=sys.stderr)
        return 1
    try:
        rows = parse_rows(text)
        content = render(rows)
    except SpecFormatError as exc:
        print(f"make_catalogue: {index}: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(content, encoding="utf-8", newline="\n")
    counts = {condis: sum(row.condis is condis for row in rows) for condis in (True, False)}
    print(
        f"make_catalogue: wrote {len(rows)} rows ({counts[True]} CoNDIS, "
        f"{counts[False]} supporting) to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
