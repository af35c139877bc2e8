"""Trace records and their exporters (text table, JSON Lines, Mermaid)."""

from condis.trace.export import to_jsonl, to_mermaid, to_table_rows
from condis.trace.records import Phase, RecordKind, Row, Trace, TraceRecord

__all__ = [
    "Phase",
    "RecordKind",
    "Row",
    "Trace",
    "TraceRecord",
    "to_jsonl",
    "to_mermaid",
    "to_table_rows",
]
