"""What crosses between a driver and NDIS: the names, the frames, one DDI call.

* `ddi` and `handler` register the DDIs condis implements and the handlers
  NDIS calls (`IMPLEMENTED`, which `condis ddi` and the INDEX tests read);
* `Returns` says what a WDK handler returns, `Origin` who started a frame;
* `Frame` is one execution context: a driver's code (or NDIS's) at some
  IRQL, with the spin locks it holds;
* `DdiCall` is one DDI call in progress, opened by `NdisCore._begin` and
  closed by recording its return (runtime.py describes the pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from condis.constants import KIRQL
from condis.handles import NDIS_HANDLE
from condis.status import NDIS_STATUS
from condis.trace import Phase, RecordKind

if TYPE_CHECKING:
    from condis.drivers import DriverBlock
    from condis.runtime import NdisCore
    from condis.spinlocks import NDIS_SPIN_LOCK

__all__ = [
    "IMPLEMENTED",
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

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def ddi(*names: str) -> Callable[[F], F]:
    """Mark a method as the implementation of the named DDI(s)."""

    def mark(fn: F) -> F:
        IMPLEMENTED.update(names or (fn.__name__,))
        return fn

    return mark


def handler(*names: str) -> None:
    """Record handler names that NDIS calls (for `condis ddi`)."""
    IMPLEMENTED.update(names)


class Returns(Enum):
    """What a WDK handler returns."""

    VOID = "VOID"
    STATUS = "NDIS_STATUS"
    STATUS_OUT = "NDIS_STATUS and an out-parameter"


class Origin(Enum):
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


def summary(value: object) -> str:
    if isinstance(value, NDIS_HANDLE):
        return value.label
    if isinstance(value, NDIS_STATUS | KIRQL):
        return str(value)
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class DdiCall:
    """One DDI call in progress (see the module docstring, steps 3 and 5)."""

    __slots__ = ("core", "depth0", "driver", "frame", "handle", "name", "op", "pushed")

    def __init__(
        self,
        core: NdisCore,
        name: str,
        driver: DriverBlock | None,
        frame: Frame,
        pushed: bool,
        handle: NDIS_HANDLE | None,
        op: int | None,
    ) -> None:
        self.core = core
        self.name = name
        self.driver = driver
        self.frame = frame
        self.pushed = pushed
        self.handle = handle
        self.op = op
        self.depth0 = core._depth

    def __enter__(self) -> DdiCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.core._depth = self.depth0
        if self.pushed and self.core._frames and self.core._frames[-1] is self.frame:
            self.core._frames.pop()

    def _finish(self, status: NDIS_STATUS | None, result: object) -> None:
        self.core._record(
            Phase.RETURN,
            RecordKind.DDI,
            self.name,
            self.driver,
            handle=self.handle,
            status=status,
            result=None if result is None else summary(result),
            op=self.op,
        )

    def status(self, status: int, *, result: object = None) -> NDIS_STATUS:
        """Record the return of a DDI that returns an NDIS_STATUS."""
        st = NDIS_STATUS(status)
        self._finish(st, result)
        return st

    def void(self) -> None:
        """Record the return of a VOID DDI."""
        self._finish(None, None)

    def result(self, value: T) -> T:
        """Record the return of a DDI that returns something else (a handle, a BOOLEAN)."""
        self._finish(None, value)
        return value
