"""NDIS timer objects: callbacks at DISPATCH_LEVEL on the simulated clock.

(nf-ndis-ndisallocatetimerobject.md, ndissettimerobject.md,
ndiscanceltimerobject.md, ndisfreetimerobject.md) A driver allocates a
timer with a handle NDIS gave it (its driver handle or an adapter handle)
and an NDIS_TIMER_CHARACTERISTICS naming its NetTimerCallback, then sets it:
DueTime in 100-ns units, negative for relative, positive for absolute, and an
optional period in milliseconds. When the simulated clock reaches the due
time the scheduler calls NetTimerCallback(SystemSpecific1, FunctionContext,
SystemSpecific2, SystemSpecific3) at DISPATCH_LEVEL; a periodic timer is
queued again each time it fires.

Choices:

* Cancelling a periodic timer requires PASSIVE_LEVEL (the page's remarks);
  condis checks it under Irql_Timer_Function.
* NdisFreeTimerObject on a timer that is still set cancels it first.
* Timers allocated with an adapter handle must be freed by the time
  MiniportHaltEx returns (NdisTimerLeak, 0x7C
  NDIS_BUGCHECK_HALT_WITHOUT_CANCEL_TIMER).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from condis.catalogue import IrqlRequirement
from condis.constants import DISPATCH_LEVEL, PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.handles import AdapterHandle, DriverHandle, TimerHandle
from condis.records import Adapter, DriverBlock
from condis.scheduler import TICKS_PER_MS, Item, ItemKind
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_BAD_CHARACTERISTICS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import NDIS_TIMER_CHARACTERISTICS
from condis.verifier.leaks import Leak

__all__ = ["Timer", "TimerEngine"]

handler("NetTimerCallback")

_PASSIVE_ONLY = IrqlRequirement(relation="==", level=PASSIVE_LEVEL, text="PASSIVE_LEVEL")


@dataclass(eq=False, slots=True)
class Timer:
    handle: TimerHandle
    driver: DriverBlock
    adapter: Adapter | None
    characteristics: NDIS_TIMER_CHARACTERISTICS
    queued: Item | None = None
    period_ms: int = 0
    context: object = None
    fired: int = 0


class TimerEngine(Engine):
    """The NDIS timer object DDIs."""

    __slots__ = ("_timers",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._timers: dict[Timer, None] = {}

    def leaks(self) -> Iterator[Leak]:
        for timer in self.timers:
            state = "set" if timer.queued is not None else "not set"
            yield Leak("timer", timer.handle.label, timer.driver.name, f"not freed ({state})").at(
                timer.handle.born
            )

    def driver_unloaded(self, block: DriverBlock) -> None:
        """`block` is gone: a timer it left set is cancelled and never fires."""
        for timer in self.timers:
            if timer.driver is block and timer.queued is not None:
                self.k.scheduler.cancel(timer.queued)
                timer.queued = None

    def invariants(self) -> Iterator[str]:
        waiting = {id(i) for i in self.k.scheduler.pending()}
        for timer in self._timers:
            if timer.queued is not None and id(timer.queued) not in waiting:
                yield f"{timer.handle.label} is marked set but the scheduler does not hold it"

    @property
    def timers(self) -> tuple[Timer, ...]:
        """Timer objects allocated and not yet freed, oldest first."""
        return tuple(self._timers)

    @ddi("NdisAllocateTimerObject")
    def NdisAllocateTimerObject(
        self,
        NdisHandle: DriverHandle | AdapterHandle,
        TimerCharacteristics: NDIS_TIMER_CHARACTERISTICS,
    ) -> tuple[NDIS_STATUS, TimerHandle | None]:
        """Allocate a timer object: (SUCCESS, handle), BAD_CHARACTERISTICS, RESOURCES or FAILURE."""
        name = "NdisAllocateTimerObject"
        if not isinstance(TimerCharacteristics, NDIS_TIMER_CHARACTERISTICS):
            raise TypeError(
                f"{name}: TimerCharacteristics must be an NDIS_TIMER_CHARACTERISTICS, "
                f"not {type(TimerCharacteristics).__name__}"
            )
        owner = self.resolve.owner_of(name, NdisHandle, "NdisHandle")
        if owner is None:
            return NDIS_STATUS_FAILURE, None
        driver, adapter = owner
        with self.k.begin(name, driver, handle=NdisHandle) as call:
            if not callable(TimerCharacteristics.TimerFunction):
                return call.status(NDIS_STATUS_BAD_CHARACTERISTICS), None
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            handle = self.k.handles.issue(TimerHandle, None)
            timer = Timer(
                handle=handle,
                driver=driver,
                adapter=adapter,
                characteristics=TimerCharacteristics,
            )
            self.k.handles.attach(handle, timer)
            self._timers[timer] = None
            call.handle = handle
            return call.status(NDIS_STATUS_SUCCESS, result=handle), handle

    def _timer(self, ddi_name: str, handle: object) -> Timer | None:
        return self.resolve.typed(ddi_name, "TimerObject", handle, TimerHandle, Timer)

    def _arm(self, timer: Timer, due: int) -> None:
        def fire() -> None:
            timer.queued = None
            timer.fired += 1
            if timer.period_ms:
                self._arm(timer, self.k.scheduler.now + timer.period_ms * TICKS_PER_MS)
            self.k.call_void(
                timer.driver,
                "NetTimerCallback",
                timer.characteristics.TimerFunction,
                None,
                timer.context,
                None,
                None,
                handle=timer.handle,
                irql=DISPATCH_LEVEL,
            )

        timer.queued = self.k.defer(
            f"timer {timer.handle.label}",
            fire,
            irql=DISPATCH_LEVEL,
            owner=timer.driver,
            kind=ItemKind.TIMER,
            due=due,
        )

    @ddi("NdisSetTimerObject")
    def NdisSetTimerObject(
        self,
        TimerObject: TimerHandle,
        DueTime: int,
        MillisecondsPeriod: int = 0,
        FunctionContext: object = None,
    ) -> bool:
        """Set a timer; True if it was already queued (and is now re-set)."""
        name = "NdisSetTimerObject"
        for param, value in (("DueTime", DueTime), ("MillisecondsPeriod", MillisecondsPeriod)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name}: {param} must be an int, not {type(value).__name__}")
        if not 0 <= MillisecondsPeriod <= 0x7FFFFFFF:
            raise ValueError(
                f"{name}: MillisecondsPeriod must be in 0..MAXLONG, not {MillisecondsPeriod}"
            )
        timer = self._timer(name, TimerObject)
        if timer is None:
            return False
        with self.k.begin(name, timer.driver, handle=timer.handle) as call:
            was_queued = timer.queued is not None
            if timer.queued is not None:
                self.k.scheduler.cancel(timer.queued)
            timer.period_ms = MillisecondsPeriod
            timer.context = (
                FunctionContext
                if FunctionContext is not None
                else timer.characteristics.FunctionContext
            )
            due = self.k.scheduler.now - DueTime if DueTime < 0 else DueTime
            self._arm(timer, due)
            return bool(call.result(was_queued))

    @ddi("NdisCancelTimerObject")
    def NdisCancelTimerObject(self, TimerObject: TimerHandle) -> bool:
        """Cancel a timer; True if it was queued. A periodic timer needs PASSIVE_LEVEL."""
        name = "NdisCancelTimerObject"
        timer = self._timer(name, TimerObject)
        if timer is None:
            return False
        requirement = _PASSIVE_ONLY if timer.period_ms else None
        with self.k.begin(name, timer.driver, handle=timer.handle, irql=requirement) as call:
            was_queued = timer.queued is not None
            if timer.queued is not None:
                self.k.scheduler.cancel(timer.queued)
                timer.queued = None
            timer.period_ms = 0
            return bool(call.result(was_queued))

    @ddi("NdisFreeTimerObject")
    def NdisFreeTimerObject(self, TimerObject: TimerHandle) -> None:
        """Free a timer object (cancelling it if it is still set)."""
        name = "NdisFreeTimerObject"
        timer = self._timer(name, TimerObject)
        if timer is None:
            return None
        with self.k.begin(name, timer.driver, handle=timer.handle) as call:
            if timer.queued is not None:
                self.k.scheduler.cancel(timer.queued)
                timer.queued = None
            self.k.handles.close(timer.handle)
            del self._timers[timer]
            return call.void()

    def adapter_gone(self, adapter: Adapter, where: str) -> None:
        """`where` returned: each timer allocated with the adapter handle must have been
        freed (NdisTimerLeak)."""
        for timer in self.timers:
            if timer.adapter is adapter:
                self.k.violation(
                    "NdisTimerLeak",
                    ddi=where,
                    driver=timer.driver,
                    handle=timer.handle,
                    detail=f"{timer.handle.label}, allocated with {adapter.handle.label}, "
                    f"was not freed by the end of {where}",
                )
