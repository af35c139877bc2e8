"""NDIS handles: opaque, typed, and checked on every use.

In C every NDIS handle is an `NDIS_HANDLE` (a `void *`), so nothing stops a
driver from passing a binding handle where an AF handle belongs, or a handle
it already closed. condis issues each handle as a distinct object of a
distinct class, numbered per kind and per host, and keeps a table of what each
handle stands for. A DDI that receives a handle looks it up in that table
(`HandleTable.resolve`), which tells apart:

* a live handle of the right kind (the normal case);
* a handle of another kind (rule NdisHandleWrongKind);
* a handle that this host issued but that was closed or whose object is gone
  (rule NdisHandleStale);
* a handle from another `Ndis` host (rule NdisHandleForeign).

Whether a live handle may be used by *this* driver (the client vs the call
manager side of an AF handle, say) is the entity's business, not the table's.

Driver contexts (`ProtocolBindingContext`, `CallMgrAfContext`...) are not
handles: they are arbitrary Python objects that NDIS hands back untouched.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

__all__ = [
    "NDIS_HANDLE",
    "AdapterHandle",
    "AfHandle",
    "BindContextHandle",
    "BindingHandle",
    "DriverHandle",
    "HandleState",
    "HandleTable",
    "PartyHandle",
    "Resolution",
    "SapHandle",
    "TimerHandle",
    "UnbindContextHandle",
    "VcHandle",
    "WorkItemHandle",
]

_host_ids = itertools.count(1)


def new_host_id() -> int:
    """A process-unique number for one `Ndis` host, stamped on its handles."""
    return next(_host_ids)


@dataclass(frozen=True, slots=True, eq=False)
class NDIS_HANDLE:
    """An opaque handle issued by NDIS. Compared by identity, printed by label."""

    host: int
    serial: int
    #: what a debugger would call the object, e.g. "NdisAfHandle"
    KIND = "NDIS_HANDLE"

    @property
    def label(self) -> str:
        """A short printable name, e.g. ``NdisAfHandle#3``."""
        return f"{self.KIND}#{self.serial}"

    def __repr__(self) -> str:
        return f"<{self.label}>"


class DriverHandle(NDIS_HANDLE):
    """NdisMiniportDriverHandle or NdisProtocolHandle."""

    __slots__ = ()
    KIND = "NdisDriverHandle"


class AdapterHandle(NDIS_HANDLE):
    """MiniportAdapterHandle: one miniport adapter (NIC)."""

    __slots__ = ()
    KIND = "MiniportAdapterHandle"


class BindContextHandle(NDIS_HANDLE):
    """BindContext: one bind operation in progress."""

    __slots__ = ()
    KIND = "BindContext"


class UnbindContextHandle(NDIS_HANDLE):
    """UnbindContext: one unbind operation in progress."""

    __slots__ = ()
    KIND = "UnbindContext"


class BindingHandle(NDIS_HANDLE):
    """NdisBindingHandle: one protocol binding to one adapter."""

    __slots__ = ()
    KIND = "NdisBindingHandle"


class AfHandle(NDIS_HANDLE):
    """NdisAfHandle: one client's open of one call manager's address family."""

    __slots__ = ()
    KIND = "NdisAfHandle"


class SapHandle(NDIS_HANDLE):
    """NdisSapHandle: one client's registered SAP."""

    __slots__ = ()
    KIND = "NdisSapHandle"


class VcHandle(NDIS_HANDLE):
    """NdisVcHandle: one virtual connection."""

    __slots__ = ()
    KIND = "NdisVcHandle"


class PartyHandle(NDIS_HANDLE):
    """NdisPartyHandle: one party of a point-to-multipoint call."""

    __slots__ = ()
    KIND = "NdisPartyHandle"


class WorkItemHandle(NDIS_HANDLE):
    """NdisIoWorkItemHandle."""

    __slots__ = ()
    KIND = "NdisIoWorkItemHandle"


class TimerHandle(NDIS_HANDLE):
    """An NDIS timer object handle (NdisAllocateTimerObject)."""

    __slots__ = ()
    KIND = "NdisTimerObject"


class HandleState(Enum):
    LIVE = "live"
    CLOSED = "closed"


class Resolution(Enum):
    """What `HandleTable.resolve` found."""

    OK = "ok"
    WRONG_KIND = "wrong kind"
    STALE = "stale"
    FOREIGN = "foreign"


T = TypeVar("T")
H = TypeVar("H", bound=NDIS_HANDLE)


@dataclass(slots=True)
class _Entry(Generic[T]):
    obj: T
    state: HandleState = HandleState.LIVE


@dataclass(slots=True)
class HandleTable:
    """Every handle one host issued, live or closed, and what it stands for."""

    host: int
    _serials: dict[str, itertools.count[int]] = field(default_factory=dict)
    _entries: dict[NDIS_HANDLE, _Entry[object]] = field(default_factory=dict)

    def issue(self, kind: type[H], obj: object) -> H:
        """Make a new live handle of `kind` standing for `obj`."""
        counter = self._serials.setdefault(kind.KIND, itertools.count(1))
        handle = kind(self.host, next(counter))
        self._entries[handle] = _Entry(obj)
        return handle

    def attach(self, handle: NDIS_HANDLE, obj: object) -> None:
        """Point an issued handle at the object it stands for (two-step creation)."""
        self._entries[handle].obj = obj

    def close(self, handle: NDIS_HANDLE) -> None:
        """Mark a handle closed: it stays known, so later use reads as stale."""
        self._entries[handle].state = HandleState.CLOSED

    def reopen(self, handle: NDIS_HANDLE) -> None:
        """Undo `close` (used when an operation that closed a handle is refused)."""
        self._entries[handle].state = HandleState.LIVE

    def is_live(self, handle: NDIS_HANDLE) -> bool:
        entry = self._entries.get(handle)
        return entry is not None and entry.state is HandleState.LIVE

    def lookup(self, handle: NDIS_HANDLE) -> object:
        """The object a known handle (live or closed) stands for."""
        return self._entries[handle].obj

    def resolve(self, handle: NDIS_HANDLE, kind: type[NDIS_HANDLE]) -> Resolution:
        """Classify `handle` as used where a `kind` handle is expected."""
        if handle.host != self.host or handle not in self._entries:
            return Resolution.FOREIGN
        if not isinstance(handle, kind):
            return Resolution.WRONG_KIND
        if self._entries[handle].state is not HandleState.LIVE:
            return Resolution.STALE
        return Resolution.OK

    def live(self) -> list[tuple[NDIS_HANDLE, object]]:
        """Every live handle with its object, in issue order."""
        return [(h, e.obj) for h, e in self._entries.items() if e.state is HandleState.LIVE]
