"""NDIS spin locks and events: IRQL and blocking, without threads.

Spin locks (nf-ndis-ndisallocatespinlock.md and the acquire/release pages).
NdisAcquireSpinLock raises the running code's IRQL to DISPATCH_LEVEL and
keeps the old IRQL in the lock; NdisReleaseSpinLock restores it. The Dpr
variants may be called only at DISPATCH_LEVEL and do not change the IRQL.
condis checks the Static Driver Verifier rules on every call: acquiring a
lock that is held (on Windows, a deadlock: condis's single thread of
execution can never see it released), releasing a lock that is not held,
mixing the Dpr and non-Dpr pairs, freeing a held lock, and returning from a
handler with a lock still held (kernel.py).

A release that does not match its acquire (SpinLockDprRelease) is refused in
strict mode. Collecting, condis releases the lock as Windows would, with
the IRQL the mismatch leaves: NdisDprReleaseSpinLock does not lower the
IRQL, so code that took the lock with NdisAcquireSpinLock goes on at
DISPATCH_LEVEL; NdisReleaseSpinLock restores the IRQL the lock last saved,
and NdisDprAcquireSpinLock saves none, so code that took the lock with
NdisDprAcquireSpinLock drops to whatever the lock's last NdisAcquireSpinLock
saved (PASSIVE_LEVEL if it never had one). Either way the code that made the
mistake runs on at an IRQL it did not expect, and its next DDI is checked
there.

Events. A driver that must wait at PASSIVE_LEVEL (MiniportHaltEx waiting for
its clients to close their AFs; ProtocolUnbindAdapterEx waiting for
ProtocolCloseAdapterCompleteEx) uses NdisInitializeEvent, NdisSetEvent and
NdisWaitEvent. These are WDK DDIs outside spec/INDEX.md (documented in the
WDK's ndis.h pages: NdisWaitEvent at PASSIVE_LEVEL, NdisSetEvent and
NdisResetEvent at <= DISPATCH_LEVEL). While a driver waits, the rest of the
system goes on: condis runs the host's scheduler from inside NdisWaitEvent
until the event is set. If nothing left can set it, an infinite wait is a
hang (NdisWaitDeadlock, which stops the host in collect mode too: a thread
that waits for ever cannot be gone past); a finite wait moves the clock to
its deadline and returns FALSE.
"""

from __future__ import annotations

from collections.abc import Iterator

from condis.catalogue import IrqlRequirement
from condis.constants import DISPATCH_LEVEL, PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import NDIS_SPIN_LOCK, ddi
from condis.records import DriverBlock
from condis.scheduler import TICKS_PER_MS
from condis.structs import NDIS_EVENT
from condis.verifier.leaks import Leak

__all__ = ["NDIS_EVENT", "NDIS_SPIN_LOCK", "SyncEngine"]


_PASSIVE = IrqlRequirement(relation="==", level=PASSIVE_LEVEL, text="PASSIVE_LEVEL")
_DISPATCH_OR_LOWER = IrqlRequirement(relation="<=", level=DISPATCH_LEVEL, text="<= DISPATCH_LEVEL")
_DISPATCH = IrqlRequirement(relation="==", level=DISPATCH_LEVEL, text="DISPATCH_LEVEL")


class SyncEngine(Engine):
    """Spin locks and events: the IRQL and blocking DDIs."""

    __slots__ = ("_event_serial", "_lock_serial", "_locks")

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._lock_serial = 0
        self._event_serial = 0
        self._locks: dict[NDIS_SPIN_LOCK, None] = {}

    def leaks(self) -> Iterator[Leak]:
        for lock in self._locks:
            if lock.holder is not None:
                yield Leak("spin lock", lock.label, lock.owner, f"held by {lock.holder.name}").at(
                    lock.born
                )

    def invariants(self) -> Iterator[str]:
        for lock in self._locks:
            if lock.holder is not None and lock not in lock.holder.locks:
                yield f"{lock.label} names a holder whose frame does not list it"
        for frame in self.k.frames:
            for lock in frame.locks:
                if lock.holder is not frame:
                    yield f"frame {frame.name} lists {lock.label}, held by another frame"

    @property
    def spin_locks(self) -> tuple[NDIS_SPIN_LOCK, ...]:
        """Spin locks allocated and not freed, oldest first."""
        return tuple(self._locks)

    def _caller(self, ddi_name: str) -> DriverBlock:
        driver = self.k.current_driver
        if driver is None:
            raise ValueError(
                f"{ddi_name}: must be called from driver code (a handler, a work item, "
                "a timer, or Ndis.driver_context)"
            )
        return driver

    def _lock_arg(self, ddi_name: str, lock: object) -> NDIS_SPIN_LOCK:
        if not isinstance(lock, NDIS_SPIN_LOCK):
            raise TypeError(
                f"{ddi_name}: SpinLock must be an NDIS_SPIN_LOCK from NdisAllocateSpinLock, "
                f"not {type(lock).__name__}"
            )
        if lock.host != self.k.host:
            raise ValueError(f"{ddi_name}: SpinLock {lock.label} was allocated by another host")
        if lock.freed:
            raise ValueError(f"{ddi_name}: {lock.label} was freed with NdisFreeSpinLock")
        return lock

    # --- spin locks ---------------------------------------------------------------------------

    @ddi("NdisAllocateSpinLock")
    def NdisAllocateSpinLock(self) -> NDIS_SPIN_LOCK:
        """Initialize a spin lock (any IRQL). Returns the lock (the C out-parameter)."""
        driver = self._caller("NdisAllocateSpinLock")
        with self.k.begin("NdisAllocateSpinLock", driver) as call:
            self._lock_serial += 1
            lock = NDIS_SPIN_LOCK(serial=self._lock_serial, owner=driver.name, host=self.k.host)
            self._locks[lock] = None
            call.result(lock)
            return lock

    def _acquire(self, name: str, lock: object, dpr: bool) -> None:
        driver = self._caller(name)
        lk = self._lock_arg(name, lock)
        requirement = _DISPATCH if dpr else _DISPATCH_OR_LOWER
        rule = "SpinLockDpr" if dpr else None
        with self.k.begin(name, driver, irql=requirement, rule=rule) as call:
            if lk.held:
                self.k.violation(
                    "SpinLock",
                    refused=True,
                    ddi=name,
                    driver=driver,
                    detail=f"{lk.label} is already held; acquiring it again deadlocks",
                )
                return call.void()
            frame = self.k.frames[-1]
            lk.holder, lk.dpr = frame, dpr
            lk.acquisitions += 1
            frame.locks.append(lk)
            if not dpr:
                lk.old_irql, frame.irql = frame.irql, DISPATCH_LEVEL
            return call.void()

    def _release_lock(self, name: str, lock: object, dpr: bool) -> None:
        driver = self._caller(name)
        lk = self._lock_arg(name, lock)
        rule = "SpinLockDpr" if dpr else None
        with self.k.begin(name, driver, irql=_DISPATCH, rule=rule) as call:
            if not lk.held:
                self.k.violation(
                    "SpinlockRelease",
                    ddi=name,
                    driver=driver,
                    detail=f"{lk.label} is not held",
                    refused=True,
                )
                return call.void()
            if lk.dpr != dpr:
                pair = "NdisDprAcquireSpinLock" if lk.dpr else "NdisAcquireSpinLock"
                self.k.violation(
                    "SpinLockDprRelease",
                    refused=True,
                    ddi=name,
                    driver=driver,
                    detail=f"{lk.label} was acquired with {pair}",
                )
            holder = lk.holder
            assert holder is not None
            if lk in holder.locks:
                holder.locks.remove(lk)
            if not dpr:
                self.k.frames[-1].irql = lk.old_irql
            lk.holder = None
            return call.void()

    @ddi("NdisAcquireSpinLock")
    def NdisAcquireSpinLock(self, SpinLock: NDIS_SPIN_LOCK) -> None:
        """Acquire a spin lock, raising the IRQL to DISPATCH_LEVEL."""
        self._acquire("NdisAcquireSpinLock", SpinLock, dpr=False)

    @ddi("NdisReleaseSpinLock")
    def NdisReleaseSpinLock(self, SpinLock: NDIS_SPIN_LOCK) -> None:
        """Release a spin lock taken with NdisAcquireSpinLock, restoring the IRQL."""
        self._release_lock("NdisReleaseSpinLock", SpinLock, dpr=False)

    @ddi("NdisDprAcquireSpinLock")
    def NdisDprAcquireSpinLock(self, SpinLock: NDIS_SPIN_LOCK) -> None:
        """Acquire a spin lock when already at DISPATCH_LEVEL."""
        self._acquire("NdisDprAcquireSpinLock", SpinLock, dpr=True)

    @ddi("NdisDprReleaseSpinLock")
    def NdisDprReleaseSpinLock(self, SpinLock: NDIS_SPIN_LOCK) -> None:
        """Release a spin lock taken with NdisDprAcquireSpinLock."""
        self._release_lock("NdisDprReleaseSpinLock", SpinLock, dpr=True)

    @ddi("NdisFreeSpinLock")
    def NdisFreeSpinLock(self, SpinLock: NDIS_SPIN_LOCK) -> None:
        """Deinitialize a spin lock (any IRQL); it must not be held."""
        name = "NdisFreeSpinLock"
        driver = self._caller(name)
        lk = self._lock_arg(name, SpinLock)
        with self.k.begin(name, driver) as call:
            if lk.held:
                self.k.violation(
                    "SpinLockBalanced",
                    ddi=name,
                    driver=driver,
                    detail=f"{lk.label} is still held",
                    refused=True,
                )
                return call.void()
            lk.freed = True
            del self._locks[lk]
            return call.void()

    # --- events -------------------------------------------------------------------------------

    def _event_arg(self, ddi_name: str, event: object) -> NDIS_EVENT:
        if not isinstance(event, NDIS_EVENT):
            raise TypeError(
                f"{ddi_name}: Event must be an NDIS_EVENT from NdisInitializeEvent, "
                f"not {type(event).__name__}"
            )
        return event

    @ddi("NdisInitializeEvent")
    def NdisInitializeEvent(self) -> NDIS_EVENT:
        """Initialize an event, not signaled (PASSIVE_LEVEL). Returns the event."""
        driver = self._caller("NdisInitializeEvent")
        with self.k.begin(
            "NdisInitializeEvent", driver, irql=_PASSIVE, rule="Irql_Miscellaneous_Function"
        ) as call:
            self._event_serial += 1
            event = NDIS_EVENT(serial=self._event_serial)
            call.result(event.label)
            return event

    @ddi("NdisSetEvent")
    def NdisSetEvent(self, Event: NDIS_EVENT) -> None:
        """Signal an event (<= DISPATCH_LEVEL)."""
        event = self._event_arg("NdisSetEvent", Event)
        driver = self._caller("NdisSetEvent")
        with self.k.begin(
            "NdisSetEvent", driver, irql=_DISPATCH_OR_LOWER, rule="Irql_Miscellaneous_Function"
        ) as call:
            event.signaled = True
            return call.void()

    @ddi("NdisResetEvent")
    def NdisResetEvent(self, Event: NDIS_EVENT) -> None:
        """Clear an event (<= DISPATCH_LEVEL)."""
        event = self._event_arg("NdisResetEvent", Event)
        driver = self._caller("NdisResetEvent")
        with self.k.begin(
            "NdisResetEvent", driver, irql=_DISPATCH_OR_LOWER, rule="Irql_Miscellaneous_Function"
        ) as call:
            event.signaled = False
            return call.void()

    @ddi("NdisWaitEvent")
    def NdisWaitEvent(self, Event: NDIS_EVENT, MsToWait: int) -> bool:
        """Wait at PASSIVE_LEVEL until the event is set; MsToWait 0 waits forever.

        Returns True if the event was set, False if the wait timed out.
        """
        name = "NdisWaitEvent"
        event = self._event_arg(name, Event)
        if isinstance(MsToWait, bool) or not isinstance(MsToWait, int) or MsToWait < 0:
            raise ValueError(f"{name}: MsToWait must be a non-negative int, not {MsToWait!r}")
        driver = self._caller(name)
        with self.k.begin(name, driver, irql=_PASSIVE, rule="Irql_Miscellaneous_Function") as call:
            deadline = None if MsToWait == 0 else self.k.scheduler.now + MsToWait * TICKS_PER_MS
            event.waiters += 1
            try:
                while not event.signaled:
                    if self.k.scheduler.step(until=deadline) is None:
                        break
            finally:
                event.waiters -= 1
            if event.signaled:
                return bool(call.result(True))
            if deadline is not None:
                self.k.scheduler.now = max(self.k.scheduler.now, deadline)
                return bool(call.result(False))
            self.k.violation(
                "NdisWaitDeadlock",
                fatal=True,
                ddi=name,
                driver=driver,
                detail=f"waits forever for {event.label}: no work, timer or completion is left "
                "that could set it",
            )
            return bool(call.result(False))
