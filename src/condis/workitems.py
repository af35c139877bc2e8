"""NDIS I/O work items: deferred work at PASSIVE_LEVEL.

(nf-ndis-ndisallocateioworkitem.md, ndisqueueioworkitem.md, ndisfreeioworkitem.md)
A miniport allocates a work item with its adapter handle or its driver
handle, queues it with a routine and a context, and NDIS runs the routine
later on a system thread at PASSIVE_LEVEL; in condis that is an item in the
host's scheduler, run by `Ndis.run()` or `Ndis.step()`.

Choices:

* "Protocol drivers cannot use NdisAllocateIoWorkItem": given a protocol's
  handle it returns NULL (None), as on Windows. A protocol defers work with a
  timer instead.
* Queuing a work item that is already queued, or freeing one that is queued
  and has not run, is a violation (NdisWorkItemQueued): on Windows both
  corrupt the I/O manager's queue.
* A work item allocated with an adapter handle must be freed "before or in
  the call to MiniportHaltEx" (NdisWorkItemLeak, checked when the halt
  returns and when MiniportInitializeEx fails).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from condis.constants import PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.handles import AdapterHandle, DriverHandle, WorkItemHandle
from condis.records import Adapter, DriverBlock, DriverKind
from condis.scheduler import Item, ItemKind
from condis.verifier.leaks import Leak

__all__ = ["WorkItem", "WorkItemEngine"]

handler("NdisIoWorkItemRoutine")


@dataclass(eq=False, slots=True)
class WorkItem:
    handle: WorkItemHandle
    driver: DriverBlock
    adapter: Adapter | None
    queued: Item | None = None
    runs: int = 0


class WorkItemEngine(Engine):
    """The NDIS I/O work item DDIs."""

    __slots__ = ("_work_items",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._work_items: dict[WorkItem, None] = {}

    def leaks(self) -> Iterator[Leak]:
        for item in self.work_items:
            yield Leak("work item", item.handle.label, item.driver.name, "not freed").at(
                item.handle.born
            )

    def driver_unloaded(self, block: DriverBlock) -> None:
        """`block` is gone: a work item it left queued is withdrawn unrun."""
        for item in self.work_items:
            if item.driver is block and item.queued is not None:
                self.k.scheduler.cancel(item.queued)
                item.queued = None

    def invariants(self) -> Iterator[str]:
        waiting = {id(i) for i in self.k.scheduler.pending()}
        for item in self._work_items:
            if item.queued is not None and id(item.queued) not in waiting:
                yield f"{item.handle.label} is marked queued but the scheduler does not hold it"

    @property
    def work_items(self) -> tuple[WorkItem, ...]:
        """Work items allocated and not yet freed, oldest first."""
        return tuple(self._work_items)

    @ddi("NdisAllocateIoWorkItem")
    def NdisAllocateIoWorkItem(
        self, NdisObjectHandle: AdapterHandle | DriverHandle
    ) -> WorkItemHandle | None:
        """Allocate a work item; None (NULL) for a protocol's handle or when allocation fails."""
        name = "NdisAllocateIoWorkItem"
        owner = self.resolve.owner_of(name, NdisObjectHandle)
        if owner is None:
            return None
        driver, adapter = owner
        with self.k.begin(name, driver, handle=NdisObjectHandle) as call:
            if driver.kind is not DriverKind.MINIPORT or self.k.allocation_fails(name):
                return call.result(None)
            handle = self.k.handles.issue(WorkItemHandle, None)
            item = WorkItem(handle=handle, driver=driver, adapter=adapter)
            self.k.handles.attach(handle, item)
            self._work_items[item] = None
            call.handle = handle
            return call.result(handle)

    def _work_item(self, ddi_name: str, handle: object) -> WorkItem | None:
        return self.resolve.typed(
            ddi_name, "NdisIoWorkItemHandle", handle, WorkItemHandle, WorkItem
        )

    @ddi("NdisQueueIoWorkItem")
    def NdisQueueIoWorkItem(
        self,
        NdisIoWorkItemHandle: WorkItemHandle,
        Routine: Callable[[Any, WorkItemHandle], None],
        WorkItemContext: object = None,
    ) -> None:
        """Queue the work item: NDIS calls Routine(WorkItemContext, NdisIoWorkItemHandle) later."""
        name = "NdisQueueIoWorkItem"
        if not callable(Routine):
            raise TypeError(f"{name}: Routine must be callable, not {type(Routine).__name__}")
        item = self._work_item(name, NdisIoWorkItemHandle)
        if item is None:
            return None
        with self.k.begin(name, item.driver, handle=item.handle) as call:
            if item.queued is not None:
                self.k.violation(
                    "NdisWorkItemQueued",
                    refused=True,
                    ddi=name,
                    driver=item.driver,
                    handle=item.handle,
                    detail=f"{item.handle.label} is already queued and has not run",
                )
                return call.void()

            def run() -> None:
                item.queued = None
                item.runs += 1
                self.k.call_void(
                    item.driver,
                    "NdisIoWorkItemRoutine",
                    Routine,
                    WorkItemContext,
                    item.handle,
                    handle=item.handle,
                    irql=PASSIVE_LEVEL,
                )

            item.queued = self.k.defer(
                f"work item {item.handle.label}",
                run,
                irql=PASSIVE_LEVEL,
                kind=ItemKind.WORK_ITEM,
                owner=item.driver,
            )
            return call.void()

    @ddi("NdisFreeIoWorkItem")
    def NdisFreeIoWorkItem(self, NdisIoWorkItemHandle: WorkItemHandle) -> None:
        """Free a work item (it may be freed from its own routine)."""
        name = "NdisFreeIoWorkItem"
        item = self._work_item(name, NdisIoWorkItemHandle)
        if item is None:
            return None
        with self.k.begin(name, item.driver, handle=item.handle) as call:
            if item.queued is not None:
                self.k.violation(
                    "NdisWorkItemQueued",
                    refused=True,
                    ddi=name,
                    driver=item.driver,
                    handle=item.handle,
                    detail=f"{item.handle.label} is freed while queued",
                )
                return call.void()
            self.k.handles.close(item.handle)
            del self._work_items[item]
            return call.void()

    def adapter_gone(self, adapter: Adapter, where: str) -> None:
        """`where` (MiniportHaltEx, a failed MiniportInitializeEx) returned: each work item
        allocated with the adapter handle must have been freed (NdisWorkItemLeak)."""
        for item in self.work_items:
            if item.adapter is adapter:
                self.k.violation(
                    "NdisWorkItemLeak",
                    ddi=where,
                    driver=item.driver,
                    handle=item.handle,
                    detail=f"{item.handle.label}, allocated with {adapter.handle.label}, "
                    f"was not freed by the end of {where}",
                )
