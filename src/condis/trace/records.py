"""Trace records: every crossing between NDIS and a driver, in order.

Each DDI call and return, and each handler call and return, becomes one
immutable `TraceRecord`. Records are appended to a `Trace` as they happen and
never change afterwards, so a test can assert on the exact sequence and a
run with the same seed yields the same records, byte for byte.

A record says who (`driver`: the driver that called the DDI, or whose handler
NDIS ran), what (`name`: the WDK name, spelled as the driver spelled it, so
an MCM's `NdisMCmOpenAddressFamilyComplete` is not recorded as the function
it expands to), at which IRQL, with which handle, and on a return the
`status` (an NDIS_STATUS, or None for a VOID DDI or handler). `op` links a
pended operation to the DDI that later completes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, overload

from condis.constants import KIRQL
from condis.status import NDIS_STATUS

__all__ = ["Phase", "RecordKind", "Trace", "TraceRecord"]


class Phase(Enum):
    CALL = "call"
    RETURN = "return"


class RecordKind(Enum):
    """What crossed: a DDI the driver called, or a handler NDIS called."""

    DDI = "ddi"
    HANDLER = "handler"


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceRecord:
    seq: int
    phase: Phase
    kind: RecordKind
    name: str
    driver: str | None
    irql: KIRQL
    time: int
    depth: int
    handle: str | None = None
    status: NDIS_STATUS | None = None
    result: str | None = None
    op: int | None = None
    args: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (the `condis demo --json` schema)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "phase": self.phase.value,
            "kind": self.kind.value,
            "name": self.name,
            "driver": self.driver,
            "irql": str(self.irql),
            "time": self.time,
            "depth": self.depth,
            "handle": self.handle,
        }
        if self.phase is Phase.RETURN:
            out["status"] = None if self.status is None else str(self.status)
            if self.result is not None:
                out["result"] = self.result
        if self.op is not None:
            out["op"] = self.op
        if self.args:
            out["args"] = dict(self.args)
        return out

    def brief(self) -> str:
        """One line for messages and excerpts."""
        arrow = "->" if self.phase is Phase.CALL else "<-"
        who = self.driver or "NDIS"
        tail = ""
        if self.phase is Phase.RETURN and self.status is not None:
            tail = f" = {self.status}"
        elif self.phase is Phase.RETURN and self.result is not None:
            tail = f" = {self.result}"
        handle = f" {self.handle}" if self.handle else ""
        return f"#{self.seq} {arrow} {self.name}{handle} [{who} @ {self.irql}]{tail}"


@dataclass(slots=True)
class Trace(Sequence[TraceRecord]):
    """The append-only record of one host's run."""

    _records: list[TraceRecord] = field(default_factory=list)

    def append(self, record: TraceRecord) -> None:
        if record.seq != len(self._records):
            raise ValueError(f"trace record seq {record.seq} out of order")
        self._records.append(record)

    @property
    def next_seq(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TraceRecord]: ...
    def __getitem__(self, index: int | slice) -> TraceRecord | Sequence[TraceRecord]:
        if isinstance(index, slice):
            return tuple(self._records[index])
        return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self._records)

    def tail(self, n: int) -> tuple[TraceRecord, ...]:
        """The last `n` records."""
        return tuple(self._records[-n:]) if n > 0 else ()

    def names(self, phase: Phase | None = None) -> list[str]:
        """Record names in order, optionally only one phase (handy in tests)."""
        return [r.name for r in self._records if phase is None or r.phase is phase]
