"""NDIS handles: opaque, typed, and checked on every use.

In C every NDIS handle is an `NDIS_HANDLE` (a `void *`), so nothing stops a
driver from passing a binding handle where an AF handle belongs, or a handle
it already closed. condis issues each handle as a distinct object of a
distinct class, numbered per kind and per host, and keeps a table of what each
handle stands for. A DDI that receives a handle looks it up in that table
(`HandleTable.resolve`), which tells apart:

* a live handle of the right kind (the normal case);
* a handle of another kind (rule NdisHandleWrongKind);
* a handle that this host issued but that was closed (rule NdisHandleStale);
* a handle from another `Ndis` host (rule NdisHandleForeign).

Whether a live handle may be used by *this* driver (the client vs the call
manager side of an AF handle, say) is the entity's business, not the table's.

Driver contexts (`ProtocolBindingContext`, `CallMgrAfContext`...) are not
handles: they are arbitrary Python objects that NDIS hands back untouched.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from enum import Enum
from typing import TypeVar

__all__ = [
    "NDIS_HANDLE",
    "AdapterHandle",
    "AfHandle",
    "BindContextHandle",
    "BindingHandle",
    "DriverHandle",
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


class NDIS_HANDLE:
    """An opaque handle issued by NDIS. Compared by identity, printed by label.

    `born` is where the handle first appears in the trace, (seq, name of the
    DDI or handler): the kernel stamps it on the first record that names the
    handle, kept or not, so a leak is placed without reading the trace back.
    """

    __slots__ = ("_table", "born", "host", "label", "serial")
    #: what a debugger would call the object, e.g. "NdisAfHandle"
    KIND = "NDIS_HANDLE"

    def __init__(self, host: int, serial: int, table: HandleTable | None = None) -> None:
        self.host = host
        self.serial = serial
        #: a short printable name, e.g. ``NdisAfHandle#3``
        self.label = f"{self.KIND}#{serial}"
        self.born: tuple[int, str] | None = None
        self._table = table

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


class Resolution(Enum):
    """What `HandleTable.resolve` found."""

    OK = "ok"
    WRONG_KIND = "wrong kind"
    STALE = "stale"
    FOREIGN = "foreign"


H = TypeVar("H", bound=NDIS_HANDLE)


class HandleTable:
    """The live handles of one host and what each stands for.

    A closed handle leaves the table, so the table holds nothing for history;
    it is still told from a foreign one because every handle knows the table
    that issued it. Serials count per kind, so labels read as a debugger's
    would (the third AF opened is NdisAfHandle#3).
    """

    __slots__ = ("_live", "_serials", "host")

    def __init__(self, host: int) -> None:
        self.host = host
        self._serials: dict[str, int] = {}
        self._live: dict[NDIS_HANDLE, object] = {}

    def issue(self, kind: type[H], obj: object) -> H:
        """Make a new live handle of `kind` standing for `obj`."""
        serial = self._serials.get(kind.KIND, 0) + 1
        self._serials[kind.KIND] = serial
        handle = kind(self.host, serial, self)
        self._live[handle] = obj
        return handle

    def attach(self, handle: NDIS_HANDLE, obj: object) -> None:
        """Point a live handle at the object it stands for (two-step creation)."""
        if handle not in self._live:
            raise KeyError(f"{handle.label} is not live")
        self._live[handle] = obj

    def close(self, handle: NDIS_HANDLE) -> None:
        """Close a handle: later use of it reads as stale."""
        self._live.pop(handle, None)

    def reopen(self, handle: NDIS_HANDLE, obj: object) -> None:
        """Undo `close`: the handle stands for `obj` again (a test's repair)."""
        if handle._table is not self:
            raise KeyError(f"{handle.label} was not issued by this table")
        self._live[handle] = obj

    def is_live(self, handle: NDIS_HANDLE) -> bool:
        return handle in self._live

    def lookup(self, handle: NDIS_HANDLE) -> object:
        """The object a live handle stands for (None for a closed one)."""
        return self._live.get(handle)

    def live_object(self, handle: NDIS_HANDLE) -> object:
        """The object `handle` stands for if this table issued it and it is live, else None."""
        if handle._table is self:
            return self._live.get(handle)
        return None

    def resolve(self, handle: NDIS_HANDLE, kind: type[NDIS_HANDLE]) -> Resolution:
        """Classify `handle` as used where a `kind` handle is expected."""
        if handle._table is not self:
            return Resolution.FOREIGN
        if not isinstance(handle, kind):
            return Resolution.WRONG_KIND
        if handle not in self._live:
            return Resolution.STALE
        return Resolution.OK

    def live(self) -> list[tuple[NDIS_HANDLE, object]]:
        """Every live handle with its object, in issue order."""
        return list(self._live.items())

    def __len__(self) -> int:
        return len(self._live)

    def invariants(self) -> Iterator[str]:
        """Each live handle stands for an object whose own handle it is, once."""
        owners: dict[int, NDIS_HANDLE] = {}
        for handle, obj in self._live.items():
            own = getattr(obj, "handle", None)
            if isinstance(own, type(handle)) and own is not handle:
                yield f"{handle.label} stands for an object whose handle is {own.label}"
            if own is handle:
                seen = owners.setdefault(id(obj), handle)
                if seen is not handle:
                    yield f"{handle.label} and {seen.label} stand for the same object"
