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

import inspect
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TextIO, overload

from condis.constants import KIRQL, Key
from condis.handles import NDIS_HANDLE
from condis.status import NDIS_STATUS

__all__ = [
    "ROW_CALL",
    "ROW_DDI",
    "ROW_HANDLER",
    "ROW_RETURN",
    "Phase",
    "RecordKind",
    "Row",
    "Trace",
    "TraceRecord",
    "handler_names",
    "keep_args",
    "materialize",
    "summary",
]


class Phase(Key):
    CALL = "call"
    RETURN = "return"


class RecordKind(Key):
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
    #: on a return record, the seq of the call record it returns from
    call: int | None = None

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
            out["call"] = self.call
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


#: A record as the kernel keeps it until someone reads it: the TraceRecord fields in
#: order, each as plain data (phase, kind and IRQL as ints, a handle by its label), and
#: for a handler's call its parameter names in place of `args` and its kept arguments
#: (`keep_args`) last. Rows hold only ints, strings and None, so the garbage collector
#: has nothing to trace in them, however long the trace.
Row = tuple[Any, ...]


def summary(value: object) -> str:
    """How a value reads in a trace record: a handle or a lock by its label, a status
    by its name, anything else by its repr, cut to 60 characters."""
    label = getattr(value, "label", None)
    if isinstance(label, str):
        return label
    if isinstance(value, NDIS_STATUS | KIRQL):
        return str(value)
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: a row's phase and kind, as the ints it holds (see `Row`)
ROW_CALL, ROW_RETURN = 0, 1
ROW_DDI, ROW_HANDLER = 0, 1
_PHASES = (Phase.CALL, Phase.RETURN)
_KINDS = (RecordKind.DDI, RecordKind.HANDLER)


def handler_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameter names of handler `fn` (a bound method's without `self`), worked
    out once per function."""
    fn = getattr(fn, "__func__", fn)
    key = getattr(fn, "__code__", fn)
    names = _NAMES.get(key)
    if names is None:
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        if params and params[0] == "self":
            params = params[1:]
        names = _NAMES[key] = tuple(params)
    return names


_NAMES: dict[object, tuple[str, ...]] = {}
_AS_IS, _UNSEEN = object(), object()
#: how a handler argument of each type is kept: as it is (an int, a str, None: nothing
#: that can change or keep anything alive), or as the text a function makes of it
#: now; filled as types are first seen
_KEEP: dict[type, Any] = {t: _AS_IS for t in (type(None), bool, int, str)}
_KEEP[NDIS_STATUS] = str  # its name: NDIS_STATUS objects are tracked by the collector


def keep_args(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A handler's arguments as a trace row keeps them: numbers, text and None as they
    are, a handle by its label, an address family by its value, an enum by its member,
    any other object (a driver's context, a structure NDIS or the driver may change)
    by its type's name. Nothing that could change later, or keep an object alive."""
    keep, out = _KEEP, []
    for value in values:
        kind = value.__class__
        how = keep.get(kind, _UNSEEN)
        if how is _UNSEEN:
            how = keep[kind] = _how_to_keep(kind)
        out.append(value if how is _AS_IS else how(value))
    return tuple(out)


def _how_to_keep(kind: type) -> Any:
    if issubclass(kind, NDIS_HANDLE):
        return _label
    if issubclass(kind, Enum):
        return _member
    if issubclass(kind, bool | int | str):
        return _AS_IS
    if kind.__name__ == "CO_ADDRESS_FAMILY":
        return _family
    name = kind.__name__
    return lambda value: name


def _label(value: Any) -> str:
    return str(value.label)


def _member(value: Any) -> str:
    if isinstance(value, KIRQL):
        return str(value)
    return f"{type(value).__name__}.{value.name}"  # NdisHaltDeviceDisabled, not <...: 0>


def _family(value: Any) -> str:
    return f"AF 0x{value.AddressFamily:X} v{value.MajorVersion}.{value.MinorVersion}"


def _argument(value: object) -> str:
    return "NULL" if value is None else summary(value)


def materialize(row: Row | TraceRecord) -> TraceRecord:
    """The `TraceRecord` a kept row stands for."""
    if type(row) is not tuple:
        return row  # type: ignore[return-value]
    (seq, phase, kind, name, driver, irql, time, depth, handle, status, result, op, args, call,
     values) = row  # fmt: skip
    if values is not None:  # a handler's call: args are its parameter names
        names = args + tuple(f"arg{i}" for i in range(len(args), len(values)))
        args = tuple((n, _argument(v)) for n, v in zip(names, values, strict=False))
    return TraceRecord(
        seq=seq,
        phase=_PHASES[phase],
        kind=_KINDS[kind],
        name=name,
        driver=driver,
        irql=KIRQL(irql),
        time=time,
        depth=depth,
        handle=handle,
        status=None if status is None else NDIS_STATUS(status),
        result=None if result is None else summary(result),
        op=op,
        args=args,
        call=call,
    )


class Trace(Sequence[TraceRecord]):
    """The record of one host's run: all of it, the last `limit` records, or none.

    The kernel appends each crossing as a plain tuple (`Row`), the fields of a
    `TraceRecord` with the handle object in place of its label; a record is
    built the first time someone reads it and kept in the row's place, so
    recording costs a tuple and reading costs what it did. Sequence numbers
    count every record made, kept or not: `next_seq` is the number of the
    next one, `first_seq` that of the oldest kept (records before it were
    dropped by the limit), and a violation's `seq` means the same in every
    mode.

    ``Trace(keep=False)`` keeps nothing; ``Trace(limit=N)`` keeps the last N
    (a ring); `sink`, a text stream, receives every record as one JSON line
    (the `to_jsonl` format) as it is made, kept or not. Indexing and `len`
    are over the kept records. A subclass may override `recorder` to watch
    every row on its way in (tests/machines bound a step's records that way).
    """

    __slots__ = ("_rows", "keep", "limit", "next_seq", "sink")

    def __init__(
        self, *, keep: bool = True, limit: int | None = None, sink: TextIO | None = None
    ) -> None:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0
        ):
            raise ValueError(f"Trace: limit must be a positive int or None, not {limit!r}")
        if sink is not None and not callable(getattr(sink, "write", None)):
            raise TypeError(f"Trace: sink must be a text stream, not {type(sink).__name__}")
        self.keep = keep
        self.limit = limit
        self.sink = sink
        self.next_seq = 0
        self._rows: list[Row | TraceRecord] | deque[Row | TraceRecord] = (
            [] if limit is None else deque(maxlen=limit)
        )

    def recorder(self) -> Callable[[Row], None] | None:
        """What the kernel calls with each row; None when nothing is kept or streamed."""
        add = self._rows.append if self.keep else None
        sink = self.sink
        if sink is None:
            return add

        def stream(row: Row) -> None:
            if add is not None:
                add(row)
            sink.write(json.dumps(materialize(row).to_json()) + "\n")

        return stream

    def append(self, record: TraceRecord) -> None:
        """Add a finished record (its seq must be `next_seq`)."""
        if record.seq != self.next_seq:
            raise ValueError(f"trace record seq {record.seq} out of order")
        self.next_seq += 1
        if self.keep:
            self._rows.append(record)
        if self.sink is not None:
            self.sink.write(json.dumps(record.to_json()) + "\n")

    def clear(self) -> None:
        """Drop every kept record; numbering goes on from `next_seq`."""
        self._rows.clear()

    @property
    def first_seq(self) -> int:
        """The seq of the oldest kept record (`next_seq` when none is kept)."""
        return self.next_seq - len(self._rows)

    @property
    def dropped(self) -> int:
        """How many records were made and not kept."""
        return self.first_seq

    def _at(self, index: int) -> TraceRecord:
        rows = self._rows
        row = rows[index]
        if type(row) is tuple:
            record = materialize(row)
            rows[index] = record
            return record
        return row  # type: ignore[return-value]

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TraceRecord]: ...
    def __getitem__(self, index: int | slice) -> TraceRecord | Sequence[TraceRecord]:
        if isinstance(index, slice):
            return tuple(self._at(i) for i in range(*index.indices(len(self._rows))))
        if index < 0:
            index += len(self._rows)
        if not 0 <= index < len(self._rows):
            raise IndexError("trace index out of range")
        return self._at(index)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TraceRecord]:
        for i in range(len(self._rows)):
            yield self._at(i)

    def tail(self, n: int) -> tuple[TraceRecord, ...]:
        """The last `n` kept records."""
        return self[-n:] if n > 0 else ()  # type: ignore[return-value]

    def since(self, seq: int) -> tuple[TraceRecord, ...]:
        """The kept records numbered `seq` and later."""
        return self[max(0, seq - self.first_seq) :]  # type: ignore[return-value]

    def names(self, phase: Phase | None = None) -> list[str]:
        """Record names in order, optionally only one phase (handy in tests)."""
        return [r.name for r in self if phase is None or r.phase is phase]
