"""Recording: each crossing becomes a trace row, and what it names is stamped born.

`Recorder.row` is the one place a record is made (the kernel's begin and
invoke, and a DDI call's return, call it). It numbers the record, stamps
where each handle, spin lock, operation and lent NBL first appears (so a
leak is placed without reading the trace back, in every trace mode), and,
when the trace keeps or streams records, appends the row: plain data only
(trace/records.py, `Row`), so a long trace costs the garbage collector
nothing. `make_trace` turns `Ndis`'s trace arguments into the `Trace`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TextIO

from condis.constants import KIRQL
from condis.handles import NDIS_HANDLE
from condis.records import DriverBlock
from condis.scheduler import Scheduler
from condis.status import NDIS_STATUS
from condis.trace import Trace
from condis.trace.records import keep_args, summary

__all__ = ["Recorder", "make_trace"]


def make_trace(trace: bool | Trace, limit: int | None, sink: TextIO | None) -> Trace:
    """The trace `Ndis(trace=..., trace_limit=..., trace_sink=...)` asks for."""
    if isinstance(trace, Trace):
        if limit is not None or sink is not None:
            raise ValueError("Ndis: give trace_limit and trace_sink to the Trace, not beside it")
        return trace
    if not isinstance(trace, bool):
        raise TypeError(f"Ndis: trace must be True, False or a Trace, not {type(trace).__name__}")
    if not trace and limit is not None:
        raise ValueError("Ndis: trace=False keeps no records; trace_limit would keep some")
    try:
        return Trace(keep=trace, limit=limit, sink=sink)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"Ndis: {exc}".replace("Trace: limit", "trace_limit").replace(
                "Trace: sink", "trace_sink"
            )
        ) from None


class Recorder:
    """The trace's writer for one host (module docstring)."""

    __slots__ = ("add", "arg_names", "op_born", "scheduler", "trace", "unborn")

    def __init__(self, trace: Trace, scheduler: Scheduler) -> None:
        self.trace = trace
        self.scheduler = scheduler
        #: what the trace takes each row with (None when it keeps and streams nothing)
        self.add = trace.recorder()
        #: where each outstanding operation first appears: op id -> (seq, name), or
        #: None until a record names it (operations.py files and retires the ids)
        self.op_born: dict[int, tuple[int, str] | None] = {}
        #: each handler's parameter names, for the arguments its call record shows
        self.arg_names: dict[Callable[..., Any], tuple[str, ...]] = {}
        #: objects born with the next record, whatever it is (an NBL lent to a driver)
        self.unborn: list[Any] = []

    def row(
        self,
        phase: int,
        kind: int,
        name: str,
        driver: DriverBlock | None,
        depth: int,
        handle: NDIS_HANDLE | None,
        status: NDIS_STATUS | None,
        result: object,
        op: int | None,
        irql: KIRQL,
        args: Mapping[str, object] | tuple[str, ...] | None = None,
        call: int | None = None,
        values: tuple[object, ...] | None = None,
    ) -> int:
        """Record one crossing at `depth` (the nesting of calls: everything a DDI or
        handler does before it returns is one deeper than its call record); the one
        place a record is made. Returns its seq. `phase` and `kind` are the row's
        ints (trace/records.py: ROW_CALL...); a handler's call passes its parameter
        names as `args` and its arguments as `values`.

        The first record to name a handle (or an object with a `born` slot, as
        a spin lock) or an operation stamps where it was born, so leaks are
        placed in every trace mode.
        """
        trace = self.trace
        seq = trace.next_seq
        trace.next_seq = seq + 1
        if handle is not None and handle.born is None:
            handle.born = (seq, name)
        if result is not None:
            born = getattr(result, "born", 0)
            if born is None:
                result.born = (seq, name)  # type: ignore[attr-defined]
            if born != 0:  # a handle or a lock: the row keeps its label
                result = result.label  # type: ignore[attr-defined]
        if op is not None and self.op_born.get(op, 0) is None:
            self.op_born[op] = (seq, name)
        unborn = self.unborn
        if unborn:
            for obj in unborn:
                obj.born = (seq, name)
            unborn.clear()
        add = self.add
        if add is not None:
            if args is None:
                given: tuple[object, ...] = ()
            elif values is not None:
                given = args  # type: ignore[assignment]
                values = keep_args(values)
            else:
                given = tuple((k, summary(v)) for k, v in args.items())  # type: ignore[union-attr]
            add(
                (
                    seq,
                    phase,
                    kind,
                    name,
                    None if driver is None else driver.name,
                    int(irql),
                    self.scheduler.now,
                    depth,
                    None if handle is None else handle.label,
                    None if status is None else int(status),
                    result,
                    op,
                    given,
                    call,
                    values,
                )
            )
        return seq
