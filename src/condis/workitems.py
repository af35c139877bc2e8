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

from condis.adapters import Adapter, AdapterMixin
from condis.constants import PASSIVE_LEVEL
from condis.crossing import ddi, handler
from condis.drivers import DriverBlock, DriverKind
from condis.handles import AdapterHandle, DriverHandle, WorkItemHandle
from condis.scheduler import Item, ItemKind
from condis.verifier.leaks import Leak

__all__ = ["WorkItem", "WorkItemMixin"]

handler("NdisIoWorkItemRoutine")


@dataclass(eq=False, slots=True)
class WorkItem:
    handle: WorkItemHandle
    driver: DriverBlock
    adapter: Adapter | None
    queued: Item | None = None
    runs: int = 0


class WorkItemMixin(AdapterMixin):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._work_items: list[WorkItem] = []

    def _leaks(self) -> Iterator[Leak]:
        yield from super()._leaks()
        for item in self.work_items:
            yield Leak("work item", item.handle.label, item.driver.name, "not freed")

    def _driver_unloaded(self, block: DriverBlock) -> None:
        super()._driver_unloaded(block)
        for item in self.work_items:
            if item.driver is block and item.queued is not None:
                self.scheduler.cancel(item.queued)
                item.queued = None

    def _invariants(self) -> Iterator[str]:
        yield from super()._invariants()
        waiting = {id(i) for i in self.scheduler.pending()}
        for item in self._work_items:
            if item.queued is not None and id(item.queued) not in waiting:
                yield f"{item.handle.label} is marked queued but the scheduler does not hold it"

    @property
    def work_items(self) -> tuple[WorkItem, ...]:
        """Work items allocated and not yet freed."""
        return tuple(w for w in self._work_items if self.handles.is_live(w.handle))

    def _owner_of(self, ddi_name: str, handle: object) -> tuple[DriverBlock, Adapter | None] | None:
        """Resolve an NDIS object handle: an adapter handle or a driver handle."""
        if isinstance(handle, AdapterHandle):
            adapter = self._adapter_for(ddi_name, handle)
            return None if adapter is None else (adapter.driver, adapter)
        block = self._resolve(ddi_name, "NdisObjectHandle", handle, DriverHandle)
        return (block, None) if isinstance(block, DriverBlock) else None

    @ddi("NdisAllocateIoWorkItem")
    def NdisAllocateIoWorkItem(
        self, NdisObjectHandle: AdapterHandle | DriverHandle
    ) -> WorkItemHandle | None:
        """Allocate a work item; None (NULL) for a protocol's handle or when allocation fails."""
        name = "NdisAllocateIoWorkItem"
        owner = self._owner_of(name, NdisObjectHandle)
        if owner is None:
            return None
        driver, adapter = owner
        with self._begin(name, driver, handle=NdisObjectHandle) as call:
            if driver.kind is not DriverKind.MINIPORT or self._allocation_fails(name):
                return call.result(None)
            handle = self.handles.issue(WorkItemHandle, None)
            item = WorkItem(handle=handle, driver=driver, adapter=adapter)
            self.handles.attach(handle, item)
            self._work_items.append(item)
            call.handle = handle
            return call.result(handle)

    def _work_item(self, ddi_name: str, handle: object) -> WorkItem | None:
        item = self._resolve(ddi_name, "NdisIoWorkItemHandle", handle, WorkItemHandle)
        return item if isinstance(item, WorkItem) else None

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
        with self._begin(name, item.driver, handle=item.handle) as call:
            if item.queued is not None:
                self._violation(
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
                self._call_void(
                    item.driver,
                    "NdisIoWorkItemRoutine",
                    Routine,
                    WorkItemContext,
                    item.handle,
                    handle=item.handle,
                    irql=PASSIVE_LEVEL,
                )

            item.queued = self._defer(
                f"work item {item.handle.label}", run, irql=PASSIVE_LEVEL, kind=ItemKind.WORK_ITEM
            )
            return call.void()

    @ddi("NdisFreeIoWorkItem")
    def NdisFreeIoWorkItem(self, NdisIoWorkItemHandle: WorkItemHandle) -> None:
        """Free a work item (it may be freed from its own routine)."""
        name = "NdisFreeIoWorkItem"
        item = self._work_item(name, NdisIoWorkItemHandle)
        if item is None:
            return None
        with self._begin(name, item.driver, handle=item.handle) as call:
            if item.queued is not None:
                self._violation(
                    "NdisWorkItemQueued",
                    refused=True,
                    ddi=name,
                    driver=item.driver,
                    handle=item.handle,
                    detail=f"{item.handle.label} is freed while queued",
                )
                return call.void()
            self.handles.close(item.handle)
            return call.void()

    def _check_adapter_resources(self, adapter: Adapter, where: str) -> None:
        super()._check_adapter_resources(adapter, where)
        for item in self.work_items:
            if item.adapter is adapter:
                self._violation(
                    "NdisWorkItemLeak",
                    ddi=where,
                    driver=item.driver,
                    handle=item.handle,
                    detail=f"{item.handle.label}, allocated with {adapter.handle.label}, "
                    f"was not freed by the end of {where}",
                )
