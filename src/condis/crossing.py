"""What crosses between a driver and NDIS: the names, the frames, one DDI call.

* `ddi` and `handler` register the DDIs condis implements and the handlers
  NDIS calls (`IMPLEMENTED`, which `condis ddi` and the INDEX tests read);
* `Returns` says what a WDK handler returns, `Origin` who started a frame;
* `Frame` is one execution context: a driver's code (or NDIS's) at some
  IRQL, with the spin locks (`NDIS_SPIN_LOCK`) it holds;
* `DdiCall` is one DDI call in progress, opened by `Kernel.begin` and
  closed by recording its return (kernel.py describes the pattern).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from condis.constants import KIRQL, PASSIVE_LEVEL, Key
from condis.handles import NDIS_HANDLE
from condis.records import DriverBlock
from condis.status import NDIS_STATUS
from condis.trace.records import ROW_DDI, ROW_RETURN, summary

__all__ = [
    "HANDLERS",
    "IMPLEMENTED",
    "NDIS_SPIN_LOCK",
    "DdiCall",
    "Frame",
    "Origin",
    "Returns",
    "ddi",
    "handler",
    "summary",
]

#: Every DDI name condis implements, filled by the `ddi` decorator.
IMPLEMENTED: set[str] = set()
#: Every handler NDIS calls, with the module that calls it (filled by `handler`).
HANDLERS: dict[str, str] = {}

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def ddi(*names: str) -> Callable[[F], F]:
    """Mark a method as the implementation of the named DDI(s)."""

    def mark(fn: F) -> F:
        IMPLEMENTED.update(names or (fn.__name__,))
        return fn

    return mark


def handler(*names: str) -> None:
    """Record handler names that NDIS calls from the calling module (for `condis ddi`)."""
    IMPLEMENTED.update(names)
    module = sys._getframe(1).f_globals.get("__name__", "?")
    for name in names:
        HANDLERS.setdefault(name, module)


class Returns(Key):
    """What a WDK handler returns."""

    VOID = "VOID"
    STATUS = "NDIS_STATUS"
    STATUS_OUT = "NDIS_STATUS and an out-parameter"


class Origin(Key):
    """What started an execution frame."""

    HANDLER = "handler"
    WORK_ITEM = "work item"
    TIMER = "timer"
    NDIS = "NDIS"
    EXTERNAL = "external"


@dataclass(slots=True, eq=False)
class Frame:
    """One execution context: a driver's code (or NDIS's) at some IRQL."""

    driver: DriverBlock | None
    irql: KIRQL
    name: str
    origin: Origin
    locks: list[NDIS_SPIN_LOCK] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class NDIS_SPIN_LOCK:
    """An NDIS spin lock (opaque to the driver; NdisAllocateSpinLock returns one).

    NDIS's side of it: who holds it (the frame whose code acquired it), the
    IRQL to restore on release, and which acquire spelling took it.
    """

    serial: int
    owner: str | None
    #: the host that allocated it (new_host_id): a lock works on its own host only
    host: int = 0
    freed: bool = False
    holder: Frame | None = None
    old_irql: KIRQL = PASSIVE_LEVEL
    dpr: bool = False
    acquisitions: int = 0
    #: where the lock first appears in the trace (kernel.py stamps it): (seq, name)
    born: tuple[int, str] | None = None

    @property
    def label(self) -> str:
        return f"NDIS_SPIN_LOCK#{self.serial}"

    @property
    def held(self) -> bool:
        return self.holder is not None


class DdiKernel(Protocol):
    """What a DDI call needs of the kernel: the call nesting, the frames, the trace."""

    depth: int
    frames: list[Frame]

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
        args: Any = None,
        call: int | None = None,
        values: Any = None,
    ) -> int: ...


_RETURN, _DDI = ROW_RETURN, ROW_DDI
_PLAIN = (bool, int, str, NDIS_HANDLE)


class DdiCall:
    """One DDI call in progress, opened by `Kernel.begin` (kernel.py, steps 3 and 5)."""

    __slots__ = ("depth0", "driver", "frame", "handle", "kernel", "name", "op", "pushed", "seq")

    def __init__(
        self,
        kernel: DdiKernel,
        name: str,
        driver: DriverBlock | None,
        frame: Frame,
        pushed: bool,
        handle: NDIS_HANDLE | None,
        op: int | None,
        depth0: int,
        seq: int,
    ) -> None:
        self.kernel = kernel
        self.name = name
        self.driver = driver
        self.frame = frame
        self.pushed = pushed
        self.handle = handle
        self.op = op
        self.depth0 = depth0
        #: the seq of the call record, which the return record names
        self.seq = seq

    def __enter__(self) -> DdiCall:
        return self

    def __exit__(self, *exc: object) -> None:
        kernel = self.kernel
        kernel.depth = self.depth0
        if self.pushed:
            frames = kernel.frames
            if frames and frames[-1] is self.frame:
                frames.pop()

    def _finish(self, status: NDIS_STATUS | None, result: object) -> None:
        kernel = self.kernel
        depth = kernel.depth = self.depth0
        frames = kernel.frames
        irql = frames[-1].irql if frames else PASSIVE_LEVEL
        if result is not None and not isinstance(result, _PLAIN) and not hasattr(result, "born"):
            result = summary(result)  # what it is now, not when someone reads the trace
        kernel.row(
            _RETURN,
            _DDI,
            self.name,
            self.driver,
            depth,
            self.handle,
            status,
            result,
            self.op,
            irql,
            None,
            self.seq,
        )

    def status(self, status: int, *, result: object = None) -> NDIS_STATUS:
        """Record the return of a DDI that returns an NDIS_STATUS."""
        st = status if type(status) is NDIS_STATUS else NDIS_STATUS(status)
        self._finish(st, result)
        return st

    def void(self) -> None:
        """Record the return of a VOID DDI."""
        self._finish(None, None)

    def result(self, value: T) -> T:
        """Record the return of a DDI that returns something else (a handle, a BOOLEAN)."""
        self._finish(None, value)
        return value
