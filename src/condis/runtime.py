"""The base of the mixin tower while the host moves onto the kernel (kernel.py).

`NdisCore` builds one `Core` (the kernel, its operations, its resolver) and
answers the names the entity mixins still use by forwarding to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from condis.catalogue import IrqlRequirement
from condis.constants import KIRQL, PASSIVE_LEVEL
from condis.core import Core
from condis.crossing import DdiCall, Frame, Returns
from condis.handles import NDIS_HANDLE
from condis.records import DriverBlock
from condis.scheduler import Item, ItemKind, Policy
from condis.status import NDIS_STATUS
from condis.trace import Phase, RecordKind, TraceRecord
from condis.verifier import Mode
from condis.verifier.leaks import Leak

__all__ = ["NdisCore"]


class NdisCore:
    """Shared state and machinery of one simulated host (kernel.py)."""

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        mode: Mode = Mode.STRICT,
        watchdog_ms: int | None = None,
    ) -> None:
        self.core = Core.build(policy=policy, mode=mode, watchdog_ms=watchdog_ms)
        k = self.k = self.core.kernel
        self.handles = k.handles
        self.trace = k.trace
        self.verifier = k.verifier
        self.faults = k.faults
        self.scheduler = k.scheduler

    @property
    def watchdog_ms(self) -> int | None:
        return self.k.watchdog_ms

    @property
    def _frames(self) -> list[Frame]:
        return self.k.frames

    @property
    def crashed(self) -> BaseException | None:
        """The exception that stopped the host, or None while it runs."""
        return self.k.crashed

    @property
    def now(self) -> int:
        """Simulated system time, in 100-ns units."""
        return self.scheduler.now

    def _check_alive(self) -> None:
        self.k.check_alive()

    @property
    def current_irql(self) -> KIRQL:
        """The IRQL of the code running now (PASSIVE_LEVEL when nothing runs)."""
        return self.k.current_irql

    @property
    def current_driver(self) -> DriverBlock | None:
        """The driver whose code is running now, if any."""
        return self.k.current_driver

    def driver_context(
        self, driver: DriverBlock, irql: KIRQL = PASSIVE_LEVEL
    ) -> AbstractContextManager[None]:
        """Run the body as `driver`'s code at `irql`, as if on one of its threads."""
        return self.k.driver_context(driver, irql)

    def check_invariants(self) -> list[str]:
        """Every way the host's own tables disagree with each other; [] when sound."""
        return list(self._invariants())

    def leaks(self) -> list[Leak]:
        """Everything drivers allocated through NDIS and still hold, oldest first."""
        found = list(self._leaks())
        firsts: dict[str, tuple[int, str]] = {}
        ops: dict[int, tuple[int, str]] = {}
        names: dict[int, str] = {}
        labels = {leak.label for leak in found}
        wanted_ops = {leak.op for leak in found if leak.op is not None}
        wanted_seqs = {leak.allocated_seq for leak in found if leak.allocated_seq is not None}
        for record in self.trace:
            for label in (record.handle, record.result):
                if label in labels and label not in firsts:
                    firsts[label] = (record.seq, record.name)
            if record.op in wanted_ops and record.op not in ops:
                ops[record.op] = (record.seq, record.name)
            if record.seq in wanted_seqs:
                names[record.seq] = record.name
        placed = []
        for leak in found:
            if leak.op is not None and leak.op in ops:
                leak = leak.placed(*ops[leak.op])
            elif leak.allocated_seq is not None:
                leak = leak.placed(leak.allocated_seq, names.get(leak.allocated_seq, "?"))
            elif leak.label in firsts:
                leak = leak.placed(*firsts[leak.label])
            placed.append(leak)
        return sorted(placed, key=lambda k: (k.allocated_seq is None, k.allocated_seq or 0))

    def _leaks(self) -> Iterator[Leak]:
        return iter(())

    def _invariants(self) -> Iterator[str]:
        yield from self.k.invariants()

    def _record(
        self, phase: Phase, kind: RecordKind, name: str, driver: DriverBlock | None, **kw: Any
    ) -> TraceRecord:
        return self.k.record(phase, kind, name, driver, **kw)

    def _violation(self, rule_id: str, **kw: Any) -> None:
        self.k.violation(rule_id, **kw)

    def _resolve(
        self, ddi_name: str, param: str, handle: object, kind: type[NDIS_HANDLE]
    ) -> object | None:
        return self.core.resolve.handle(ddi_name, param, handle, kind)

    def _allocation_fails(self, point: str) -> bool:
        return self.k.allocation_fails(point)

    def _begin(
        self,
        name: str,
        driver: DriverBlock | None,
        *,
        handle: NDIS_HANDLE | None = None,
        args: Mapping[str, object] | None = None,
        op: int | None = None,
        irql: IrqlRequirement | None = None,
        rule: str | None = None,
    ) -> DdiCall:
        return self.k.begin(name, driver, handle=handle, args=args, op=op, irql=irql, rule=rule)

    def _invoke(
        self,
        driver: DriverBlock,
        name: str,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None = None,
        op: int | None = None,
        returns: Returns = Returns.VOID,
        irql: KIRQL | None = None,
    ) -> tuple[NDIS_STATUS | None, object]:
        return self.k.invoke(
            driver, name, fn, *args, handle=handle, op=op, returns=returns, irql=irql
        )

    def _call_void(
        self, driver: DriverBlock, name: str, fn: Callable[..., Any] | None, *args: Any, **kw: Any
    ) -> None:
        self.k.call_void(driver, name, fn, *args, **kw)

    def _call_status(
        self, driver: DriverBlock, name: str, fn: Callable[..., Any] | None, *args: Any, **kw: Any
    ) -> NDIS_STATUS:
        return self.k.call_status(driver, name, fn, *args, **kw)

    def _defer(
        self,
        label: str,
        action: Callable[[], None],
        *,
        irql: KIRQL = PASSIVE_LEVEL,
        owner: DriverBlock | None = None,
        kind: ItemKind = ItemKind.NDIS,
        due: int | None = None,
    ) -> Item:
        return self.k.defer(label, action, irql=irql, owner=owner, kind=kind, due=due)

    def _call_passive(self, label: str, action: Callable[[], None]) -> Item | None:
        return self.k.call_passive(label, action)

    def run(self, *, until: int | None = None) -> int:
        """Run deferred work (work items, timers, NDIS completions) until idle.

        Returns the number of items that ran. `until` stops the clock there.
        """
        return self.k.run(until=until)

    def step(self) -> Item | None:
        """Run one deferred item; None if there was nothing to run."""
        return self.k.step()
